// Webhook: the JSON object one templated HTTP request answers (at
// result.jsonPath), as keys, with a webhook store's request machinery (its
// templates, labelled secrets, host guard, redirect and size rules). The
// templates see the generator's secrets; there is no remoteRef.
import type { WebhookSpec as WebhookGeneratorSpec } from '../api/generated.js';
import { storeCaPem } from '../providers/ca-bundle.js';
import { NotFoundError } from '../providers/errors.js';
import type { CallContext } from '../providers/provider.js';
import { valueToMap } from '../providers/property.js';
import { WebhookHttp } from '../providers/webhook/http.js';
import { resultObject } from '../providers/webhook/result.js';
import { readTemplateSecrets, renderRequest, type WebhookSpec } from '../providers/webhook/templates.js';
import { parseDuration } from '../util/duration.js';
import type { GenerateContext, Generated } from './generator.js';

const DEFAULT_TIMEOUT_MS = 30_000;
/** The name errors give the answer (there is no remote key). */
const WHAT = 'webhook generator';

export async function generateWebhook(spec: WebhookGeneratorSpec, ctx: GenerateContext): Promise<Generated> {
  const request = spec as WebhookSpec;
  const ca = await storeCaPem(ctx.kube, ctx.namespace, request, 'spec');
  const http = new WebhookHttp(ca, ctx.connectGuard, spec.timeout ? parseDuration(spec.timeout) : DEFAULT_TIMEOUT_MS);
  const call: CallContext = { signal: ctx.signal, deadlineAt: Date.now() + DEFAULT_TIMEOUT_MS, log: ctx.log, consumer: '', request: () => Promise.resolve() };
  try {
    const secrets = await readTemplateSecrets(ctx.kube, ctx.namespace, request);
    const { request: req, jsonPath } = await renderRequest(request, { key: '' }, ctx.namespace, secrets);
    const res = await http.send(req, 'the request', call);
    if (res.status < 200 || res.status >= 300) throw new Error(`the webhook answered HTTP ${res.status}`);
    return { values: valueToMap(resultObject(res.body, WHAT, jsonPath), WHAT) };
  } catch (err) {
    if (err instanceof NotFoundError) throw new Error(err.message.replace(`remote secret "${WHAT}" not found: `, ''));
    throw err;
  } finally {
    await http.close();
  }
}
