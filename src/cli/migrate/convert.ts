// One External Secrets Operator manifest (external-secrets.io v1 or v1beta1)
// as secretsync manifests. The YAML document is edited in place, so comments
// and key order survive. Fields are mapped one by one for the providers
// secretsync has; every field without an equivalent is removed with a warning
// that says what to do, and anything that cannot be converted (another
// provider, PushSecret, a ClusterExternalSecret without a namespace list) is
// left as it was with an error: reported, never dropped. A field whose loss
// would change what the manifest does is an error too, not a warning.
import { isAlias, visit, type Document, type Node } from 'yaml';
import { removeServerFields } from './live-objects.js';
import { adoptPushedSecrets, adoptSecrets } from './takeover.js';
import { parseDuration } from '../../util/duration.js';
import { schemaProblems } from '../../validation/schema.js';
import { asText, pathSegments } from '../manifests.js';
import { MigrateContext } from './context.js';
import { translateRegexpTarget } from './go-template.js';
import { normaliseVaultKey } from './vault-keys.js';
import { Converter, type MigrateFinding, type Path } from './converter.js';
import { convertStoreSpec } from './store-spec.js';
import { convertWebhookRequest } from './webhook-spec.js';

/** The versions converted; anything else of ESO's API groups is reported. */
export const ESO_VERSIONS = ['external-secrets.io/v1', 'external-secrets.io/v1beta1', 'external-secrets.io/v1alpha1', 'generators.external-secrets.io/v1alpha1'];
const ESO_GROUPS = /^(generators\.)?external-secrets\.io\//;
const OURS = 'secretsync.dev/v1alpha1';
/** Aliases become copies of what they point at, so dropping an anchored field cannot leave one dangling. */
function expandAliases(doc: Document): void {
  visit(doc, {
    Alias: (_, alias) => {
      const target = alias.resolve(doc);
      if (!target) throw new Error(`the alias *${alias.source} has no anchor in this document`);
      const copy = target.clone() as Node & { anchor?: string };
      delete copy.anchor;
      return copy;
    },
  });
  visit(doc, {
    Node: (_, node) => {
      if (!isAlias(node)) delete (node as { anchor?: string }).anchor;
    },
  });
}

const isZeroDuration = (value: unknown): boolean => {
  try {
    return parseDuration(asText(value)) === 0;
  } catch {
    return false;
  }
};

function convertExternalSecretSpec(c: Converter, spec: Path): void {
  const storeRef = (c.doc.getIn([...spec, 'secretStoreRef']) as Node | undefined)?.toJSON() as { name?: string; kind?: string } | undefined;
  const store = storeRef ? c.context.store(storeRef, c.namespace) : undefined;
  if (store?.refused) {
    c.error([...spec, 'secretStoreRef'], `its ${store.kind} "${store.name}" cannot be converted (see the error reported on it): keep this ExternalSecret on External Secrets Operator with its store`);
    return;
  }
  const interval = c.get([...spec, 'refreshInterval']);
  const policy = c.get([...spec, 'refreshPolicy']);
  if (c.has([...spec, 'refreshInterval']) && isZeroDuration(interval)) {
    // Zero means "never periodically": CreatedOnce, unless the policy already says when to refresh.
    if (policy === undefined) c.rename([...spec, 'refreshInterval'], 'refreshPolicy', 'CreatedOnce');
    else {
      c.doc.deleteIn([...spec, 'refreshInterval']);
      if (policy === 'Periodic') c.doc.setIn([...spec, 'refreshPolicy'], 'CreatedOnce');
    }
    if (policy === undefined || policy === 'Periodic') c.warn([...spec, 'refreshInterval'], `refreshInterval ${asText(interval)} (never refresh) became refreshPolicy CreatedOnce`);
  }
  const target = [...spec, 'target'];
  c.refuse([...target, 'manifest'], 'target.manifest (writing a ConfigMap or another kind instead of a Secret) has no equivalent: secretsync writes Secrets only; keep this ExternalSecret on External Secrets Operator');
  const creation = c.get([...target, 'creationPolicy']);
  if (c.get([...target, 'deletionPolicy']) === 'Delete' && creation !== undefined && creation !== 'Owner') {
    c.drop([...target, 'deletionPolicy'], `deletionPolicy Delete needs creationPolicy Owner in secretsync (here ${asText(creation)}): the Secret is now kept when its remote secrets are gone`);
  }
  if (c.get([...target, 'deletionPolicy']) === 'Merge') c.drop([...target, 'deletionPolicy'], 'deletionPolicy Merge (remove only our keys when the remote secrets are gone): Retain (the default) keeps the Secret, Delete deletes it');
  const template = [...target, 'template'];
  if (c.has(template)) {
    const engine = c.get([...template, 'engineVersion']);
    if (engine === 'v1') c.error([...template, 'engineVersion'], "ESO's v1 template engine (deprecated) is not converted: move the templates to engineVersion v2 on External Secrets Operator first, then migrate");
    // Ours is LiquidJS; the CRD's own default says so.
    if (c.has([...template, 'engineVersion'])) c.doc.deleteIn([...template, 'engineVersion']);
    c.drop([...template, 'metadata', 'finalizers'], 'add finalizers to the Secret by other means');
    for (const key of c.keys([...template, 'data'])) c.template([...template, 'data', key]);
    for (const part of ['labels', 'annotations']) for (const key of c.keys([...template, 'metadata', part])) c.template([...template, 'metadata', part, key]);
    for (let i = 0; i < c.items([...template, 'templateFrom']); i++) {
      const from = [...template, 'templateFrom', i];
      c.template([...from, 'literal']);
      for (const [field, kind] of [['configMap', 'ConfigMap'], ['secret', 'Secret']] as const) {
        const name = asText(c.get([...from, field, 'name']));
        const found = name ? c.context.resource(kind, name, c.namespace) : 'found';
        if (found === 'missing') c.error([...from, field], `the ${kind} "${name}" holds Go templates that must be converted with this ExternalSecret: give its file to migrate too`);
        if (found === 'refused') c.error([...from, field], `the templates in the ${kind} "${name}" cannot be converted (see the error reported on it): keep this ExternalSecret on External Secrets Operator, or rewrite them`);
      }
    }
  }
  const ref = (path: Path) => {
    if (c.get([...path, 'conversionStrategy']) === 'Unicode') c.error([...path, 'conversionStrategy'], 'conversionStrategy Unicode (decoding _UXXXX_ escapes in keys) has no equivalent: keep this ExternalSecret on External Secrets Operator');
    else c.dropIfDefault([...path, 'conversionStrategy'], ['Default'], 'values are used as they are');
    // Fetch is kept: secretsync reads the same metadata (Vault KV v2 custom metadata, tags, labels).
    if (c.get([...path, 'metadataPolicy']) === 'Fetch' && store?.provider === 'vault' && store.vaultVersion === 'v1') {
      c.error([...path, 'metadataPolicy'], 'metadataPolicy Fetch reads KV v2 custom metadata, and this store is KV v1 (ESO fails on it too)');
    }
    if (c.get([...path, 'metadataPolicy']) === 'None') c.doc.deleteIn([...path, 'metadataPolicy']);
    c.drop([...path, 'nullBytePolicy'], 'values are kept as they are');
    if (store?.provider === 'vault') {
      const key = c.get([...path, 'key']);
      if (typeof key === 'string') {
        const normal = normaliseVaultKey(key, store);
        if ('error' in normal) c.error([...path, 'key'], normal.error);
        else if (normal.key !== key) {
          c.doc.setIn([...path, 'key'], normal.key);
          c.warn([...path, 'key'], `"${key}" became "${normal.key}": ${normal.why}`);
        }
      }
    }
    if (store?.provider === 'azurekv' && asText(c.get([...path, 'key'])).startsWith('cert/')) {
      c.warn([...path, 'key'], 'a cert/ read gives the certificate chain as PEM in secretsync, where ESO gives the DER bytes of the leaf: templates that converted the DER (for example with b64enc) need changing');
    }
  };
  const sourceRef = (path: Path) => {
    if (!c.has([...path, 'sourceRef'])) return;
    const from = (c.doc.getIn([...path, 'sourceRef']) as Node).toJSON() as { storeRef?: { name?: string; kind?: string }; generatorRef?: { kind?: string; name?: string } };
    const same = from.storeRef && !from.generatorRef && from.storeRef.name === storeRef?.name && (from.storeRef.kind ?? 'SecretStore') === (storeRef?.kind ?? 'SecretStore');
    if (same) c.doc.deleteIn([...path, 'sourceRef']);
    else if (from.generatorRef && path.includes('dataFrom') && GENERATOR_KINDS.includes(from.generatorRef.kind ?? '')) {
      generatorRef([...path, 'sourceRef', 'generatorRef']);
      if (!c.has([...path, 'sourceRef', 'storeRef'])) {
        c.warn([...path, 'sourceRef'], `External Secrets Operator generates a new ${from.generatorRef.kind} value at every refresh of this ExternalSecret; secretsync keeps it (in the Secret) until the generator's own spec.refreshInterval, or a token until 80% of its life: set refreshInterval on the generator to rotate`);
      } else c.error([...path, 'sourceRef', 'storeRef'], 'an entry takes a storeRef or a generatorRef, not both');
    } else if (from.generatorRef && GENERATOR_KINDS.includes(from.generatorRef.kind ?? '')) {
      c.error([...path, 'sourceRef'], `a generator in spec.data (one key of its output) has no equivalent: read the ${from.generatorRef.kind ?? ''} generator in dataFrom[].sourceRef.generatorRef and pick or rename its keys with rewrite, then migrate again`);
    } else if (from.generatorRef) c.error([...path, 'sourceRef'], `values from a ${from.generatorRef.kind ?? ''} generator have no equivalent yet (secretsync has ${GENERATOR_KINDS.join(', ')}): keep this ExternalSecret on External Secrets Operator`);
    else c.error([...path, 'sourceRef'], 'secretsync reads every entry from spec.secretStoreRef: move the entries of another store into an ExternalSecret of their own');
  };
  for (let i = 0; i < c.items([...spec, 'data']); i++) {
    ref([...spec, 'data', i, 'remoteRef']);
    sourceRef([...spec, 'data', i]);
  }
  for (let i = 0; i < c.items([...spec, 'dataFrom']); i++) {
    const entry = [...spec, 'dataFrom', i];
    ref([...entry, 'extract']);
    if (c.get([...entry, 'find', 'conversionStrategy']) === 'Unicode') c.error([...entry, 'find', 'conversionStrategy'], 'conversionStrategy Unicode has no equivalent: keep this ExternalSecret on External Secrets Operator');
    else c.dropIfDefault([...entry, 'find', 'conversionStrategy'], ['Default'], 'values are used as they are');
    sourceRef(entry);
    for (let j = 0; j < c.items([...entry, 'rewrite']); j++) {
      const rewrite = [...entry, 'rewrite', j];
      c.template([...rewrite, 'transform', 'template']);
      const goTarget = c.get([...rewrite, 'regexp', 'target']);
      if (typeof goTarget === 'string') {
        const target = translateRegexpTarget(goTarget);
        if (target !== goTarget) c.doc.setIn([...rewrite, 'regexp', 'target'], target);
      }
      c.refuse([...rewrite, 'merge'], 'rewrite merge (JSON values merged into one key set) has no equivalent: keep this ExternalSecret on External Secrets Operator');
    }
  }
  const onlyGenerators = !c.has([...spec, 'data']) && c.items([...spec, 'dataFrom']) > 0 && Array.from({ length: c.items([...spec, 'dataFrom']) }, (_, i) => c.has([...spec, 'dataFrom', i, 'sourceRef', 'generatorRef'])).every(Boolean);
  if (!c.has([...spec, 'secretStoreRef']) && !onlyGenerators) c.error([...spec, 'secretStoreRef'], 'secretsync needs spec.secretStoreRef: name the store every entry is read from');
  function generatorRef(path: Path): void {
    // generators.external-secrets.io/v1alpha1 becomes ours; the kind and name stay.
    if (c.has([...path, 'apiVersion'])) c.doc.setIn([...path, 'apiVersion'], OURS);
  }
}

export const GENERATOR_KINDS = ['Password', 'UUID', 'ECRAuthorizationToken', 'VaultDynamicSecret', 'GCRAccessToken', 'ACRAccessToken', 'Webhook'];

/** A PushSecret maps one to one; what ESO lets a provider read from data[].metadata has no equivalent. */
function convertPushSecret(c: Converter): void {
  adoptPushedSecrets(c);
  for (let i = 0; i < c.items(['spec', 'data']); i++) {
    const entry = ['spec', 'data', i];
    c.refuse([...entry, 'metadata'], 'provider-specific push metadata has no equivalent: keep this PushSecret on External Secrets Operator');
    if (c.get([...entry, 'conversionStrategy']) === 'ReverseUnicode') c.error([...entry, 'conversionStrategy'], 'conversionStrategy ReverseUnicode has no equivalent: keep this PushSecret on External Secrets Operator');
  }
  c.refuse(['spec', 'selector', 'secret', 'selector'], 'selecting Secrets by label has no equivalent: name the Secret (selector.secret.name)');
  const generatorKind = asText(c.get(['spec', 'selector', 'generatorRef', 'kind']));
  if (generatorKind && !GENERATOR_KINDS.includes(generatorKind)) c.error(['spec', 'selector', 'generatorRef'], `a ${generatorKind} generator has no equivalent yet: keep this PushSecret on External Secrets Operator`);
  if (c.has(['spec', 'selector', 'generatorRef', 'apiVersion'])) c.doc.setIn(['spec', 'selector', 'generatorRef', 'apiVersion'], OURS);
  for (let i = 0; i < c.items(['spec', 'template', 'templateFrom']); i++) c.template(['spec', 'template', 'templateFrom', i, 'literal']);
  for (const key of c.keys(['spec', 'template', 'data'])) c.template(['spec', 'template', 'data', key]);
  c.refuse(['spec', 'template', 'engineVersion'], 'template engine v1 has no equivalent: keep this PushSecret on External Secrets Operator', (v) => v === 'v1');
}

/** Generators keep their fields; what secretsync's kind does not have is an error, never dropped silently. */
function convertGenerator(c: Converter, kind: string): void {
  if (kind === 'Password') {
    c.refuse(['spec', 'encoding'], 'password encodings other than raw have no equivalent', (v) => v !== 'raw');
    c.refuse(['spec', 'secretKeys'], 'secretsync\'s Password always outputs key "password": rename with a dataFrom rewrite');
  }
  if (kind === 'VaultDynamicSecret') {
    c.refuse(['spec', 'retrySettings'], 'retries go through the operator\'s backoff: remove retrySettings');
    c.refuse(['spec', 'allowEmptyResponse'], 'an empty response is an error in secretsync');
    c.dropIfDefault(['spec', 'controller'], [''], 'controller classes do not apply');
    for (const field of ['tls', 'headers', 'caProvider', 'forwardInconsistent', 'readYourWrites']) {
      c.refuse(['spec', 'provider', field], `provider.${field} has no equivalent in secretsync's vault provider: keep this generator on External Secrets Operator`);
    }
  }
  if (kind === 'ECRAuthorizationToken') c.refuse(['spec', 'auth', 'jwt', 'serviceAccountRef', 'namespace'], 'a generator reads credentials in its own namespace');
  // When it is called again is said where an ExternalSecret reads it (ESO calls it at every refresh).
  if (kind === 'Webhook') convertWebhookRequest(c, ['spec'], 'keep this generator on External Secrets Operator');
}

/** False when the store cannot be converted (the document is then left as it was). */
function dropUnknownFields(c: Converter): void {
  for (let round = 0; round < 50; round++) {
    const unknown = schemaProblems(c.doc.toJS() as Record<string, unknown>).filter((p) => p.message.startsWith('unknown field'));
    if (unknown.length === 0) return;
    for (const p of unknown) {
      const field = /^unknown field "(.*)"$/.exec(p.message)![1]!;
      c.drop(pathSegments(field), 'see docs/api-reference.md for what secretsync has');
    }
  }
}

export interface Converted {
  /** The documents to write: the converted one(s), or the original when it cannot be converted. */
  docs: Document[];
  findings: MigrateFinding[];
  /** False: not an External Secrets Operator manifest, written back unchanged. */
  eso: boolean;
  /** True: written back exactly as it was (its own source text). */
  unchanged?: boolean;
}

export function convertDocument(doc: Document, context = new MigrateContext()): Converted {
  const c = new Converter(doc, context, asText(doc.getIn(['metadata', 'namespace'])) || undefined);
  const apiVersion = asText(c.get(['apiVersion']));
  const kind = asText(c.get(['kind']));
  if (!ESO_GROUPS.test(apiVersion)) return { docs: [doc], findings: [], eso: false, unchanged: true };
  const original = doc.clone();
  try {
    expandAliases(c.doc);
  } catch (err) {
    c.error([], `YAML: ${(err as Error).message}`);
    return { docs: [original], findings: c.findings, eso: true, unchanged: true };
  }
  const unchanged = (): Converted => ({ docs: [original], findings: c.findings, eso: true, unchanged: true });
  // An object exported from the cluster: its status, server metadata and ESO's finalizer go.
  removeServerFields(c.doc);
  if (!ESO_VERSIONS.includes(apiVersion)) {
    c.error([], `${kind} ${apiVersion} has no equivalent in secretsync: keep it on External Secrets Operator`);
    return unchanged();
  }
  switch (kind) {
    case 'ExternalSecret':
      convertExternalSecretSpec(c, ['spec']);
      adoptSecrets(c, ['metadata'], ['spec']);
      break;
    case 'SecretStore':
    case 'ClusterSecretStore':
      if (!convertStoreSpec(c, ['spec'], kind === 'ClusterSecretStore')) return unchanged();
      break;
    case 'ClusterExternalSecret':
      convertClusterExternalSecret(c);
      break;
    case 'PushSecret':
      convertPushSecret(c);
      break;
    case 'Password':
    case 'UUID':
    case 'ECRAuthorizationToken':
    case 'VaultDynamicSecret':
    case 'GCRAccessToken':
    case 'ACRAccessToken':
    case 'Webhook':
      convertGenerator(c, kind);
      break;
    default:
      c.error([], `${kind} has no equivalent in secretsync: keep it on External Secrets Operator`);
      return unchanged();
  }
  if (c.findings.some((f) => f.severity === 'error')) return unchanged();
  c.doc.setIn(['apiVersion'], OURS);
  dropUnknownFields(c);
  // What is left invalid (a rule secretsync has and ESO does not) is found by migrate's validate step.
  return { docs: [c.doc], findings: c.findings, eso: true };
}

/** A ClusterExternalSecret maps one to one: the same selection fields, its ExternalSecret spec converted like any other. */
function convertClusterExternalSecret(c: Converter): void {
  convertExternalSecretSpec(c, ['spec', 'externalSecretSpec']);
  adoptSecrets(c, ['spec', 'externalSecretMetadata'], ['spec', 'externalSecretSpec']);
}

