// `secretsync validate <files|dirs|->`: every secretsync manifest checked
// offline against the CRD schemas and CEL rules (what the API server would
// refuse) and by the operator's own semantic checks (what it would report as
// Ready=False before calling any provider). External Secrets Operator
// manifests are pointed at `secretsync migrate`; other kinds are skipped.
import type { AnyStore, ExternalSecretSpec } from '../api/types.js';
import { loadProvider } from '../providers/registry.js';
import { schemaProblems } from '../validation/schema.js';
import { externalSecretProblems, storeProblems } from '../validation/semantic.js';
import { asText, readManifests, type Manifest } from './manifests.js';
import { ESO_VERSIONS, GENERATOR_KINDS } from './migrate/convert.js';
import { pushPlan } from '../secrets/push-plan.js';
import type { PushSecretSpec } from '../api/types.js';
import { progress, styler } from './style.js';

export interface Finding {
  file: string;
  line: number;
  kind?: string;
  name?: string;
  path?: string;
  severity: 'error' | 'warning';
  message: string;
}

const GROUP = 'secretsync.dev/';
const ESO_GROUP = /^([a-z.]+\.)?external-secrets\.io\//;
/** What `secretsync migrate` converts. */
const MIGRATED_KINDS = ['ExternalSecret', 'SecretStore', 'ClusterSecretStore', 'ClusterExternalSecret', 'PushSecret', ...GENERATOR_KINDS];

/** Problems of one manifest; [] when it is valid or not ours. */
export async function checkManifest(m: Manifest): Promise<Finding[]> {
  const at = (path: string | undefined, message: string, severity: Finding['severity'] = 'error'): Finding => ({
    file: m.file, line: path ? m.lineOf(path) : m.lineOf(''), kind: m.kind, name: m.name, path, severity, message,
  });
  const apiVersion = asText(m.obj.apiVersion);
  if (ESO_GROUP.test(apiVersion)) {
    const convertible = ESO_VERSIONS.includes(apiVersion) && MIGRATED_KINDS.includes(m.kind);
    return [at(undefined, convertible ? `an External Secrets Operator ${m.kind}: convert it with \`secretsync migrate\`` : `an External Secrets Operator ${m.kind} (${apiVersion}): secretsync has no equivalent yet; keep it on External Secrets Operator`, 'warning')];
  }
  if (!apiVersion.startsWith(GROUP)) return [];
  const schema = schemaProblems(m.obj);
  if (schema.length > 0) return schema.map((p) => at(p.path, p.message));
  const spec = m.obj.spec as ExternalSecretSpec & AnyStore['spec'];
  if (m.kind === 'ExternalSecret') return (await externalSecretProblems(spec)).map((p) => at(p.path, `${p.message} (the operator reports ${p.reason})`));
  // Schema and CEL say all there is to say about a generator.
  if (GENERATOR_KINDS.includes(m.kind)) return [];
  if (m.kind === 'PushSecret') {
    const spec = m.obj.spec as PushSecretSpec;
    const out: Finding[] = [];
    // Entries that write one remote key two ways, found as the operator would find them (any value will do).
    try {
      pushPlan(spec, Object.fromEntries(spec.data.flatMap((d) => (d.match.secretKey ? [[d.match.secretKey, new Uint8Array()]] : []))));
    } catch (err) {
      out.push(at('spec.data', `${(err as Error).message} (the operator reports ${(err as { reason?: string }).reason ?? 'InvalidPushSecret'})`));
    }
    if (!spec.template) return out;
    // Its template is checked as an ExternalSecret's would be.
    const problems = await externalSecretProblems({ target: { template: spec.template } });
    return [...out, ...problems.map((p) => at(p.path.replace(/^spec\.target\.template/, 'spec.template'), p.message))];
  }
  if (m.kind === 'ClusterExternalSecret') {
    // What each stamped ExternalSecret would report.
    const stamped = (m.obj.spec as { externalSecretSpec: ExternalSecretSpec }).externalSecretSpec;
    return (await externalSecretProblems(stamped)).map((p) => at(p.path.replace(/^spec\./, 'spec.externalSecretSpec.'), `${p.message} (each ExternalSecret reports ${p.reason})`));
  }
  // A SecretStore without a namespace in the file is applied into one later: its refs must not name another.
  const metadata = m.obj.metadata as { name: string; namespace?: string };
  const store = { ...m.obj, metadata: { ...metadata, namespace: m.kind === 'SecretStore' ? (metadata.namespace ?? 'default') : undefined } } as unknown as AnyStore;
  const { problems } = await storeProblems(store, loadProvider);
  return problems.map((message) => at('spec.provider', message));
}

export async function validate(inputs: string[], opts: { output: 'text' | 'json' }): Promise<number> {
  const { manifests, problems } = await readManifests(inputs, progress('validating'));
  const findings: Finding[] = problems.map((p) => ({ ...p, severity: 'error' as const }));
  let checked = 0;
  for (const m of manifests) {
    if (asText(m.obj.apiVersion).startsWith(GROUP)) checked++;
    findings.push(...(await checkManifest(m)));
  }
  const errors = findings.filter((f) => f.severity === 'error').length;
  if (opts.output === 'json') {
    process.stdout.write(`${JSON.stringify({ checked, errors, findings }, null, 2)}\n`);
  } else {
    const s = styler(process.stdout);
    for (const f of findings) {
      const what = f.kind ? `${f.kind}/${f.name}: ` : '';
      const level = f.severity === 'error' ? s.red('error') : s.yellow('warning');
      process.stdout.write(`${f.file}:${f.line}: ${level}: ${what}${f.path ? `${f.path}: ` : ''}${f.message}\n`);
    }
    const summary = `${checked} secretsync manifest(s) checked, ${errors} error(s)`;
    process.stderr.write(`${errors > 0 ? s.red(summary) : s.green(summary)}\n`);
  }
  return errors > 0 ? 1 : 0;
}
