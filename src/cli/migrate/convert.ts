// One External Secrets Operator manifest (external-secrets.io v1 or v1beta1)
// as secretsync manifests. The YAML document is edited in place, so comments
// and key order survive. Fields are mapped one by one for the providers
// secretsync has; every field without an equivalent is removed with a warning
// that says what to do, and anything that cannot be converted (another
// provider, PushSecret, a ClusterExternalSecret without a namespace list) is
// left as it was with an error: reported, never dropped.
import { Document, isMap, isScalar, isSeq, type Node } from 'yaml';
import { schemaProblems } from '../../validation/schema.js';
import { asText, pathSegments } from '../manifests.js';
import { translateGoTemplate } from './go-template.js';

type Path = Array<string | number>;

export interface MigrateFinding {
  path: string;
  severity: 'warning' | 'error';
  message: string;
  /** Line within the template, for template findings. */
  templateLine?: number;
}

/** The versions converted; anything else of ESO's API groups is reported. */
export const ESO_VERSIONS = ['external-secrets.io/v1', 'external-secrets.io/v1beta1'];
const ESO_GROUPS = /^(generators\.)?external-secrets\.io\//;
const OURS = 'secretsync.dev/v1alpha1';
const PROVIDERS = ['vault', 'aws', 'azurekv', 'gcpsm'];

const show = (path: Path) => path.reduce<string>((s, p) => (typeof p === 'number' ? `${s}[${p}]` : s ? `${s}.${p}` : p), '');

class Converter {
  readonly findings: MigrateFinding[] = [];
  constructor(readonly doc: Document) {}

  has(path: Path): boolean {
    return this.doc.hasIn(path);
  }
  get(path: Path): unknown {
    const v = this.doc.getIn(path, true) as Node | undefined;
    return isScalar(v) ? v.value : v;
  }
  items(path: Path): number {
    const v = this.doc.getIn(path, true);
    return isSeq(v) ? v.items.length : 0;
  }
  keys(path: Path): string[] {
    const v = this.doc.getIn(path, true);
    return isMap(v) ? v.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key)) : [];
  }
  warn(path: Path, message: string): void {
    this.findings.push({ path: show(path), severity: 'warning', message });
  }
  error(path: Path, message: string): void {
    this.findings.push({ path: show(path), severity: 'error', message });
  }
  /** Removes a field secretsync has no equivalent for, saying what to do instead. */
  drop(path: Path, todo: string): void {
    if (!this.has(path)) return;
    this.doc.deleteIn(path);
    this.warn(path, `no equivalent in secretsync, removed: ${todo}`);
  }
  /** Removes a field whose default secretsync already has. */
  dropIfDefault(path: Path, defaults: unknown[], todo: string): void {
    if (!this.has(path)) return;
    if (defaults.includes(this.get(path))) this.doc.deleteIn(path);
    else this.drop(path, todo);
  }
  move(from: Path, to: Path): void {
    if (!this.has(from)) return;
    const node = this.doc.getIn(from, true);
    this.doc.deleteIn(from);
    this.doc.setIn(to, node);
  }
  template(path: Path): void {
    const source = this.get(path);
    if (typeof source !== 'string') return;
    const { liquid, untranslated } = translateGoTemplate(source);
    this.doc.setIn(path, liquid);
    for (const u of untranslated) {
      this.findings.push({ path: show(path), severity: 'warning', templateLine: u.line, message: `template line ${u.line}: ${u.action} kept as it was: ${u.why}` });
    }
  }
}

function convertExternalSecretSpec(c: Converter, spec: Path): void {
  const interval = c.get([...spec, 'refreshInterval']);
  if (interval === '0' || interval === '0s' || interval === 0) {
    c.doc.deleteIn([...spec, 'refreshInterval']);
    c.doc.setIn([...spec, 'refreshPolicy'], 'CreatedOnce');
    c.warn([...spec, 'refreshInterval'], 'refreshInterval 0 (never refresh) became refreshPolicy CreatedOnce');
  }
  const target = [...spec, 'target'];
  const creation = c.get([...target, 'creationPolicy']);
  if (c.get([...target, 'deletionPolicy']) === 'Delete' && creation !== undefined && creation !== 'Owner') {
    c.drop([...target, 'deletionPolicy'], `deletionPolicy Delete needs creationPolicy Owner in secretsync (here ${asText(creation)}): the Secret is now kept when its remote secrets are gone`);
  }
  if (c.get([...target, 'deletionPolicy']) === 'Merge') c.drop([...target, 'deletionPolicy'], 'deletionPolicy Merge (remove only our keys) has no equivalent; Retain keeps the Secret, Delete deletes it');
  const template = [...target, 'template'];
  if (c.has(template)) {
    const engine = c.get([...template, 'engineVersion']);
    if (engine === 'v1') c.warn([...template, 'engineVersion'], "ESO's v1 template engine: the templates were translated as v2 (Go templates); check them");
    // Ours is LiquidJS; the CRD's own default says so.
    if (c.has([...template, 'engineVersion'])) c.doc.deleteIn([...template, 'engineVersion']);
    c.drop([...template, 'metadata', 'finalizers'], 'add finalizers to the Secret by other means');
    for (const key of c.keys([...template, 'data'])) c.template([...template, 'data', key]);
    for (const part of ['labels', 'annotations']) for (const key of c.keys([...template, 'metadata', part])) c.template([...template, 'metadata', part, key]);
    for (let i = 0; i < c.items([...template, 'templateFrom']); i++) c.template([...template, 'templateFrom', i, 'literal']);
  }
  const ref = (path: Path) => {
    c.dropIfDefault([...path, 'conversionStrategy'], ['Default'], 'values are used as they are (Unicode conversion is not done); decode them with decodingStrategy');
    c.dropIfDefault([...path, 'metadataPolicy'], ['None'], 'secretsync reads values, not provider metadata: read the metadata into the value itself');
    c.drop([...path, 'nullBytePolicy'], 'values are kept as they are');
  };
  const sourceRef = (path: Path) => c.drop([...path, 'sourceRef'], 'every entry is read from spec.secretStoreRef; split entries of other stores or generators into ExternalSecrets of their own');
  for (let i = 0; i < c.items([...spec, 'data']); i++) {
    ref([...spec, 'data', i, 'remoteRef']);
    sourceRef([...spec, 'data', i]);
  }
  for (let i = 0; i < c.items([...spec, 'dataFrom']); i++) {
    const entry = [...spec, 'dataFrom', i];
    ref([...entry, 'extract']);
    c.dropIfDefault([...entry, 'find', 'conversionStrategy'], ['Default'], 'values are used as they are');
    sourceRef(entry);
    for (let j = 0; j < c.items([...entry, 'rewrite']); j++) {
      c.template([...entry, 'rewrite', j, 'transform', 'template']);
      c.drop([...entry, 'rewrite', j, 'merge'], 'rewrite merge has no equivalent; combine the keys with a template instead');
    }
  }
  if (!c.has([...spec, 'secretStoreRef'])) c.error([...spec, 'secretStoreRef'], 'secretsync needs spec.secretStoreRef: name the store every entry is read from');
}

/** False when the store cannot be converted (the document is then left as it was). */
function convertStoreSpec(c: Converter, spec: Path, cluster: boolean): boolean {
  const providers = c.keys([...spec, 'provider']);
  const provider = providers[0];
  if (providers.length !== 1 || !provider || !PROVIDERS.includes(provider)) {
    c.error([...spec, 'provider'], `provider "${providers.join(', ')}" is not one secretsync has (${PROVIDERS.join(', ')}): keep this store, and its ExternalSecrets, on External Secrets Operator`);
    return false;
  }
  c.drop([...spec, 'controller'], 'secretsync has no controller classes; run one installation per class');
  c.drop([...spec, 'retrySettings'], 'retries use backoff; limit provider calls with spec.rateLimit');
  c.drop([...spec, 'refreshInterval'], 'stores are checked when they or their credential Secrets change');
  if (!cluster) c.drop([...spec, 'conditions'], 'conditions apply to ClusterSecretStores only');
  const p = [...spec, 'provider', provider];
  const authOf = (path: Path, supported: string[]): boolean => {
    for (const kind of c.keys(path)) {
      if (supported.includes(kind)) continue;
      c.error([...path, kind], `${provider} auth "${kind}" is not one secretsync has (${supported.join(', ')}): keep this store on External Secrets Operator or change its auth`);
      return false;
    }
    return true;
  };
  switch (provider) {
    case 'vault': {
      c.drop([...p, 'caProvider'], 'put the CA certificate (PEM, or base64 PEM) in caBundle');
      for (const f of ['readYourWrites', 'forwardInconsistent', 'headers', 'tls', 'checkAndSet']) c.drop([...p, f], `${f} has no equivalent`);
      const auth = [...p, 'auth'];
      if (!authOf(auth, ['tokenSecretRef', 'appRole', 'kubernetes', 'jwt'])) return false;
      c.drop([...auth, 'appRole', 'roleRef'], 'give the role id inline in appRole.roleId');
      c.drop([...auth, 'kubernetes', 'secretRef'], 'secretsync mints the token with TokenRequest: set kubernetes.serviceAccountRef');
      if (c.has([...auth, 'kubernetes']) && !c.has([...auth, 'kubernetes', 'serviceAccountRef'])) {
        c.warn([...auth, 'kubernetes'], 'no serviceAccountRef (ESO then uses its own ServiceAccount): secretsync needs the ServiceAccount to mint a token for; add kubernetes.serviceAccountRef');
      }
      const sat = [...auth, 'jwt', 'kubernetesServiceAccountToken'];
      c.move([...sat, 'audiences'], [...sat, 'serviceAccountRef', 'audiences']);
      c.drop([...sat, 'expirationSeconds'], 'tokens are minted for 10 minutes and renewed');
      break;
    }
    case 'aws': {
      const service = asText(c.get([...p, 'service']));
      if (service !== 'SecretsManager') {
        c.error([...p, 'service'], `AWS ${service} is not a service secretsync has (SecretsManager): keep this store on External Secrets Operator`);
        return false;
      }
      for (const f of ['additionalRoles', 'externalID', 'sessionTags', 'transitiveTagKeys', 'prefix', 'secretsManager']) c.drop([...p, f], `${f} has no equivalent; give the final role in aws.role`);
      if (!authOf([...p, 'auth'], ['secretRef', 'jwt'])) return false;
      break;
    }
    case 'azurekv': {
      const env = asText(c.get([...p, 'environmentType']));
      if (env !== '' && !['PublicCloud', 'ChinaCloud', 'USGovernmentCloud'].includes(env)) {
        c.error([...p, 'environmentType'], `environmentType ${env} is not one secretsync has: set AZURE_AUTHORITY_HOST on the operator for a private cloud and remove the field`);
        return false;
      }
      c.drop([...p, 'customCloudConfig'], 'set AZURE_AUTHORITY_HOST on the operator for a private cloud');
      break;
    }
    case 'gcpsm': {
      if (!authOf([...p, 'auth'], ['secretRef', 'workloadIdentity'])) return false;
      break;
    }
  }
  return true;
}

/** Anything the schema still calls an unknown field has no equivalent: removed, with a warning. */
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

export function convertDocument(doc: Document): Converted {
  const c = new Converter(doc);
  const apiVersion = asText(c.get(['apiVersion']));
  const kind = asText(c.get(['kind']));
  if (!ESO_GROUPS.test(apiVersion)) return { docs: [doc], findings: [], eso: false, unchanged: true };
  const original = doc.clone();
  const unchanged = (): Converted => ({ docs: [original], findings: c.findings, eso: true, unchanged: true });
  if (!ESO_VERSIONS.includes(apiVersion)) {
    c.error([], `${kind} ${apiVersion} has no equivalent in secretsync: keep it on External Secrets Operator`);
    return unchanged();
  }
  switch (kind) {
    case 'ExternalSecret':
      convertExternalSecretSpec(c, ['spec']);
      break;
    case 'SecretStore':
    case 'ClusterSecretStore':
      if (!convertStoreSpec(c, ['spec'], kind === 'ClusterSecretStore')) return unchanged();
      break;
    case 'ClusterExternalSecret':
      return expandClusterExternalSecret(c, original);
    default:
      c.error([], `${kind} has no equivalent in secretsync: keep it on External Secrets Operator`);
      return unchanged();
  }
  if (c.findings.some((f) => f.severity === 'error')) return unchanged();
  c.doc.setIn(['apiVersion'], OURS);
  dropUnknownFields(c);
  // What is left invalid (a rule secretsync has and ESO does not) is said, not hidden.
  for (const p of schemaProblems(c.doc.toJS() as Record<string, unknown>)) c.error(pathSegments(p.path), `the converted manifest is still invalid: ${p.message}`);
  return { docs: [c.doc], findings: c.findings, eso: true };
}

/** A ClusterExternalSecret with a namespace list becomes one ExternalSecret per namespace. */
function expandClusterExternalSecret(c: Converter, original: Document): Converted {
  const namespaces = (c.doc.toJS() as { spec?: { namespaces?: string[] } }).spec?.namespaces ?? [];
  if (c.has(['spec', 'namespaceSelector']) || c.has(['spec', 'namespaceSelectors'])) {
    c.warn(['spec', 'namespaceSelectors'], 'namespace selectors cannot be resolved from files: only spec.namespaces are expanded; create the ExternalSecret in each selected namespace');
  }
  if (namespaces.length === 0) {
    c.error(['spec', 'namespaces'], 'secretsync has no ClusterExternalSecret: list the namespaces in spec.namespaces to expand it into one ExternalSecret per namespace');
    return { docs: [original], findings: c.findings, eso: true, unchanged: true };
  }
  const js = c.doc.toJS() as { metadata: { name: string }; spec: { externalSecretName?: string; externalSecretMetadata?: { labels?: object; annotations?: object }; externalSecretSpec: object } };
  c.drop(['spec', 'refreshTime'], 'each ExternalSecret refreshes on its own refreshInterval');
  const docs: Document[] = [];
  for (const ns of namespaces) {
    const es = new Document({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: js.spec.externalSecretName ?? js.metadata.name, namespace: ns, ...js.spec.externalSecretMetadata },
      spec: js.spec.externalSecretSpec,
    });
    const converted = convertDocument(es);
    docs.push(...converted.docs);
    if (ns === namespaces[0]) c.findings.push(...converted.findings.map((f) => ({ ...f, path: `spec.externalSecretSpec${f.path.replace(/^spec/, '')}` })));
  }
  c.warn(['kind'], `ClusterExternalSecret expanded into ${namespaces.length} ExternalSecret(s), one per namespace in spec.namespaces (comments of the original are not carried over)`);
  return { docs, findings: c.findings, eso: true };
}
