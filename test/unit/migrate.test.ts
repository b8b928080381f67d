// ESO manifests and Go templates converted by `secretsync migrate` (the CLI
// itself is run as a child process in test/integration/cli.test.ts).
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { MigrateContext } from '../../src/cli/migrate/context.js';
import { convertDocument } from '../../src/cli/migrate/convert.js';
import { translateGoTemplate, translateRegexpTarget } from '../../src/cli/migrate/go-template.js';
import { keepFormat } from '../../src/cli/migrate/keep-format.js';

describe('Go templates to LiquidJS', () => {
  it.each([
    ['{{ .password }}', '{{ password }}'],
    ['{{- .a.b -}}', '{{- a.b -}}'],
    ['{{ index . "my-key" }} {{ index . "a.b" }}', '{{ my-key }} {{ ["a.b"] }}'],
    ['{{ .v | b64enc | upper }}', '{{ v | b64enc | upper }}'],
    ['{{ b64dec .v }}', '{{ v | b64dec }}'],
    ['{{ .v | fromJson | toYaml }}', '{{ v | fromjson | toyaml }}'],
    ['{{ .pem | filterPEM "CERTIFICATE" }}', '{{ pem | filter_pem: "CERTIFICATE" }}'],
    // ESO's PKCS#12 functions take the archive's bytes: ours read them as base64, so a b64dec before them goes.
    ['{{ .p12 | pkcs12key }} {{ .p12 | pkcs12certPass "pw" }}', '{{ base64.p12 | pkcs12_key }} {{ base64.p12 | pkcs12_cert: "pw" }}'],
    ['{{ .tls | b64dec | pkcs12cert }} {{ index . "a-b" | pkcs12key }}', '{{ tls | pkcs12_cert }} {{ base64.a-b | pkcs12_key }}'],
    ['{{ .pem | filterPEM "private key" }}', '{{ pem | filter_pem: "PRIVATE KEY" }}'],
    ['{{ .v | toString | quote }} {{ .l | fromJson | join "," }} {{ .v | replace "a" "b" }}', '{{ v | quote }} {{ l | fromjson | join: "," }} {{ v | replace: "a", "b" }}'],
    ['text {{ "literal" }}', 'text {{ "literal" }}'],
  ])('%s', (go, liquid) => {
    expect(translateGoTemplate(go)).toEqual({ liquid, untranslated: [] });
  });

  it('keeps what it cannot translate, with the line and why', () => {
    const { liquid, untranslated } = translateGoTemplate('a: {{ .a }}\nb: {{ printf "%s" .b }}\n{{ range .list }}x{{ end }}');
    expect(liquid).toBe('a: {{ a }}\nb: {{ printf "%s" .b }}\n{{ range .list }}x{{ end }}');
    expect(untranslated.map((u) => [u.line, u.action])).toEqual([[2, '{{ printf "%s" .b }}'], [3, '{{ range .list }}'], [3, '{{ end }}']]);
    expect(untranslated[0]!.why).toContain('"printf" is not a function secretsync templates have');
    // The function that is missing is named, not the value before it.
    expect(translateGoTemplate('{{ .certificate | filterCertChain "leaf" }}').untranslated[0]!.why).toContain('"filterCertChain" is not a function');
  });

  it.each([
    ['${1}', '$1'],
    ['$1-x', '$1-x'],
    ['${name}.$other', '$<name>.$<other>'],
    ['$$1', '$$1'],
    ['plain', 'plain'],
  ])('rewrite target %s', (go, ours) => {
    expect(translateRegexpTarget(go)).toBe(ours);
  });
});

describe('ESO manifests', () => {
  const convert = (text: string) => {
    const result = convertDocument(parseDocument(text));
    return { ...result, text: result.docs.map((d) => d.toString()).join('---\n') };
  };

  it('an ExternalSecret keeps its comments and order; fields without an equivalent are removed with a warning', () => {
    const { text, findings } = convert(`# the app's database
apiVersion: external-secrets.io/v1beta1
kind: ExternalSecret
metadata: { name: db }
spec:
  secretStoreRef: { name: vault } # shared store
  data:
    - secretKey: p
      remoteRef: { key: db, property: p, conversionStrategy: Default, nullBytePolicy: Fail }
      sourceRef: { storeRef: { name: vault } }
`);
    expect(text).toContain("# the app's database\napiVersion: secretsync.dev/v1alpha1\nkind: ExternalSecret");
    expect(text).toContain('secretStoreRef: { name: vault } # shared store');
    expect(text).not.toMatch(/conversionStrategy|nullBytePolicy|sourceRef/);
    expect(findings.map((f) => [f.severity, f.path])).toEqual([['warning', 'spec.data[0].remoteRef.nullBytePolicy'], ['warning', 'metadata.annotations.secretsync.dev/adopt-external-secrets']]);
  });

  it('a field whose loss would change the result is an error, and the document stays as it was', () => {
    const { findings, unchanged } = convert(`apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: db }
spec:
  secretStoreRef: { name: vault }
  target: { manifest: { apiVersion: v1, kind: ConfigMap } }
  data:
    - { secretKey: a, remoteRef: { key: db, metadataPolicy: Fetch } }
    - { secretKey: b, remoteRef: { key: db, conversionStrategy: Unicode } }
    - { secretKey: c, remoteRef: { key: db }, sourceRef: { generatorRef: { kind: Password, name: gen } } }
    - { secretKey: d, remoteRef: { key: db }, sourceRef: { storeRef: { name: other } } }
  dataFrom:
    - { extract: { key: db }, rewrite: [{ merge: { into: x } }] }
`);
    expect(unchanged).toBe(true);
    expect(findings.filter((f) => f.severity === 'error').map((f) => f.path)).toEqual([
      'spec.target.manifest',
      'spec.data[1].remoteRef.conversionStrategy',
      'spec.data[2].sourceRef',
      'spec.data[3].sourceRef',
      'spec.dataFrom[0].rewrite[0].merge',
    ]);
  });

  it('refresh: zero is CreatedOnce however it is written, and OnChange stays OnChange', () => {
    for (const zero of ['"0"', '0s', '0m', '0h0m']) expect(convert(`apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: x }\nspec:\n  refreshInterval: ${zero}\n  secretStoreRef: { name: s }\n  data: [{ secretKey: a, remoteRef: { key: a } }]\n`).text).toContain('refreshPolicy: CreatedOnce');
    const onChange = convert('apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: x }\nspec:\n  refreshPolicy: OnChange\n  refreshInterval: "0"\n  secretStoreRef: { name: s }\n  data: [{ secretKey: a, remoteRef: { key: a } }]\n');
    expect(onChange.text).toContain('refreshPolicy: OnChange');
    expect(onChange.text).not.toContain('refreshInterval');
  });

  it('Vault keys are rewritten as ESO reads them, against the store they name', () => {
    const context = new MigrateContext();
    context.addStore({ kind: 'SecretStore', name: 'kv', provider: 'vault', vaultPath: 'secret', vaultVersion: 'v2', refused: false });
    context.addStore({ kind: 'SecretStore', name: 'bare', provider: 'vault', vaultVersion: 'v2', refused: false });
    context.addStore({ kind: 'SecretStore', name: 'ldap', provider: 'vault', vaultVersion: 'v2', refused: true });
    const es = (store: string, key: string) => convertDocument(parseDocument(`apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: x }\nspec:\n  secretStoreRef: { name: ${store} }\n  data: [{ secretKey: a, remoteRef: { key: "${key}" } }]\n`), context);
    const keyOf = (r: ReturnType<typeof es>) => (r.docs[0]!.toJS() as { spec: { data: Array<{ remoteRef: { key: string } }> } }).spec.data[0]!.remoteRef.key;
    expect(keyOf(es('kv', '/dev/config'))).toBe('dev/config');
    expect(keyOf(es('kv', 'secret/data/app'))).toBe('app');
    expect(keyOf(es('kv', 'secret/app'))).toBe('app');
    expect(keyOf(es('kv', 'team/app'))).toBe('team/app');
    expect(keyOf(es('bare', 'secret/team/app'))).toBe('team/app');
    expect(es('bare', 'kv/app').findings[0]).toMatchObject({ severity: 'error', path: 'spec.data[0].remoteRef.key', message: expect.stringContaining('set path: kv on the store') as string });
    expect(es('ldap', 'a').findings[0]).toMatchObject({ severity: 'error', path: 'spec.secretStoreRef', message: expect.stringContaining('cannot be converted') as string });
  });

  it('anchors and aliases are expanded, so dropping an anchored field cannot break the document', () => {
    const { text, findings } = convert('apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: x }\nspec:\n  secretStoreRef: { name: s }\n  data:\n    - secretKey: a\n      remoteRef: &ref { key: a, nullBytePolicy: Fail }\n    - secretKey: b\n      remoteRef: *ref\n');
    expect(findings.map((f) => f.path)).toEqual(['spec.data[0].remoteRef.nullBytePolicy', 'spec.data[1].remoteRef.nullBytePolicy', 'metadata.annotations.secretsync.dev/adopt-external-secrets']);
    expect(text).not.toMatch(/[&*]ref/);
  });

  it('fields it does not know at all are removed by the schema, with a warning; an unknown provider is an error and nothing changes', () => {
    const unknown = convert('apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: x }\nspec:\n  secretStoreRef: { name: s }\n  someFutureField: 1\n  data: [{ secretKey: a, remoteRef: { key: a } }]\n');
    expect(unknown.findings.filter((f) => f.path !== 'metadata.annotations.secretsync.dev/adopt-external-secrets')).toEqual([{ path: 'spec.someFutureField', severity: 'warning', message: expect.stringContaining('no equivalent in secretsync, removed') as string }]);
    const other = convert('apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: { name: x }\nspec:\n  provider:\n    doppler: { auth: {} }\n');
    // openbao is the vault provider's shape under another name.
    expect(convert('apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: { name: x }\nspec:\n  provider:\n    openbao: { server: "https://bao:8200", auth: { tokenSecretRef: { name: t, key: t } } }\n').text).toContain('vault: { server: "https://bao:8200"');
    expect(other.unchanged).toBe(true);
    expect(other.text).toContain('apiVersion: external-secrets.io/v1');
    expect(other.findings[0]).toMatchObject({ severity: 'error', path: 'spec.provider' });
  });

  it('a ClusterExternalSecret maps one to one, selectors included, its ExternalSecret spec converted', () => {
    const { docs, findings } = convert(`apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: { name: pull }
spec:
  namespaceSelectors: [{ matchLabels: { team: a } }]
  namespaces: [b]
  refreshTime: 1m
  externalSecretMetadata: { labels: { x: y } }
  externalSecretSpec:
    refreshInterval: "0"
    secretStoreRef: { name: css, kind: ClusterSecretStore }
    data: [{ secretKey: k, remoteRef: { key: k, conversionStrategy: Default } }]
`);
    expect(docs.map((d) => d.toJS() as object)).toEqual([{
      apiVersion: 'secretsync.dev/v1alpha1',
      kind: 'ClusterExternalSecret',
      metadata: { name: 'pull' },
      spec: {
        namespaceSelectors: [{ matchLabels: { team: 'a' } }],
        namespaces: ['b'],
        refreshTime: '1m',
        // Its ExternalSecrets take over what ESO's wrote, namespace by namespace.
        externalSecretMetadata: { labels: { x: 'y' }, annotations: { 'secretsync.dev/adopt-external-secrets': 'true' } },
        externalSecretSpec: { refreshPolicy: 'CreatedOnce', secretStoreRef: { name: 'css', kind: 'ClusterSecretStore' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] },
      },
    }]);
    expect(findings.map((f) => f.path)).toEqual(['spec.externalSecretSpec.refreshInterval', 'spec.externalSecretMetadata.annotations.secretsync.dev/adopt-external-secrets']);
  });
});

describe('formatting', () => {
  it('only the lines a conversion changes differ; flow maps, list indentation and quotes stay as written', () => {
    const source = `# keep me
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: db, labels: { a: "b" }}
spec:
  secretStoreRef: { name: s }
  data:
  - secretKey: 'user'
    remoteRef: { key: db, property: user, conversionStrategy: Default }
  - secretKey: pass   # the password
    remoteRef:
      key:      db
      property: "pass"
`;
    const original = parseDocument(source);
    const result = convertDocument(original.clone());
    const lines = (t: string) => t.split('\n');
    const out = lines(keepFormat(source, original, result.docs));
    const changed = lines(source).map((l, i) => (l === out[i] ? undefined : i + 1)).filter(Boolean);
    // Line 4 gains the takeover annotation in its flow map.
    expect(changed).toEqual([2, 4, 9]);
    expect(out[3]).toBe('metadata: { name: db, labels: { a: "b" }, annotations: { secretsync.dev/adopt-external-secrets: "true" } }');
    expect(out[8]).toBe('    remoteRef: { key: db, property: user }');
  });
});

describe('migrate --help', () => {
  it('says that a field with no equivalent is an error (the document stays as it was), not that everything is a warning', async () => {
    const { buildProgram } = await import('../../src/cli/main.js');
    // What `secretsync migrate --help` prints, added help text included.
    let help = '';
    const program = buildProgram(() => undefined).configureOutput({ writeOut: (text) => void (help += text) });
    program.commands.forEach((c) => c.configureOutput({ writeOut: (text) => void (help += text) }));
    await program.parseAsync(['node', 'secretsync', 'migrate', '--help']).catch(() => undefined);
    expect(help).not.toMatch(/every field without an equivalent is a warning/i);
    expect(help).toMatch(/no equivalent for is an error/);
    expect(help).toMatch(/kubectl get \.\.\. -o yaml/);
  });
});
