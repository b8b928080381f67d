// ESO manifests and Go templates converted by `secretsync migrate` (the CLI
// itself is run as a child process in test/integration/cli.test.ts).
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { convertDocument } from '../../src/cli/migrate/convert.js';
import { translateGoTemplate } from '../../src/cli/migrate/go-template.js';

describe('Go templates to LiquidJS', () => {
  it.each([
    ['{{ .password }}', '{{ password }}'],
    ['{{- .a.b -}}', '{{- a.b -}}'],
    ['{{ index . "my-key" }} {{ index . "a.b" }}', '{{ my-key }} {{ ["a.b"] }}'],
    ['{{ .v | b64enc | upper }}', '{{ v | b64enc | upper }}'],
    ['{{ b64dec .v }}', '{{ v | b64dec }}'],
    ['{{ .v | fromJson | toYaml }}', '{{ v | fromjson | toyaml }}'],
    ['{{ .pem | filterPEM "CERTIFICATE" }}', '{{ pem | filter_pem: "CERTIFICATE" }}'],
    ['{{ .p12 | pkcs12key }} {{ .p12 | pkcs12certPass "pw" }}', '{{ p12 | pkcs12_key: "" }} {{ p12 | pkcs12_cert: "pw" }}'],
    ['text {{ "literal" }}', 'text {{ "literal" }}'],
  ])('%s', (go, liquid) => {
    expect(translateGoTemplate(go)).toEqual({ liquid, untranslated: [] });
  });

  it('keeps what it cannot translate, with the line and why', () => {
    const { liquid, untranslated } = translateGoTemplate('a: {{ .a }}\nb: {{ printf "%s" .b }}\n{{ range .list }}x{{ end }}');
    expect(liquid).toBe('a: {{ a }}\nb: {{ printf "%s" .b }}\n{{ range .list }}x{{ end }}');
    expect(untranslated.map((u) => [u.line, u.action])).toEqual([[2, '{{ printf "%s" .b }}'], [3, '{{ range .list }}'], [3, '{{ end }}']]);
    expect(untranslated[0]!.why).toContain('"printf" is not a function secretsync templates have');
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
      remoteRef: { key: db, property: p, conversionStrategy: Unicode, nullBytePolicy: Fail }
      sourceRef: { generatorRef: { kind: Password, name: gen } }
`);
    expect(text).toContain("# the app's database\napiVersion: secretsync.dev/v1alpha1\nkind: ExternalSecret");
    expect(text).toContain('secretStoreRef: { name: vault } # shared store');
    expect(text).not.toMatch(/conversionStrategy|nullBytePolicy|sourceRef/);
    expect(findings.map((f) => [f.severity, f.path])).toEqual([
      ['warning', 'spec.data[0].remoteRef.conversionStrategy'],
      ['warning', 'spec.data[0].remoteRef.nullBytePolicy'],
      ['warning', 'spec.data[0].sourceRef'],
    ]);
  });

  it('fields it does not know at all are removed by the schema, with a warning; an unknown provider is an error and nothing changes', () => {
    const unknown = convert('apiVersion: external-secrets.io/v1\nkind: ExternalSecret\nmetadata: { name: x }\nspec:\n  secretStoreRef: { name: s }\n  someFutureField: 1\n  data: [{ secretKey: a, remoteRef: { key: a } }]\n');
    expect(unknown.findings).toEqual([{ path: 'spec.someFutureField', severity: 'warning', message: expect.stringContaining('no equivalent in secretsync, removed') as string }]);
    const other = convert('apiVersion: external-secrets.io/v1\nkind: SecretStore\nmetadata: { name: x }\nspec:\n  provider:\n    doppler: { auth: {} }\n');
    expect(other.unchanged).toBe(true);
    expect(other.text).toContain('apiVersion: external-secrets.io/v1');
    expect(other.findings[0]).toMatchObject({ severity: 'error', path: 'spec.provider' });
  });

  it('a ClusterExternalSecret with namespaces becomes one ExternalSecret per namespace', () => {
    const { docs, findings } = convert(`apiVersion: external-secrets.io/v1
kind: ClusterExternalSecret
metadata: { name: pull }
spec:
  namespaces: [a, b]
  externalSecretMetadata: { labels: { x: y } }
  externalSecretSpec:
    secretStoreRef: { name: css, kind: ClusterSecretStore }
    data: [{ secretKey: k, remoteRef: { key: k } }]
`);
    expect(docs.map((d) => d.toJS() as { apiVersion: string; metadata: object })).toEqual([
      expect.objectContaining({ apiVersion: 'secretsync.dev/v1alpha1', metadata: { name: 'pull', namespace: 'a', labels: { x: 'y' } } }),
      expect.objectContaining({ apiVersion: 'secretsync.dev/v1alpha1', metadata: { name: 'pull', namespace: 'b', labels: { x: 'y' } } }),
    ]);
    expect(findings.some((f) => f.message.includes('expanded into 2 ExternalSecret(s)'))).toBe(true);
  });
});
