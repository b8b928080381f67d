// The `conjur` provider: CyberArk Conjur (OSS and Secrets Manager, API v5)
// over its REST API, with API key or authn-jwt logins.
import type { AnyStore } from '../../api/types.js';
import { caBundlePem, caBundleProblems } from '../ca-bundle.js';
import type { Provider } from '../provider.js';
import { ConjurLogin } from './auth.js';
import { ConjurClient } from './client.js';
import { ConjurHttp } from './http.js';

export const conjurProvider: Provider = {
  name: 'conjur',
  capabilities: 'ReadOnly',
  validateStore: (store: AnyStore) => caBundleProblems('conjur', store.spec.provider.conjur!.caBundle),
  newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.conjur!;
    const http = new ConjurHttp(spec.url.replace(/\/+$/, ''), spec.caBundle ? caBundlePem(spec.caBundle) : undefined, connectGuard);
    return Promise.resolve(new ConjurClient(http, new ConjurLogin(http, spec, kube, namespace)));
  },
};
