// Webhook: the JSON object one templated HTTP request answers (at
// result.jsonPath), as keys, with a webhook store's request machinery (its
// templates, labelled secrets, host guard, redirect and size rules). The
// templates see the generator's secrets; there is no remoteRef.
import type { WebhookSpec as WebhookGeneratorSpec } from '../api/generated.js';
import { NotFoundError } from '../providers/errors.js';
import type { CallContext } from '../providers/provider.js';
import { valueToMap } from '../providers/property.js';
import { webhookHttp } from '../providers/webhook/provider.js';
import { resultObject } from '../providers/webhook/result.js';
import { readTemplateSecrets, renderRequest, type WebhookSpec } from '../providers/webhook/templates.js';
import type { GenerateContext, Generated } from './generator.js';

/** CallContext.deadlineAt for SDK-style callers; the request itself stops at the spec's timeout or ctx.signal. */
const CALL_DEADLINE_MS = 30_000;
/** The name errors give the answer (there is no remote key). */
const WHAT = 'webhook generator';

export async function generateWebhook(spec: WebhookGeneratorSpec, ctx: GenerateContext): Promise<Generated> {
  const request = spec as WebhookSpec;
  const http = await webhookHttp(request, ctx.kube, ctx.namespace, 'spec', ctx.connectGuard);
  const call: CallContext = { signal: ctx.signal, deadlineAt: Date.now() + CALL_DEADLINE_MS, log: ctx.log, consumer: '', request: () => Promise.resolve() };
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
