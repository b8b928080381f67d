// What the API server checks before it stores a secretsync object, done
// offline: the CRD's structural schema (unknown fields refused, as kubectl's
// strict field validation does) and its CEL rules (x-kubernetes-validations),
// from the same schemas the CRDs serve (src/api/generated.ts, made from
// crds by `make generate`).
import { evaluate } from '@marcbachmann/cel-js';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { crdSchemas } from '../api/generated.js';

export const API_GROUP = 'secretsync.dev';
export const KINDS = ['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret', 'PushSecret', 'Password', 'UUID', 'ECRAuthorizationToken', 'VaultDynamicSecret', 'GCRAccessToken', 'ACRAccessToken', 'Webhook'] as const;
export type Kind = (typeof KINDS)[number];

export interface Problem {
  /** Dotted path of the field, as the API server names it (spec.data[0].remoteRef). */
  path: string;
  message: string;
}

interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  required?: string[];
  'x-kubernetes-validations'?: Array<{ rule: string; message?: string }>;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [key: string]: unknown;
}

/** The structural schema as JSON Schema: unknown fields refused, Kubernetes extensions dropped. */
function toJsonSchema(schema: Schema): Schema {
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key.startsWith('x-kubernetes-') || key === 'description' || key === 'format') continue;
    if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value as Record<string, Schema>).map(([k, v]) => [k, toJsonSchema(v)]));
    else if (key === 'items') out.items = toJsonSchema(value as Schema);
    else if (key === 'additionalProperties' && typeof value === 'object') out.additionalProperties = toJsonSchema(value as Schema);
    else out[key] = value;
  }
  if (schema.type === 'object' && schema.properties && schema.additionalProperties === undefined && !schema['x-kubernetes-preserve-unknown-fields']) {
    out.additionalProperties = false;
  }
  return out;
}

const validators = new Map<Kind, ValidateFunction>();

function validatorFor(kind: Kind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    const schema = toJsonSchema(crdSchemas[kind] as Schema);
    // metadata is the API server's own (ObjectMeta); apiVersion and kind are checked by the caller.
    schema.properties = { ...schema.properties, metadata: { type: 'object' }, apiVersion: { type: 'string' }, kind: { type: 'string' } };
    validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    validators.set(kind, validate);
  }
  return validate;
}

/** "/spec/data/0/remoteRef" -> "spec.data[0].remoteRef" */
export function fieldPath(pointer: string): string {
  return pointer
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function schemaProblem(e: ErrorObject): Problem {
  const path = fieldPath(e.instancePath);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'additionalProperties':
      return { path, message: `unknown field "${path ? `${path}.` : ''}${String(params.additionalProperty)}"` };
    case 'required':
      return { path: path ? `${path}.${String(params.missingProperty)}` : String(params.missingProperty), message: 'Required value' };
    case 'enum':
      return { path, message: `Unsupported value: supported values: ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}` };
    default:
      return { path, message: `Invalid value: ${e.message ?? e.keyword}` };
  }
}

/**
 * The value with CEL's types: a field the schema calls integer is a CEL int
 * (BigInt in cel-js), as the API server types it, so `self.length + 0` and
 * comparisons with int literals evaluate as they do there.
 */
function celTyped(schema: Schema | undefined, value: unknown): unknown {
  if (!schema) return value;
  if (schema.type === 'integer' && typeof value === 'number' && Number.isInteger(value)) return BigInt(value);
  if (Array.isArray(value)) return value.map((v) => celTyped(schema.items, v));
  if (value !== null && typeof value === 'object') {
    const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celTyped(schema.properties?.[k] ?? extra, v)]));
  }
  return value;
}

/** Runs every CEL rule on the values present, the way the API server does: `self` is the value at the rule's level. */
function celProblems(schema: Schema, value: unknown, path: string, out: Problem[]): void {
  if (value === undefined || value === null) return;
  for (const { rule, message } of schema['x-kubernetes-validations'] ?? []) {
    let ok: unknown;
    try {
      ok = evaluate(rule, { self: celTyped(schema, value) });
    } catch {
      ok = false; // a rule that cannot evaluate on this value refuses it, as in the API server
    }
    if (ok !== true) out.push({ path, message: `Invalid value: ${message ?? `failed rule: ${rule}`}` });
  }
  if (Array.isArray(value) && schema.items) value.forEach((item, i) => celProblems(schema.items!, item, `${path}[${i}]`, out));
  else if (typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
      const childSchema = schema.properties?.[key] ?? (typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined);
      if (childSchema) celProblems(childSchema, child, path ? `${path}.${key}` : key, out);
    }
  }
}

export function isKind(kind: unknown): kind is Kind {
  return typeof kind === 'string' && (KINDS as readonly string[]).includes(kind);
}

/** The API server drops object fields set to null (none of ours is nullable) before it validates. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v: unknown) => withoutNulls(v)) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [k, withoutNulls(v)])) as T;
}

/** Schema and CEL problems of one secretsync object; empty when the API server would store it. */
export function schemaProblems(obj: { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }): Problem[] {
  if (!isKind(obj.kind)) return [{ path: 'kind', message: `Unsupported value: ${JSON.stringify(obj.kind)}: supported values: ${KINDS.join(', ')}` }];
  if (obj.apiVersion !== `${API_GROUP}/v1alpha1`) return [{ path: 'apiVersion', message: `Unsupported value: ${JSON.stringify(obj.apiVersion)}: supported values: "${API_GROUP}/v1alpha1"` }];
  const problems: Problem[] = [];
  const name = obj.metadata?.name;
  if (typeof name !== 'string' || name === '') problems.push({ path: 'metadata.name', message: 'Required value: name is required' });
  else if (name === '.' || name === '..' || /[/%]/.test(name)) problems.push({ path: 'metadata.name', message: `Invalid value: may not be "." or "..", or contain "/" or "%"` });
  const validate = validatorFor(obj.kind);
  const stored = withoutNulls(obj);
  if (!validate(stored)) problems.push(...(validate.errors ?? []).map(schemaProblem));
  else celProblems(crdSchemas[obj.kind] as Schema, stored, '', problems);
  return problems;
}
