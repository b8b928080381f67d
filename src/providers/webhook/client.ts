// Reads through a webhook store: one templated request per remote key, the
// value picked out of the answer with result.jsonPath, and the answer's
// status as a typed provider error (404 not found, 401/403 denied, 429 and
// 503 throttled with the server's Retry-After). `property` is the server's
// business when a template uses it; otherwise it picks a field of the value,
// as with every other provider.
import type { RemoteRef } from '../../api/types.js';
import { NotFoundError, PermissionDeniedError, retryAfterMs, ThrottledError } from '../errors.js';
import { mapFor, valueFor } from '../property.js';
import type { CallContext, ProviderClient, RemoteValue, RemoteValues } from '../provider.js';
import type { WebhookHttp, WebhookResponse } from './http.js';
import { resultObject, resultValue } from './result.js';
import { renderRequest, templatesUseProperty, type TemplateSecrets, type WebhookSpec } from './templates.js';

/** The longest Retry-After honoured: a server cannot park a store for longer. */
const MAX_RETRY_AFTER_MS = 15 * 60_000;

export class WebhookClient implements ProviderClient {
  private secrets?: Promise<TemplateSecrets>;
  private readonly propertyInTemplates: boolean;

  constructor(
    private readonly spec: WebhookSpec,
    private readonly http: WebhookHttp,
    private readonly namespace: string,
    private readonly loadSecrets: () => Promise<TemplateSecrets>,
  ) {
    this.propertyInTemplates = templatesUseProperty(spec);
  }

  /** The labelled Secrets, read once per client (a change to one renews the client). */
  private templateSecrets(): Promise<TemplateSecrets> {
    this.secrets ??= this.loadSecrets().catch((err: unknown) => {
      this.secrets = undefined;
      throw err;
    });
    return this.secrets;
  }

  private async call(ref: RemoteRef, ctx: CallContext): Promise<{ answer: Buffer; jsonPath?: string }> {
    const { request, jsonPath } = await renderRequest(this.spec, ref, this.namespace, await this.templateSecrets());
    const res = await this.http.send(request, `remote key "${ref.key}"`, ctx);
    if (res.status < 200 || res.status >= 300) throw statusError(res, ref.key);
    return { answer: res.body, jsonPath };
  }

  /** The ref the value is picked from: without its property when the server already applied it. */
  private local(ref: RemoteRef): RemoteRef {
    return this.propertyInTemplates ? { ...ref, property: undefined } : ref;
  }

  async getSecret(ref: RemoteRef, ctx: CallContext): Promise<RemoteValue> {
    const { answer, jsonPath } = await this.call(ref, ctx);
    const whole = { value: resultValue(answer, ref.key, jsonPath), source: { key: ref.key, version: ref.version } };
    return valueFor(this.local(ref), whole);
  }

  async getSecretMap(ref: RemoteRef, ctx: CallContext): Promise<RemoteValues> {
    const { answer, jsonPath } = await this.call(ref, ctx);
    return mapFor(this.local(ref), { value: resultObject(answer, ref.key, jsonPath), source: { key: ref.key, version: ref.version } });
  }

  /**
   * The store works when its Secrets are there and labelled and its URL
   * renders. No request is made: a webhook has no side-effect-free check,
   * and its first read reports the server's answer.
   */
  async validate(): Promise<void> {
    this.secrets = undefined;
    await renderRequest(this.spec, { key: 'validate' }, this.namespace, await this.templateSecrets());
  }

  close(): Promise<void> {
    return this.http.close();
  }
}

function statusError(res: WebhookResponse, key: string): Error {
  if (res.status === 404) return new NotFoundError(key, 'the webhook answered HTTP 404');
  if (res.status === 401 || res.status === 403) return new PermissionDeniedError(`the webhook refused remote key "${key}" (HTTP ${res.status}): check the store's credentials`);
  if (res.status === 429 || res.status === 503) {
    const after = retryAfterMs({ get: (name) => res.header(name) });
    return new ThrottledError(`the webhook is refusing requests for now (HTTP ${res.status}) for remote key "${key}"`, after === undefined ? undefined : Math.min(after, MAX_RETRY_AFTER_MS));
  }
  return new Error(`the webhook answered HTTP ${res.status} for remote key "${key}"`);
}
