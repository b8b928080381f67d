// Whether the API server serves the kinds the operator watches. Without this
// check a missing CRD shows only as an informer retrying its list forever
// (a warning a minute, never Ready); with it the operator stops at start with
// one line that names the missing CRDs and how to install them.
import { isNotFound, type KubeClient } from './client.js';
import type { ResourceType } from './types.js';

/** The custom resources among `types` that the API server does not serve, as `plural.group`. */
export async function unservedResources(kube: KubeClient, types: ResourceType[]): Promise<string[]> {
  const missing: string[] = [];
  const byGroupVersion = new Map<string, ResourceType[]>();
  for (const t of types) {
    if (t.group === '' || t.group.endsWith('.k8s.io')) continue;
    const gv = `${t.group}/${t.version}`;
    byGroupVersion.set(gv, [...(byGroupVersion.get(gv) ?? []), t]);
  }
  for (const [gv, wanted] of byGroupVersion) {
    let served: Set<string>;
    try {
      const list = await kube.request<{ resources?: Array<{ name: string }> }>('GET', `/apis/${gv}`);
      served = new Set((list.resources ?? []).map((r) => r.name));
    } catch (err) {
      if (!isNotFound(err)) throw err;
      served = new Set();
    }
    for (const t of wanted) if (!served.has(t.plural)) missing.push(`${t.plural}.${t.group}`);
  }
  return missing;
}
