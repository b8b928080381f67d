// The `vault` provider: HashiCorp Vault and OpenBao (same HTTP API), through node-vault.
import NodeVault from 'node-vault';
import type { AnyStore } from '../../api/types.js';
import type { Provider } from '../provider.js';
import { VaultToken, trimSlashes } from './auth.js';
import { VaultClient } from './client.js';
import { VaultHttp } from './http.js';
import { vaultTransport } from './transport.js';

/** caBundle may be PEM, or PEM encoded in base64. */
export function caBundlePem(caBundle: string): string {
  if (caBundle.includes('-----BEGIN')) return caBundle;
  const decoded = Buffer.from(caBundle, 'base64').toString('utf8');
  if (!decoded.includes('-----BEGIN CERTIFICATE-----')) throw new Error('caBundle is neither PEM nor base64-encoded PEM');
  return decoded;
}

export const vaultProvider: Provider = {
  name: 'vault',
  capabilities: 'ReadOnly',
  validateStore(store: AnyStore) {
    const spec = store.spec.provider.vault!;
    const problems: string[] = [];
    if (spec.caBundle) {
      try {
        caBundlePem(spec.caBundle);
      } catch (err) {
        problems.push(`vault.${(err as Error).message}`);
      }
    }
    return problems;
  },
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
