// The `vault` provider: HashiCorp Vault and OpenBao (same HTTP API), through node-vault.
import type { ConnectGuard } from '../connect-guard.js';
import NodeVault from 'node-vault';
import type { AnyStore } from '../../api/types.js';
import { caBundlePem, caBundleProblems } from '../ca-bundle.js';
import type { KubeClient } from '../../kube/client.js';
import type { Provider } from '../provider.js';
import { VaultToken, trimSlashes } from './auth.js';
import { VaultClient } from './client.js';
import { VaultHttp } from './http.js';
import { vaultTransport } from './transport.js';

type VaultSpec = NonNullable<AnyStore['spec']['provider']['vault']>;

/** An HTTP client and a token source for a vault spec (credentials read from `namespace`). */
export function vaultConnection(spec: VaultSpec, kube: KubeClient, namespace: string, guard?: ConnectGuard): { http: VaultHttp; token: VaultToken } {
  const transport = vaultTransport(spec.caBundle ? caBundlePem(spec.caBundle) : undefined, guard);
  const api = NodeVault({
    endpoint: spec.server.replace(/\/+$/, ''),
    namespace: spec.namespace,
    noCustomHTTPVerbs: false,
    'request-promise': transport,
  });
  const http = new VaultHttp(api, spec.server, transport.close);
  return { http, token: new VaultToken(http, spec, kube, namespace) };
}

export const vaultProvider: Provider = {
  name: 'vault',
  capabilities: 'ReadWrite',
  validateStore: (store: AnyStore) => caBundleProblems('vault', store.spec.provider.vault!.caBundle),
  newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.vault!;
    const { http, token } = vaultConnection(spec, kube, namespace, connectGuard);
    return Promise.resolve(new VaultClient(http, token, trimSlashes(spec.path ?? 'secret'), spec.version ?? 'v2'));
  },
};
