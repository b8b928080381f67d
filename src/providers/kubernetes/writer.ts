// PushSecret writes into the store's remoteNamespace: one Secret per remote
// key, its data the pushed JSON object's keys. The owner is recorded in an
// annotation and the Secret labelled app.kubernetes.io/managed-by:
// secretsync; replaces are conditioned on the resourceVersion inspected, so
// a change in between is a ConflictError, and a create fails when the Secret
// appeared meanwhile. Which Secrets may be written (never one it does not
// own) is the PushSecret controller's decision, from inspect().
import { ConflictError } from '../errors.js';
import type { CallContext, RemoteState, RemoteWriter, WriteOptions } from '../provider.js';
import { pushedMap } from '../property.js';
import type { ApiSecret, SecretsApi } from './api.js';

export const OWNER_ANNOTATION = 'secretsync.dev/push-owner';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

export class KubernetesWriter implements RemoteWriter {
  readonly ownership = 'remote' as const;
  readonly conditional = true;
  readonly exclusiveCreate = true;

  constructor(private readonly api: SecretsApi) {}

  async inspect(key: string, ctx: CallContext): Promise<RemoteState> {
    const secret = await this.api.get(key, ctx);
    if (!secret) return { exists: false };
    const labels = secret.metadata.labels ?? {};
    return { exists: true, owner: secret.metadata.annotations?.[OWNER_ANNOTATION], managedBy: labels[MANAGED_BY_LABEL] ?? labels['managed-by'], version: secret.metadata.resourceVersion };
  }

  async write(key: string, value: Uint8Array, opts: WriteOptions, ctx: CallContext): Promise<{ version?: string }> {
    const data = asData(value, key);
    if (opts.create) {
      const created = await this.api.create({ metadata: { name: key, labels: { [MANAGED_BY_LABEL]: 'secretsync' }, annotations: { [OWNER_ANNOTATION]: opts.owner } }, type: 'Opaque', data }, ctx);
      return { version: created.metadata.resourceVersion };
    }
    const current = await this.api.get(key, ctx);
    if (!current) throw new ConflictError(`Secret "${this.api.namespace}/${key}" was deleted since it was inspected`);
    if (opts.ifVersion !== undefined && current.metadata.resourceVersion !== opts.ifVersion) throw new ConflictError(`Secret "${this.api.namespace}/${key}" changed since it was inspected`);
    const next: ApiSecret = {
      ...current,
      metadata: {
        ...current.metadata,
        resourceVersion: opts.ifVersion ?? current.metadata.resourceVersion,
        labels: { ...current.metadata.labels, [MANAGED_BY_LABEL]: 'secretsync' },
        annotations: { ...current.metadata.annotations, [OWNER_ANNOTATION]: opts.owner },
      },
      data,
    };
    const replaced = await this.api.replace(next, ctx);
    return { version: replaced.metadata.resourceVersion };
  }

  remove(key: string, ctx: CallContext): Promise<void> {
    return this.api.remove(key, ctx);
  }
}

/** The pushed JSON object's keys as the Secret's data: text as is, anything else as JSON. */
function asData(value: Uint8Array, key: string): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(pushedMap(value, key, 'a Kubernetes Secret'))) data[k] = Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64');
  return data;
}
