// The generator state an ExternalSecret's Secret carries.
import type { ExternalSecret } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { Resources, type KubeObject } from '../../kube/types.js';
import { GENERATOR_STATE_ANNOTATION } from '../../generators/state.js';
import { targetName } from '../../secrets/desired-secret.js';
import { kubeStep } from '../../secrets/errors.js';

/**
 * The generator state on the target Secret. The cache serves it while it
 * holds the version our last write left (status.binding); when it lags
 * behind that write, the Secret itself is read, or a sync right after a
 * write would find no state and generate the values anew.
 */
export async function generatorStateOf(kube: KubeClient, es: ExternalSecret, cached: KubeObject | undefined): Promise<string | undefined> {
  const bound = es.status?.binding?.resourceVersion;
  if (bound === undefined || cached?.metadata.resourceVersion === bound) return cached?.metadata.annotations?.[GENERATOR_STATE_ANNOTATION];
  const name = targetName(es);
  const fresh = await kubeStep(`reading Secret "${name}" for its generator state`, () => kube.getOrUndefined<KubeObject>(Resources.Secret, es.metadata.namespace, name));
  return fresh?.metadata.annotations?.[GENERATOR_STATE_ANNOTATION];
}
