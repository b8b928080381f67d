// The `vault` provider: HashiCorp Vault and OpenBao (same HTTP API), through node-vault.
import NodeVault from 'node-vault';
import type { AnyStore } from '../../api/types.js';
import { caBundlePem, caBundleProblems } from '../ca-bundle.js';
import type { Provider } from '../provider.js';
import { VaultToken, trimSlashes } from './auth.js';
import { VaultClient } from './client.js';
import { VaultHttp } from './http.js';
import { vaultTransport } from './transport.js';

export const vaultProvider: Provider = {
  name: 'vault',
  capabilities: 'ReadOnly',
  validateStore: (store: AnyStore) => caBundleProblems('vault', store.spec.provider.vault!.caBundle),
  newClient({ store, namespace, kube }) {
    const spec = store.spec.provider.vault!;
    const transport = vaultTransport(spec.caBundle ? caBundlePem(spec.caBundle) : undefined);
    const api = NodeVault({
      endpoint: spec.server.replace(/\/+$/, ''),
      namespace: spec.namespace,
      noCustomHTTPVerbs: false,
      'request-promise': transport,
    });
    const http = new VaultHttp(api, spec.server, transport.close);
    const token = new VaultToken(http, spec, kube, namespace);
    return Promise.resolve(new VaultClient(http, token, trimSlashes(spec.path ?? 'secret'), spec.version ?? 'v2'));
  },
};
