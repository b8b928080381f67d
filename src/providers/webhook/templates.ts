// A webhook store's request, rendered: url, headers, body and
// result.jsonPath are templates (the sandboxed engine) over `remoteRef`
// (key, version, property, namespace; URL-encoded inside the URL, as External
// Secrets Operator does) and the store's `secrets`, each a Secret's keys as
// `<name>.<key>`. A Secret is only usable when labelled for it
// (external-secrets.io/type: webhook, or secretsync.dev/type: webhook): a
// store cannot send an arbitrary Secret of its namespace to a URL.
import type { AnyStore, RemoteRef } from '../../api/types.js';
import type { KubeClient } from '../../kube/client.js';
import { Resources, type Secret } from '../../kube/types.js';
import { errorMessage } from '../../util/errors.js';
import { render } from '../../util/template-engine.js';
import { refNamespace } from '../credentials.js';
import { StoreConfigError } from '../errors.js';
import type { WebhookRequest } from './http.js';

export type WebhookSpec = NonNullable<AnyStore['spec']['provider']['webhook']>;

/** Labels that make a Secret usable in webhook templates (ESO's, so migrated Secrets keep working, and ours). */
export const WEBHOOK_SECRET_LABELS = ['external-secrets.io/type', 'secretsync.dev/type'];

/** secrets[].name -> that Secret's keys as text. */
export type TemplateSecrets = Record<string, Record<string, string>>;

export async function readTemplateSecrets(kube: KubeClient, storeNamespace: string, spec: WebhookSpec): Promise<TemplateSecrets> {
  const out: TemplateSecrets = Object.create(null) as TemplateSecrets;
  for (const [i, entry] of (spec.secrets ?? []).entries()) {
    const what = `spec.provider.webhook.secrets[${i}].secretRef`;
    const namespace = refNamespace(storeNamespace, entry.secretRef, what);
    let secret: Secret | undefined;
    try {
      secret = await kube.getOrUndefined<Secret>(Resources.Secret, namespace, entry.secretRef.name);
    } catch (err) {
      throw new Error(`${what}: reading Secret "${namespace}/${entry.secretRef.name}" failed: ${errorMessage(err)}`, { cause: err });
    }
    if (!secret) throw new StoreConfigError(`${what}: Secret "${entry.secretRef.name}" not found in namespace "${namespace}"`);
    const labels = secret.metadata.labels ?? {};
    if (!WEBHOOK_SECRET_LABELS.some((l) => labels[l] === 'webhook')) {
      throw new StoreConfigError(`${what}: Secret "${namespace}/${entry.secretRef.name}" lacks the label external-secrets.io/type: webhook (or secretsync.dev/type: webhook), which marks a Secret as meant to be sent to webhooks`);
    }
    const keys: Record<string, string> = Object.create(null) as Record<string, string>;
    for (const [k, v] of Object.entries(secret.data ?? {})) keys[k] = Buffer.from(v, 'base64').toString('utf8');
    out[entry.name] = keys;
  }
  return out;
}

/** Whether any template reads remoteRef.property: then the server applies it, else the provider picks it out of the value. */
export function templatesUseProperty(spec: WebhookSpec): boolean {
  const sources = [spec.url, spec.body ?? '', spec.result?.jsonPath ?? '', ...Object.values(spec.headers ?? {})];
  return sources.some((s) => /remoteRef\s*\.\s*property|remoteRef\s*\[\s*["']property["']\s*\]/.test(s));
}

function scope(ref: RemoteRef, namespace: string, secrets: TemplateSecrets, encode: (s: string) => string): Record<string, unknown> {
  const remoteRef = { key: encode(ref.key), version: encode(ref.version ?? ''), property: encode(ref.property ?? ''), namespace };
  return { ...secrets, remoteRef };
}

async function renderField(source: string, data: Record<string, unknown>, what: string): Promise<string> {
  try {
    return await render(source, data, what);
  } catch (err) {
    throw new StoreConfigError(errorMessage(err));
  }
}

/** The request for `ref` and where its value is in the answer. */
export async function renderRequest(spec: WebhookSpec, ref: RemoteRef, namespace: string, secrets: TemplateSecrets): Promise<{ request: WebhookRequest; jsonPath?: string }> {
  const raw = scope(ref, namespace, secrets, (s) => s);
  const url = (await renderField(spec.url, scope(ref, namespace, secrets, encodeURIComponent), 'spec.provider.webhook.url')).trim();
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new StoreConfigError(`spec.provider.webhook.url does not render to a URL for remote key "${ref.key}"`);
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') throw new StoreConfigError(`spec.provider.webhook.url renders to a ${parsed.protocol} URL; only http and https are requested`);
  const headers: Record<string, string> = {};
  for (const [name, source] of Object.entries(spec.headers ?? {})) headers[name.toLowerCase()] = await renderField(source, raw, `spec.provider.webhook.headers["${name}"]`);
  const body = spec.body ? await renderField(spec.body, raw, 'spec.provider.webhook.body') : undefined;
  const jsonPath = spec.result?.jsonPath ? await renderField(spec.result.jsonPath, raw, 'spec.provider.webhook.result.jsonPath') : undefined;
  return { request: { url: parsed.toString(), method: (spec.method ?? 'GET').toUpperCase(), headers, body }, jsonPath: jsonPath || undefined };
}
