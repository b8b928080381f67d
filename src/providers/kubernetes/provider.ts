// The `kubernetes` provider: Secrets of another namespace or cluster, in
// External Secrets Operator's shape (spec.provider.kubernetes), read and
// pushed with the store's own credentials only (connection.ts).
import type { AnyStore } from '../../api/types.js';
import { caBundleProblems } from '../ca-bundle.js';
import type { Provider } from '../provider.js';
import { SecretsApi } from './api.js';
import { KubernetesClient } from './client.js';
import { connect } from './connection.js';

/** ESO's default remote namespace (kept in code: the CRDs set no server-side defaults). */
export const DEFAULT_REMOTE_NAMESPACE = 'default';

export const kubernetesProvider: Provider = {
  name: 'kubernetes',
  capabilities: 'ReadWrite',
  validateStore: (store: AnyStore) => caBundleProblems('kubernetes.server', store.spec.provider.kubernetes!.server?.caBundle),
  async newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.kubernetes!;
    const conn = await connect(spec, kube, namespace);
    return new KubernetesClient(new SecretsApi(conn, spec.remoteNamespace ?? DEFAULT_REMOTE_NAMESPACE, connectGuard));
  },
};
