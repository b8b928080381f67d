// Turns fetched values into the Secret's shape, as `target.template` says:
// templateFrom sources, then template.data, then templated labels,
// annotations and type. mergePolicy Replace (default) keeps only templated
// keys when there are any; Merge keeps the fetched keys too.
import { parse as parseYaml } from 'yaml';
import type { ExternalSecret } from '../api/types.js';
import type { ShapedSecret } from './desired-secret.js';
import { Reason } from '../api/reasons.js';
import { SyncError } from './sync-error.js';
import { missingTypedKeys } from './secret-types.js';
import { TemplateError, render, templateScope } from '../util/template-engine.js';

export interface ShapeContext {
  /** Reads a ConfigMap or Secret in the ExternalSecret's own namespace (templateFrom). */
  readSource?: (kind: 'ConfigMap' | 'Secret', name: string) => Promise<Record<string, Uint8Array>>;
}

type Template = NonNullable<NonNullable<ExternalSecret['spec']['target']>['template']>;
type TemplateFrom = NonNullable<Template['templateFrom']>[number];
type Target = 'Data' | 'Annotations' | 'Labels';

const encoder = new TextEncoder();

/** A rendered "KeysAndValues" or literal template: a YAML map of keys to values. */
function asMap(rendered: string, what: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = parseYaml(rendered);
  } catch {
    throw new TemplateError(`${what}: did not render to a YAML map of keys to values`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new TemplateError(`${what}: did not render to a YAML map of keys to values`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

/** Replaces any fetched value that slipped into a message. */
export function redactValues(message: string, data: Record<string, Uint8Array>): string {
  let out = message;
  for (const value of Object.values(data)) {
    const text = Buffer.from(value).toString('utf8');
    if (text.length >= 4 && out.includes(text)) out = out.split(text).join('[redacted]');
  }
  return out;
}

export async function shapeSecret(es: ExternalSecret, data: Record<string, Uint8Array>, ctx: ShapeContext = {}): Promise<ShapedSecret> {
  const template = es.spec.target?.template;
  if (!template) return { type: 'Opaque', data, labels: {}, annotations: {} };
  try {
    return await applyTemplate(template, data, ctx);
  } catch (err) {
    if (err instanceof SyncError) throw err;
    const message = redactValues(err instanceof Error ? err.message : String(err), data);
    throw new SyncError(Reason.TemplateError, `template failed: ${message}`, false);
  }
}

async function applyTemplate(template: Template, data: Record<string, Uint8Array>, ctx: ShapeContext): Promise<ShapedSecret> {
  const scope = templateScope(data);
  const templated = Boolean(template.data || template.templateFrom?.length);
  const out: Record<string, Uint8Array> = template.mergePolicy === 'Merge' || !templated ? { ...data } : {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const put = (target: Target, key: string, value: string) => {
    if (target === 'Data') out[key] = encoder.encode(value);
    else if (target === 'Labels') labels[key] = value;
    else annotations[key] = value;
  };

  for (const [i, from] of (template.templateFrom ?? []).entries()) {
    const target = from.target ?? 'Data';
    if (from.literal !== undefined) {
      const what = `templateFrom[${i}].literal`;
      for (const [k, v] of Object.entries(asMap(await render(from.literal, scope, what), what))) put(target, k, v);
      continue;
    }
    await applySource(from, i, target, scope, ctx, put);
  }
  for (const [key, source] of Object.entries(template.data ?? {})) {
    put('Data', key, await render(source, scope, `template.data["${key}"]`));
  }
  for (const [key, source] of Object.entries(template.metadata?.labels ?? {})) labels[key] = await render(source, scope, `template.metadata.labels["${key}"]`);
  for (const [key, source] of Object.entries(template.metadata?.annotations ?? {})) {
    annotations[key] = await render(source, scope, `template.metadata.annotations["${key}"]`);
  }
  const type = template.type ? (await render(template.type, scope, 'template.type')).trim() : 'Opaque';
  const missing = missingTypedKeys(type, Object.keys(out));
  if (missing) throw new SyncError(Reason.InvalidData, missing, false);
  return { type, data: out, labels, annotations };
}

async function applySource(
  from: TemplateFrom,
  index: number,
  target: Target,
  scope: Record<string, unknown>,
  ctx: ShapeContext,
  put: (target: Target, key: string, value: string) => void,
): Promise<void> {
  const kind = from.configMap ? 'ConfigMap' : 'Secret';
  const ref = from.configMap ?? from.secret!;
  if (!ctx.readSource) throw new TemplateError(`templateFrom[${index}]: ${kind} sources are not available here`);
  const source = await ctx.readSource(kind, ref.name);
  for (const item of ref.items) {
    const raw = source[item.key];
    if (raw === undefined) throw new TemplateError(`templateFrom[${index}]: ${kind} "${ref.name}" has no key "${item.key}"`);
    const what = `templateFrom[${index}] ${kind} "${ref.name}" key "${item.key}"`;
    const rendered = await render(Buffer.from(raw).toString('utf8'), scope, what);
    if (item.templateAs === 'KeysAndValues') {
      for (const [k, v] of Object.entries(asMap(rendered, what))) put(target, k, v);
    } else {
      put(target, item.key, rendered);
    }
  }
}
