import forge from 'node-forge';
import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../../src/api/types.js';
import { shapeSecret } from '../../src/secrets/shape.js';
import { render, templateScope } from '../../src/util/template-engine.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (v: Uint8Array | undefined) => Buffer.from(v ?? []).toString('utf8');
const es = (template: NonNullable<NonNullable<ExternalSecret['spec']['target']>['template']>): ExternalSecret => ({
  metadata: { name: 'es', namespace: 'ns' },
  spec: { secretStoreRef: { name: 's' }, target: { template } },
});

describe('template functions', () => {
  const scope = templateScope({ user: bytes('admin'), json: bytes('{"a":{"b":"c"}}'), yaml: bytes('k: v\ncount: 1\nn: x'), said: bytes('say "hi"\n') });

  it.each([
    ['{{ user | b64enc }}', 'YWRtaW4='],
    ['{{ "YWRtaW4=" | b64dec }}', 'admin'],
    ['{{ json | fromjson | map: "a" | first | map: "b" | first }}', 'c'],
    ['{% assign o = json | fromjson %}{{ o.a.b }}', 'c'],
    ['{% assign o = yaml | fromyaml %}{{ o.k }}-{{ o.count }}', 'v-1'],
    // YAML 1.1, as ESO reads it: the key n is the boolean false.
    ['{{ yaml | fromyaml | tojson }}', '{"count":1,"false":"x","k":"v"}'],
    ['{{ json | fromjson | toyaml }}', 'a:\n  b: c'],
    ['{{ said | quote }} {{ user | squote }}', '"say \\"hi\\"\\n" \'admin\''],
    ['{{ user | upper }} {{ "ABC" | lower }} [{{ "  x  " | trim }}]', 'ADMIN abc [x]'],
    ['{{ missing | default: "fallback" }}', 'fallback'],
    ['{% assign o = json | fromjson %}{{ o | tojson }}', '{"a":{"b":"c"}}'],
    ['{{ base64.user }}', 'YWRtaW4='],
  ])('%s', async (source, expected) => {
    expect(await render(source, scope, 't')).toBe(expected);
  });

  it('splits and filters PEM bundles', async () => {
    const bundle = '-----BEGIN CERTIFICATE-----\nAAA\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n';
    const s = templateScope({ bundle: bytes(bundle) });
    expect(await render('{{ bundle | filter_pem: "PRIVATE KEY" }}', s, 't')).toBe('-----BEGIN PRIVATE KEY-----\nBBB\n-----END PRIVATE KEY-----\n');
    expect(await render('{{ bundle | pem_blocks | size }}', s, 't')).toBe('2');
  });

  it('turns a PKCS#12 archive into PEM certificate and key', async () => {
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = '01';
    cert.validity.notBefore = new Date();
    cert.validity.notAfter = new Date(Date.now() + 86_400_000);
    cert.setSubject([{ name: 'commonName', value: 'p12.test' }]);
    cert.setIssuer([{ name: 'commonName', value: 'p12.test' }]);
    cert.sign(keys.privateKey);
    const p12 = forge.asn1.toDer(forge.pkcs12.toPkcs12Asn1(keys.privateKey, [cert], 'pw')).getBytes();
    const s = templateScope({ store: Buffer.from(p12, 'binary') });
    const certPem = await render('{{ base64.store | pkcs12_cert: "pw" }}', s, 't');
    expect((forge.pki.certificateFromPem(certPem).subject.getField('CN') as { value: string }).value).toBe('p12.test');
    expect(await render('{{ base64.store | pkcs12_key: "pw" }}', s, 't')).toContain('-----BEGIN PRIVATE KEY-----');
    await expect(render('{{ base64.store | pkcs12_key: "wrong" }}', s, 't')).rejects.toThrow(/password is wrong/);
  });
});

describe('hostile templates', () => {
  const scope = templateScope({ password: bytes('p@ssw0rd-value') });

  it('an endless loop is stopped', async () => {
    const started = Date.now();
    await expect(render('{% for i in (1..100000000) %}{% for j in (1..100000000) %}x{% endfor %}{% endfor %}', scope, 't')).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('cannot reach prototypes or constructors', async () => {
    expect(await render('{{ password.constructor }}{{ password.__proto__ }}{{ constructor.constructor }}{{ base64.constructor }}', scope, 't')).toBe('');
    expect(await render('{% assign x = "__proto__" %}{{ password[x] }}', scope, 't')).toBe('');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('cannot include files', async () => {
    await expect(render('{% include "/etc/passwd" %}', scope, 't')).rejects.toThrow();
    await expect(render("{% render 'secrets' %}", scope, 't')).rejects.toThrow();
    await expect(render('{% layout "x" %}', scope, 't')).rejects.toThrow();
  });

  it('unknown filters are errors, not silently ignored', async () => {
    await expect(render('{{ password | exec: "id" }}', scope, 't')).rejects.toThrow(/undefined filter: exec/);
  });

  it('errors never carry the value', async () => {
    const err = await shapeSecret(es({ data: { x: '{{ password | fromjson }}' } }), { password: bytes('p@ssw0rd-value') }).catch((e: Error) => e);
    expect((err as Error).message).toContain('fromjson: input is not valid JSON');
    expect((err as Error).message).not.toContain('p@ssw0rd-value');
  });
});

describe('shapeSecret', () => {
  const data = { user: bytes('admin'), pass: bytes('pw') };

  it('template.data replaces by default, merges with mergePolicy Merge', async () => {
    const replaced = await shapeSecret(es({ data: { dsn: 'postgres://{{ user }}:{{ pass }}@db' } }), data);
    expect(Object.keys(replaced.data)).toEqual(['dsn']);
    expect(text(replaced.data.dsn)).toBe('postgres://admin:pw@db');
    const merged = await shapeSecret(es({ mergePolicy: 'Merge', data: { dsn: '{{ user }}' } }), data);
    expect(Object.keys(merged.data).sort()).toEqual(['dsn', 'pass', 'user']);
  });

  it('templates labels, annotations and type', async () => {
    const shaped = await shapeSecret(es({ type: '{{ "kubernetes.io/basic-auth" }}', metadata: { labels: { who: '{{ user }}' }, annotations: { n: '{{ pass | size }}' } } }), { username: bytes('u') });
    expect(shaped).toMatchObject({ type: 'kubernetes.io/basic-auth', labels: { who: '' }, annotations: { n: '0' } });
  });

  it('says which key a typed Secret is missing', async () => {
    await expect(shapeSecret(es({ type: 'kubernetes.io/tls', data: { 'tls.crt': '{{ user }}' } }), data)).rejects.toThrow('a kubernetes.io/tls Secret needs key "tls.key"');
    await expect(shapeSecret(es({ type: 'kubernetes.io/basic-auth' }), data)).rejects.toThrow('needs at least one of "username", "password"');
    await expect(shapeSecret(es({ type: 'kubernetes.io/ssh-auth' }), data)).rejects.toThrow('"ssh-privatekey"');
    await expect(shapeSecret(es({ type: 'kubernetes.io/dockerconfigjson' }), data)).rejects.toThrow('".dockerconfigjson"');
  });

  it('templateFrom: literal, ConfigMap items as values or keys-and-values', async () => {
    const shaped = await shapeSecret(
      es({
        templateFrom: [
          { literal: 'from-literal: "{{ user }}"' },
          { configMap: { name: 'tpl', items: [{ key: 'config.yaml' }, { key: 'kv', templateAs: 'KeysAndValues' }] } },
          { target: 'Annotations', literal: 'note: "{{ pass | upper }}"' },
        ],
      }),
      data,
      {
        readSource: (kind, name) => {
          const sources: Record<string, Record<string, Uint8Array>> = {
            'ConfigMap/tpl': { 'config.yaml': bytes('user: {{ user }}'), kv: bytes('{{ user }}-key: "{{ pass }}"') },
          };
          return Promise.resolve(sources[`${kind}/${name}`] ?? {});
        },
      },
    );
    expect(Object.fromEntries(Object.entries(shaped.data).map(([k, v]) => [k, text(v)]))).toEqual({ 'from-literal': 'admin', 'config.yaml': 'user: admin', 'admin-key': 'pw' });
    expect(shaped.annotations).toEqual({ note: 'PW' });
  });
});
