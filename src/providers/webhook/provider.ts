// The `webhook` provider: any HTTP service that answers JSON, in External
// Secrets Operator's shape (spec.provider.webhook): templated url, method,
// headers and body; result.jsonPath; secrets for the templates.
import type { AnyStore } from '../../api/types.js';
import { parseDuration } from '../../util/duration.js';
import { caBundleProblems, storeCaPem } from '../ca-bundle.js';
import type { Provider } from '../provider.js';
import { WebhookClient } from './client.js';
import { WebhookHttp } from './http.js';
import { readTemplateSecrets, type WebhookSpec } from './templates.js';
import type { KubeClient } from '../../kube/client.js';
import type { ConnectGuard } from '../connect-guard.js';

const DEFAULT_TIMEOUT_MS = 30_000;

/** The HTTP side of a webhook request spec (a store's, or the Webhook generator's): its CA, timeout and the host guard. */
export async function webhookHttp(spec: WebhookSpec, kube: KubeClient, namespace: string, what: string, guard: ConnectGuard | undefined): Promise<WebhookHttp> {
  const ca = await storeCaPem(kube, namespace, spec, what);
  return new WebhookHttp(ca, guard, spec.timeout ? parseDuration(spec.timeout) : DEFAULT_TIMEOUT_MS, `${what}.timeout`);
}

export const webhookProvider: Provider = {
  name: 'webhook',
  capabilities: 'ReadOnly',
  validateStore: (store: AnyStore) => caBundleProblems('webhook', store.spec.provider.webhook!.caBundle),
  async newClient({ store, namespace, kube, connectGuard }) {
    const spec = store.spec.provider.webhook!;
    const http = await webhookHttp(spec, kube, namespace, 'spec.provider.webhook', connectGuard);
    return new WebhookClient(spec, http, namespace, () => readTemplateSecrets(kube, namespace, spec));
  },
};
