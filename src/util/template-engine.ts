// The template engine: LiquidJS, sandboxed. Templates see only the scope
// they are given (an ExternalSecret's own fetched values; a webhook store's
// remoteRef and secrets); they cannot include files (no file system is
// configured), reach object prototypes, or run unbounded: parse size, render
// time and memory are capped. It sits in util/, below providers/ and the
// domain, because both render templates.
//
// LiquidJS and node-forge load on first use, so installations without
// templates do not carry them in memory.
import type { Liquid, Template } from 'liquidjs';
import type Forge from 'node-forge';
import { Document as YamlDocument, parse as parseYaml, visit } from 'yaml';

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export const LIMITS = {
  /** Characters in one template. */
  parseLimit: 64 * 1024,
  /** Milliseconds one render may take. */
  renderLimit: 1000,
  /** Memory units one render may allocate (strings and arrays). */
  memoryLimit: 32 * 1024 * 1024,
};

/** Filter input as text: objects as JSON, nothing as "". */
function str(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
  return JSON.stringify(value) ?? '';
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

function pemBlocks(text: string): Array<{ type: string; pem: string }> {
  return [...str(text).matchAll(PEM_BLOCK)].map((m) => ({ type: m[1]!, pem: m[0] }));
}

function strictBase64(text: string): Buffer {
  const clean = str(text).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) throw new TemplateError('b64dec: input is not valid base64');
  return Buffer.from(clean, 'base64');
}

const GO_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

/** Go's strconv.Quote, which ESO's `quote` uses: printable characters as they are, the rest escaped. */
function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (GO_ESCAPES[ch]) out += GO_ESCAPES[ch];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else if (code < 0x7f || /[\p{L}\p{M}\p{N}\p{P}\p{S}]/u.test(ch)) out += ch;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += `\\U${code.toString(16).padStart(8, '0')}`;
  }
  return `${out}"`;
}

/** Object keys in sorted order, at every depth (how Go writes maps). */
function sortedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedKeys((value as Record<string, unknown>)[k])]));
}

/** JSON as Go's encoding/json writes it (and so ESO's toJson): keys sorted; <, > and & escaped. */
function goJson(value: unknown): string {
  return (JSON.stringify(sortedKeys(value)) ?? 'null').replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Whether YAML 1.1 reads this text, as a plain scalar, as a null, boolean, number or timestamp. */
function readsAsOtherThanString(text: string): boolean {
  if (/^(~|null|Null|NULL|)$/.test(text)) return true;
  try {
    const value = parseYaml(text, { version: '1.1' }) as unknown;
    return typeof value === 'boolean' || typeof value === 'number' || value instanceof Date;
  } catch {
    return false; // not a plain scalar at all: the serialiser quotes it
  }
}

/**
 * YAML as ESO's toYaml (sigs.k8s.io/yaml, go-yaml v2) writes it: keys sorted,
 * lists at their key's indentation, strings YAML 1.1 would read as something
 * else double-quoted, others that need quotes single-quoted, no final newline.
 */
function goYaml(value: unknown): string {
  const doc = new YamlDocument(sortedKeys(value), { version: '1.1' });
  visit(doc, {
    Scalar: (_, node) => {
      if (typeof node.value === 'string' && readsAsOtherThanString(node.value)) node.type = 'QUOTE_DOUBLE';
    },
  });
  return doc.toString({ indentSeq: false, lineWidth: 0, singleQuote: true }).replace(/\n$/, '');
}

/** Reads a base64 PKCS#12 archive and returns its certificates or its key as PEM. */
async function pkcs12(input: string, password: string, want: 'cert' | 'key'): Promise<string> {
  const forge = interop(await import('node-forge'));
  let p12: Forge.pkcs12.Pkcs12Pfx;
  try {
    const der = forge.util.decode64(str(input).replace(/\s+/g, ''));
    p12 = forge.pkcs12.pkcs12FromAsn1(forge.asn1.fromDer(der), str(password));
  } catch {
    throw new TemplateError(`pkcs12_${want}: input is not a base64 PKCS#12 archive, or the password is wrong`);
  }
  if (want === 'cert') {
    const bags = p12.getBags({ bagType: forge.pki.oids.certBag! })[forge.pki.oids.certBag!] ?? [];
    return bags.map((b) => unixLines(forge.pki.certificateToPem(b.cert!))).join('');
  }
  const shrouded = p12.getBags({ bagType: forge.pki.oids.pkcs8ShroudedKeyBag! })[forge.pki.oids.pkcs8ShroudedKeyBag!] ?? [];
  const plain = p12.getBags({ bagType: forge.pki.oids.keyBag! })[forge.pki.oids.keyBag!] ?? [];
  const key = [...shrouded, ...plain][0]?.key;
  if (!key) throw new TemplateError('pkcs12_key: the archive holds no private key');
  return unixLines(forge.pki.privateKeyInfoToPem(forge.pki.wrapRsaPrivateKey(forge.pki.privateKeyToAsn1(key))));
}

/** node-forge ends PEM lines with CRLF; Go's encoding/pem (and so ESO) with LF. */
const unixLines = (pem: string) => pem.replace(/\r\n/g, '\n');

/** A CommonJS module imported dynamically may arrive wrapped in `default` (for example when bundled). */
function interop<T extends object>(mod: T | { default: T }): T {
  return 'default' in mod && mod.default ? mod.default : (mod as T);
}

async function createEngine(): Promise<Liquid> {
  const liquidjs = await import('liquidjs');
  const Liquid = liquidjs.Liquid ?? (liquidjs as unknown as { default: typeof liquidjs }).default.Liquid;
  const engine = new Liquid({
    templates: {}, // include/render/layout find nothing: no file access
    strictFilters: true,
    ownPropertyOnly: true,
    ...LIMITS,
  });
  const filters: Record<string, (value: unknown, ...args: unknown[]) => unknown> = {
    b64enc: (v) => Buffer.from(str(v)).toString('base64'),
    b64dec: (v) => strictBase64(str(v)).toString('utf8'),
    fromjson: (v) => {
      try {
        return JSON.parse(str(v)) as unknown;
      } catch {
        throw new TemplateError('fromjson: input is not valid JSON');
      }
    },
    tojson: (v) => goJson(v),
    fromyaml: (v) => {
      try {
        // YAML 1.1, as sigs.k8s.io/yaml (and so ESO's fromYaml) reads it: yes/no/on/off/y/n are booleans.
        // Timestamps stay text, as JSON has no dates.
        return parseYaml(str(v), { version: '1.1', customTags: (tags) => tags.filter((t) => typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp') }) as unknown;
      } catch {
        throw new TemplateError('fromyaml: input is not valid YAML');
      }
    },
    // As ESO's toYaml writes it: keys sorted, lists at their key's indentation, YAML 1.1 look-alikes quoted, no final newline.
    toyaml: (v) => goYaml(v),
    upper: (v) => str(v).toUpperCase(),
    lower: (v) => str(v).toLowerCase(),
    trim: (v) => str(v).trim(),
    pem_blocks: (v) => pemBlocks(str(v)).map((b) => b.pem),
    filter_pem: (v, type) => pemBlocks(str(v))
      .filter((b) => b.type === str(type))
      .map((b) => `${b.pem}\n`)
      .join(''),
    quote: (v) => goQuote(str(v)),
    squote: (v) => `'${str(v)}'`,
    pkcs12_cert: (v, password) => pkcs12(str(v), str(password), 'cert'),
    pkcs12_key: (v, password) => pkcs12(str(v), str(password), 'key'),
  };
  for (const [name, fn] of Object.entries(filters)) engine.registerFilter(name, fn);
  return engine;
}

let engineLoading: Promise<Liquid> | undefined;
const parsed = new Map<string, Template[]>();
const PARSED_CACHE_SIZE = 2000;

function compile(engine: Liquid, source: string): Template[] {
  let tpl = parsed.get(source);
  if (tpl) return tpl;
  tpl = engine.parse(source);
  if (parsed.size >= PARSED_CACHE_SIZE) parsed.delete(parsed.keys().next().value!);
  parsed.set(source, tpl);
  return tpl;
}

/** What a template sees: each fetched key as text, and `base64.<key>` as exact bytes. */
export function templateScope(data: Record<string, Uint8Array>): Record<string, unknown> {
  const text: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const base64: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(data)) {
    text[k] = Buffer.from(v).toString('utf8');
    base64[k] = Buffer.from(v).toString('base64');
  }
  text.base64 = base64;
  return text;
}

function describe(err: unknown, what: string): TemplateError {
  if (err instanceof TemplateError) return new TemplateError(`${what}: ${err.message}`);
  const original = err as { message?: string; originalError?: unknown };
  if (original.originalError instanceof TemplateError) return new TemplateError(`${what}: ${original.originalError.message}`);
  // Keep the first line: Liquid names the template position, not values.
  return new TemplateError(`${what}: ${String(original.message ?? err).split('\n')[0]}`);
}

export async function render(source: string, scope: Record<string, unknown>, what: string): Promise<string> {
  const engine = await (engineLoading ??= createEngine());
  try {
    return String(await engine.render(compile(engine, source), scope));
  } catch (err) {
    throw describe(err, what);
  }
}

/** Parses a template without rendering it (the checks `secretsync validate` and a spec change run). */
export async function checkTemplate(source: string, what: string): Promise<void> {
  const engine = await (engineLoading ??= createEngine());
  try {
    compile(engine, source);
  } catch (err) {
    throw describe(err, what);
  }
}
