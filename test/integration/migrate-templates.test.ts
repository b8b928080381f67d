// migrate's template conversion held to External Secrets Operator itself:
// each Go template is rendered by ESO's own engine (tools/eso-template, its
// pkg/template/v2 built from the Go module proxy) and, converted, by
// secretsync's; the outputs must be the same bytes. A template migrate
// cannot convert must be reported as an error, never converted into
// something that renders differently.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import forge from 'node-forge';
import { beforeAll, describe, expect, it } from 'vitest';
import { translateGoTemplate } from '../../src/cli/migrate/go-template.js';
import { render, templateScope } from '../../src/util/template-engine.js';

const ORACLE = join(process.env.HOME ?? '', '.cache/secretsync/eso-template-0.16.2/eso-template');

type Data = Record<string, Buffer>;
interface Rendered {
  output?: string;
  error?: string;
}

/** Renders every case with ESO's engine in one process. */
function eso(cases: Array<{ template: string; data: Data }>): Promise<Rendered[]> {
  return new Promise((resolve, reject) => {
    const child = execFile(ORACLE, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}: ${stderr}`));
      else resolve(JSON.parse(stdout) as Rendered[]);
    });
    const input = cases.map((c) => ({ template: c.template, data: Object.fromEntries(Object.entries(c.data).map(([k, v]) => [k, v.toString('base64')])) }));
    child.stdin!.end(JSON.stringify(input));
  });
}

async function ours(template: string, data: Data): Promise<Rendered> {
  const { liquid, untranslated } = translateGoTemplate(template);
  if (untranslated.length > 0) return { error: `not converted: ${untranslated.map((u) => u.why).join('; ')}` };
  try {
    return { output: Buffer.from(await render(liquid, templateScope(data), 'template')).toString('base64') };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

function pkcs12(password: string): { der: Buffer; cn: string } {
  const keys = forge.pki.rsa.generateKeyPair(1024);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01';
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: 'migrate.test' }]);
  cert.setIssuer([{ name: 'commonName', value: 'migrate.test' }]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  const asn1 = forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], password, { algorithm: '3des' });
  return { der: Buffer.from(forge.asn1.toDer(asn1).getBytes(), 'binary'), cn: 'migrate.test' };
}

const pem = [
  '-----BEGIN CERTIFICATE-----\nMIIBAA==\n-----END CERTIFICATE-----\n',
  '-----BEGIN RSA PRIVATE KEY-----\nMIIBAQ==\n-----END RSA PRIVATE KEY-----\n',
].join('');

describe('Go templates converted by migrate render what External Secrets Operator renders', () => {
  let archive: Buffer;
  let protectedArchive: Buffer;
  beforeAll(() => {
    archive = pkcs12('').der;
    protectedArchive = pkcs12('s3cret').der;
  });
  const text = (v: string) => Buffer.from(v);

  it('the same output, byte for byte, for every function migrate converts', async () => {
    const data = (): Data => ({
      user: text('admin'),
      password: text('p@ss "quoted" \\ tab\there\nline'),
      'db-host': text('db.internal'),
      json: text('{"b":1,"a":{"z":true,"y":[1,2]},"s":"x<&>y","n":null}'),
      yaml: text('b: 1\na:\n  z: true\n  y: [1, 2]\ns: text\n'),
      tricky: text('{"on":"off","ver":"1.0","multi":"a\\nb\\n","empty":{},"objs":[{"k":"v","n":[]}],"num":1.5,"big":12345678901,"date":"2024-01-01","star":"*x","colon":"a: b","hash":"# c","blank":""}'),
      trickyYaml: text('on: off\nver: 1.0\nmulti: |\n  a\n  b\nobjs:\n- k: v\nnum: 1.5\nbig: 12345678901\ndate: 2024-01-01\n'),
      list: text('["a","b","c"]'),
      encoded: text(Buffer.from('decoded text').toString('base64')),
      bundle: text(pem),
      spaced: text('  padded  '),
      unicode: text('héllo wörld ✓'),
      p12: archive,
      p12b64: text(archive.toString('base64')),
      p12pw: protectedArchive,
    });
    const templates = [
      '{{ .user }}',
      '{{- .user -}} / {{ index . "db-host" }}',
      'postgres://{{ .user }}:{{ .password }}@{{ index . "db-host" }}:5432/app',
      '{{ .user | b64enc }} {{ b64enc .user }}',
      '{{ .encoded | b64dec }}',
      '{{ .json | fromJson | toJson }}',
      '{{ .yaml | fromYaml | toJson }}',
      '{{ .json | fromJson | toYaml }}',
      '{{ .tricky | fromJson | toYaml }}',
      '{{ .trickyYaml | fromYaml | toJson }}',
      '{{ .tricky | fromJson | toJson }}',
      '{{ .list | fromJson | join "," }}',
      '{{ .user | upper }} {{ .user | lower }} [{{ .spaced | trim }}]',
      '{{ .password | quote }}',
      '{{ .unicode | quote }} {{ .user | squote }}',
      '{{ .user | toString }}',
      '{{ .password | replace "\\"" "\'" }}',
      '{{ .bundle | filterPEM "CERTIFICATE" }}',
      '{{ .bundle | filterPEM "rsa private key" }}',
      '{{ .p12 | pkcs12cert }}',
      '{{ .p12 | pkcs12key }}',
      '{{ .p12b64 | b64dec | pkcs12cert }}',
      '{{ .p12b64 | b64dec | pkcs12key }}',
      '{{ .p12pw | pkcs12certPass "s3cret" }}',
      '{{ .p12pw | pkcs12keyPass "s3cret" }}',
      'plain text, no actions',
    ];
    const cases = templates.map((template) => ({ template, data: data() }));
    const expected = await eso(cases);
    const shown = (r: Rendered) => (r.output === undefined ? `error: ${r.error}` : Buffer.from(r.output, 'base64').toString());
    const got = await Promise.all(cases.map(async (c) => ({ template: c.template, output: shown(await ours(c.template, c.data)) })));
    expect(got).toEqual(cases.map((c, i) => ({ template: c.template, output: shown(expected[i]!) })));
  });

  it('what cannot be converted is reported, never rendered differently', async () => {
    const data: Data = { a: text('1'), tls: text(pem), list: text('[1,2]') };
    const templates = [
      '{{ if .a }}yes{{ end }}',
      '{{ range $k, $v := . }}{{ $k }}{{ end }}',
      '{{ printf "%s-%s" .a .a }}',
      '{{ .tls | filterCertChain "leaf" }}',
      '{{ .a | default "x" }}',
      '{{ .a | pkcs12key | b64enc }}{{ .a | b64enc | pkcs12key }}',
      '{% raw %}{{ .a }}',
    ];
    for (const template of templates) {
      const got = await ours(template, data);
      expect(got.error, template).toMatch(/^not converted: /);
    }
    // The function ESO meant is the one named.
    expect((await ours('{{ .tls | filterCertChain "leaf" }}', data)).error).toContain('"filterCertChain" is not a function secretsync templates have');
  });
});

describe('migrated corpus manifests, rendered by `secretsync render --values`, give what ESO renders from the originals', () => {
  const root = join(import.meta.dirname, '../..');
  const work = mkdtempSync(join(tmpdir(), 'migrate-render-'));
  const cli = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(root, 'dist/bundle/main.mjs'), ...args], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }));
    });
  type Es = { metadata: { name: string }; spec: { target?: { template?: { data?: Record<string, string> } } } };
  const externalSecrets = (file: string) => parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as Es);
  const out = join(work, 'out');
  let migrated: Promise<{ code: number; stderr: string }> | undefined;

  it.each([
    ['tls-from-pfx', () => ({ pfx: pkcs12('').der.toString('base64'), chain: 'unused' })],
    ['registry', () => ({ config: '{"auths":{"registry.example":{"auth":"dXNlcjpwYXNz"}}}' })],
    ['database', () => ({ username: 'app', password: ' p@ss<&> ', team: 'Payments', config: '{"b":1,"a":[true,null]}' })],
  ])('%s', async (name, values) => {
    const { code, stderr } = await (migrated ??= cli(['migrate', join(root, 'test/corpus/eso'), '--out-dir', out]));
    expect(code, stderr).toBe(0);
    const original = externalSecrets(join(root, 'test/corpus/eso/externalsecrets.yaml')).find((e) => e.metadata.name === name || (e as { spec: { externalSecretName?: string } }).spec.externalSecretName === name)!;
    const templates = original.spec.target?.template?.data ?? (original.spec as { externalSecretSpec?: Es['spec'] }).externalSecretSpec!.target!.template!.data!;
    const docs = externalSecrets(join(out, 'externalsecrets.yaml'));
    // A ClusterExternalSecret's template is rendered as the ExternalSecret it stamps.
    const stamped = docs.find((e) => (e.spec as { externalSecretName?: string }).externalSecretName === name) as { spec: { externalSecretSpec: Es['spec'] } } | undefined;
    const converted = docs.find((e) => e.metadata.name === name) ?? ({ apiVersion: 'secretsync.dev/v1alpha1', kind: 'ExternalSecret', metadata: { name }, spec: stamped!.spec.externalSecretSpec } as Es);
    // Render reads templateFrom sources from the cluster: here only the inline templates are compared.
    delete (converted.spec.target!.template as { templateFrom?: unknown }).templateFrom;
    const given = values();
    writeFileSync(join(work, `${name}.yaml`), stringify(converted));
    writeFileSync(join(work, `${name}.values.yaml`), stringify(given));
    const rendered = await cli(['render', join(work, `${name}.yaml`), '--values', join(work, `${name}.values.yaml`), '--show-values']);
    expect(rendered.code, rendered.stderr).toBe(0);
    const secret = parse(rendered.stdout) as { data?: Record<string, string>; stringData?: Record<string, string> };
    const ours = (key: string) => secret.stringData?.[key] ?? Buffer.from(secret.data?.[key] ?? '', 'base64').toString();
    const keys = Object.keys(templates);
    const expected = await eso(keys.map((k) => ({ template: templates[k]!, data: Object.fromEntries(Object.entries(given).map(([v, t]) => [v, Buffer.from(t)])) })));
    expect(Object.fromEntries(keys.map((k) => [k, ours(k)]))).toEqual(Object.fromEntries(keys.map((k, i) => [k, Buffer.from(expected[i]!.output ?? `ESO failed: ${expected[i]!.error}`, 'base64').toString()])));
  });
});
