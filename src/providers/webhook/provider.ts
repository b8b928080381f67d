// The `webhook` provider: any HTTP service that answers JSON, in External
// Secrets Operator's shape (spec.provider.webhook): templated url, method,
// headers and body; result.jsonPath; secrets for the templates.
import type { AnyStore } from '../../api/types.js';
import { parseDuration } from '../../util/duration.js';
import { caBundleProblems, storeCaPem } from '../ca-bundle.js';
import type { Provider } from '../provider.js';
import { WebhookClient } from './client.js';
import { WebhookHttp } from './http.js';
import { readTemplateSecrets } from './templates.js';

const DEFAULT_TIMEOUT_MS = 30_000;

export const webhookProvider: Provider = {
  name: 'webhook',
  capabilities: 'ReadOnly',
  validateStore: (store: AnyStore) => caBundleProblems('webhook', store.spec.provider.webhook!.caBundle),
  async newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.webhook!;
    const ca = await storeCaPem(kube, namespace, spec, 'spec.provider.webhook');
    const timeoutMs = spec.timeout ? parseDuration(spec.timeout) : DEFAULT_TIMEOUT_MS;
    const http = new WebhookHttp(ca, connectGuard, timeoutMs);
    return new WebhookClient(spec, http, namespace, () => readTemplateSecrets(kube, namespace, spec));
  },
};
