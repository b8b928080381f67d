// The `secretsync` CLI as a user runs it: the built bundle as a child process,
// on files, stdin, and the local control plane. validate agrees with the API
// server (the corpus test in malformed.test.ts checks that on every manifest);
// migrate turns the ESO corpus (test/corpus/eso, every field of its v1 API for
// our providers) into manifests that pass validate and the API server, and one
// migrated ExternalSecret syncs end to end through OpenBao.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createCredentialSecret, decoded, getSecret, kubectl, newNamespace, providerEnv, stateDir, useOperator, waitForReady } from './harness.js';

const root = join(import.meta.dirname, '../..');
const bundle = join(root, 'dist/bundle/main.mjs');
const work = mkdtempSync(join(tmpdir(), 'secretsync-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input?: string, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bundle, ...args], { env: { ...process.env, KUBECONFIG: join(stateDir(), 'kubeconfig'), ...env }, maxBuffer: 16 << 20 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

const file = (name: string, text: string) => {
  const path = join(work, name);
  writeFileSync(path, text);
  return path;
};

describe('secretsync CLI', () => {
  it('render runs generators from the given files: a Password through a template, no store needed; a missing generator is named', async () => {
    const es = file('generated.yaml', `apiVersion: secretsync.dev/v1alpha1
kind: Password
metadata: { name: pw, namespace: gen }
spec: { length: 16, symbols: 0, digits: 4 }
---
apiVersion: secretsync.dev/v1alpha1
kind: ExternalSecret
metadata: { name: db, namespace: gen }
spec:
  dataFrom:
    - sourceRef: { generatorRef: { kind: Password, name: pw } }
  target:
    template:
      data: { dsn: "postgres://app:{{ password }}@db" }
`);
    const shown = await cli(['render', es, '--show-values']);
    expect(shown.stderr).toBe('');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/dsn: postgres:\/\/app:[A-Za-z0-9]{16}@db/);
    const masked = await cli(['render', es]);
    expect(masked.stdout).toContain('dsn: "<masked: 34 bytes');
    const missing = await cli(['render', file('missing.yaml', readFileSync(es, 'utf8').split('---')[1]!)]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr + missing.stdout).toContain('Password "pw" not found in namespace "gen"');
  });

  it('validate: file:line messages and exit 1 on errors, JSON for CI, stdin, exit 0 on clean input', async () => {
    const bad = file('bad.yaml', `apiVersion: secretsync.dev/v1alpha1
kind: ExternalSecret
metadata:
  name: db
spec:
  secretStoreRef: { name: vault }
  refreshInterval: 1h
  target:
    template:
      data:
        url: "{{ user | nosuchfilter }}"
  data:
    - secretKey: user
      remoteRef: { key: db, property: user, colour: blue }
---
apiVersion: secretsync.dev/v1alpha1
kind: SecretStore
metadata: { name: vault }
spec:
  provider:
    vault:
      server: https://vault.example
      auth: { tokenSecretRef: { name: t, key: t }, appRole: { roleId: r, secretRef: { name: s, key: k } } }
`);
    const text = await cli(['validate', bad]);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`${bad}:14: error: ExternalSecret/db: spec.data[0].remoteRef: unknown field "spec.data[0].remoteRef.colour"`);
    expect(text.stdout).toMatch(new RegExp(`${bad}:2\\d: error: SecretStore/vault: spec.provider.vault.auth: Invalid value: vault.auth needs exactly one`));
    // No colour codes when the output is not a terminal.
    expect(text.stdout).not.toContain('\u001b[');

    const json = await cli(['validate', '--output', 'json', bad]);
    expect(json.code).toBe(1);
    const report = JSON.parse(json.stdout) as { checked: number; errors: number; findings: Array<{ file: string; line: number; path: string }> };
    expect(report.checked).toBe(2);
    expect(report.errors).toBe(2);

    // Once the schema passes, the operator's own checks run: the template filter.
    const templateOnly = readFileSync(bad, 'utf8').replace(', colour: blue', '').replace(', appRole: { roleId: r, secretRef: { name: s, key: k } }', '');
    const stdin = await cli(['validate', '-'], templateOnly);
    expect(stdin.code).toBe(1);
    expect(stdin.stdout).toContain('<stdin>:11: error: ExternalSecret/db: spec.target.template.data["url"]: template failed: template.data["url"]: undefined filter: nosuchfilter');
    expect(stdin.stdout).toContain('(the operator reports TemplateError)');

    const clean = await cli(['validate', '-'], templateOnly.replace(' | nosuchfilter', ' | upcase'));
    expect(clean).toMatchObject({ code: 0, stdout: '' });
    expect(clean.stderr).toContain('2 secretsync manifest(s) checked, 0 error(s)');
  });

  it('render: the Secret with values masked, --values for templates without a provider, template errors with key and line', async () => {
    const es = file('render-es.yaml', `apiVersion: secretsync.dev/v1alpha1
kind: ExternalSecret
metadata: { name: db, namespace: app }
spec:
  secretStoreRef: { name: fake }
  target:
    template:
      type: kubernetes.io/basic-auth
      data:
        username: "{{ user }}"
        password: "{{ password }}"
  data:
    - { secretKey: user, remoteRef: { key: db, property: user } }
    - { secretKey: password, remoteRef: { key: db, property: password } }
`);
    const store = file('render-store.yaml', `apiVersion: secretsync.dev/v1alpha1
kind: SecretStore
metadata: { name: fake, namespace: app }
spec:
  provider:
    fake:
      data: [{ key: db, value: '{"user":"alice","password":"render-canary-s3cret"}' }]
`);
    const masked = await cli(['render', es, '--store', store]);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toContain('type: kubernetes.io/basic-auth');
    expect(masked.stdout).toMatch(/password: "<masked: 20 bytes, sha256:[0-9a-f]{12}>"/);
    expect(masked.stdout + masked.stderr).not.toContain('render-canary-s3cret');

    const values = file('values.yaml', 'user: bob\npassword: hunter2\n');
    const shown = await cli(['render', es, '--values', values, '--show-values']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('password: hunter2');

    const broken = file('render-broken.yaml', readFileSync(es, 'utf8').replace('"{{ password }}"', '"{{ password }}{% if x %}"'));
    const failed = await cli(['render', broken, '--values', values]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/render failed \(TemplateError\): template failed: template\.data\["password"\]: tag \{% if x %\} not closed, line:1, col:\d+/);
  });

  it('explain, help, completion and exit codes', async () => {
    const explained = await cli(['explain', 'storenotallowed']);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain('What to do:');
    expect((await cli(['explain', 'NoSuchReason'])).code).toBe(1);
    for (const command of ['validate', 'render', 'diff', 'migrate', 'release-eso', 'explain', 'completion']) {
      const help = await cli([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain('Example');
    }
    expect((await cli(['help'])).stdout).toContain('Exit codes:');
    expect((await cli(['validate'])).code).toBe(1); // a usage error
    const bash = await cli(['completion', 'bash']);
    expect(bash.stdout).toContain('complete -o filenames -F _secretsync secretsync');
    expect(bash.stdout).toContain('validate render diff migrate release-eso explain completion run');
    expect((await cli(['completion', 'zsh'])).stdout).toContain('#compdef secretsync');
    // The operator's flags live behind `run` (and flags alone, as the Deployment passes them).
    expect((await cli(['run', '--help'])).stdout).toContain('--leader-elect');
  });

  it('migrate: the ESO corpus converts with warnings that name file, line and field; the result passes validate and the API server', async () => {
    const out = join(work, 'migrated');
    const migrated = await cli(['migrate', join(root, 'test/corpus/eso'), '--out-dir', out]);
    expect(migrated.code, migrated.stderr).toBe(0);
    // The findings are checked in full against test/corpus/eso.expected/findings.txt (unit); here, as the bundle prints them.
    expect(migrated.stderr).toContain('49 manifest(s) converted, 0 error(s)');
    expect(migrated.stderr).toMatch(/test\/corpus\/eso\/vault-stores\.yaml:59: warning: SecretStore\/vault-jwt: spec\.provider\.vault\.caProvider: no equivalent in secretsync, removed: caBundle verifies the server/);
    expect(migrated.stderr).toMatch(/externalsecrets\.yaml:\d+: warning: ExternalSecret\/once: spec\.target\.deletionPolicy: no equivalent/);
    // Comments and templates came along.
    const es = readFileSync(join(out, 'externalsecrets.yaml'), 'utf8');
    expect(es).toContain('refreshInterval: 15m # how often to read Vault again');
    expect(es).toContain('dsn: "postgres://{{ username }}:{{ password }}@db:5432/app"');
    expect(es).toContain('config.json: "{{ config | fromjson | tojson }}"');

    const validated = await cli(['validate', out]);
    expect(validated.code, validated.stdout).toBe(0);
    expect(validated.stderr).toContain('47 secretsync manifest(s) checked, 0 error(s)');

    // The API server takes every converted manifest (server-side dry run, strict field validation).
    const ns = await newNamespace();
    for (const name of ['vault-stores.yaml', 'cloud-stores.yaml', 'conjur-stores.yaml', 'kubernetes-webhook-stores.yaml', 'externalsecrets.yaml', 'format.yaml', 'windows.yaml', 'pushsecrets.yaml']) {
      const body = readFileSync(join(out, name), 'utf8');
      const applied = await kubectl(['apply', '--dry-run=server', '--validate=strict', '-n', ns, '-f', '-'], body);
      expect(applied.code, `${name}: ${applied.stderr}`).toBe(0);
    }
  });

  it('migrate --write rewrites the files in place', async () => {
    const copy = file('in-place.yaml', readFileSync(join(root, 'test/corpus/eso/cloud-stores.yaml'), 'utf8'));
    const result = await cli(['migrate', '--write', copy]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toBe('');
    const rewritten = readFileSync(copy, 'utf8');
    expect(rewritten).not.toContain('external-secrets.io');
    expect(rewritten.match(/apiVersion: secretsync\.dev\/v1alpha1/g)).toHaveLength(9);
  });

  it('migrate: what has no equivalent is an error, and the document is written back unchanged', async () => {
    const source = join(root, 'test/corpus/eso-unsupported/unsupported.yaml');
    const result = await cli(['migrate', source]);
    expect(result.code).toBe(1);
    for (const expected of [
      ':12: error: ClusterSecretStore/referent-kubernetes: spec.provider.kubernetes.auth.serviceAccount: no namespace',
      ':23: error: SecretStore/webhook-ntlm: spec.provider.webhook.auth: auth.ntlm (NTLM, Windows-integrated auth) has no equivalent',
      'error: SecretStore/parameter-store: spec.provider.aws.service: AWS ParameterStore',
      'error: SecretStore/vault-ldap: spec.provider.vault.auth.ldap',
      ':207: error: PushSecret/push-metadata: spec.data[0].metadata: provider-specific push metadata has no equivalent',
      'error: Fake/fake: (document): Fake has no equivalent in secretsync',
      ':241: error: ExternalSecret/branching-template: spec.target.template.data.url: template line 1: {{ if .tls }} cannot be converted',
      ':271: error: YAML: the alias *from-another-document has no anchor in this document',
    ]) {
      expect(result.stderr).toContain(expected);
    }
    const original = readFileSync(source, 'utf8');
    // Everything but vault-bare, the store other-mount reads from, is byte for byte what it was.
    const documents = (t: string) => t.split(/^---$/m).filter((d) => !d.includes('name: vault-bare'));
    expect(documents(result.stdout)).toEqual(documents(original));
  });

  describe('against the cluster', () => {
    useOperator(['migrated-canary-v1', 'migrated-canary-v2']);

    it('a migrated ExternalSecret syncs end to end; diff shows what a changed file would do, by digest, and exits 2', async () => {
      const env = providerEnv();
      const ns = await newNamespace();
      await fetch(`${env.VAULT_ADDR}/v1/secret/data/${ns}/db`, { method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN! }, body: JSON.stringify({ data: { username: 'app', password: 'migrated-canary-v1' } }) });
      await createCredentialSecret(ns, 'vault-token', { token: env.VAULT_TOKEN! });
      const eso = `apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: { name: vault, namespace: ${ns} }
spec:
  provider:
    vault:
      server: ${env.VAULT_ADDR}
      path: secret
      version: v2
      auth: { tokenSecretRef: { name: vault-token, key: token } }
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: { name: db, namespace: ${ns} }
spec:
  refreshInterval: 1h
  secretStoreRef: { name: vault, kind: SecretStore }
  target:
    template:
      engineVersion: v2
      data:
        dsn: "postgres://{{ .username }}:{{ .password }}@db/app"
  data:
    - secretKey: username
      remoteRef: { key: ${ns}/db, property: username, conversionStrategy: Default }
    - secretKey: password
      remoteRef: { key: ${ns}/db, property: password }
`;
      const migrated = await cli(['migrate', '-'], eso);
      expect(migrated.code, migrated.stderr).toBe(0);
      const converted = file(`migrated-${ns}.yaml`, migrated.stdout);
      const applied = await kubectl(['apply', '--server-side', '-f', converted]);
      expect(applied.code, applied.stderr).toBe(0);
      await waitForReady(ns, 'db');
      expect(decoded(await getSecret(ns, 'db'))).toEqual({ dsn: 'postgres://app:migrated-canary-v1@db/app' });

      // render through the real provider: the store from the file, its token Secret from the cluster.
      const rendered = await cli(['render', converted, '--kubeconfig', join(stateDir(), 'kubeconfig')]);
      expect(rendered.code, rendered.stderr).toBe(0);
      expect(rendered.stdout).toMatch(/dsn: "<masked: 40 bytes, sha256:[0-9a-f]{12}>"/);
      // Without a cluster, the token Secret is nowhere: a clear error.
      const offline = await cli(['render', converted], undefined, { KUBECONFIG: '/nonexistent' });
      expect(offline.code).toBe(1);
      expect(offline.stderr).toContain('Secret "vault-token" not found');

      // The files match the cluster: nothing to show.
      const same = await cli(['diff', converted]);
      expect(same.code, same.stderr).toBe(0);
      expect(same.stdout).toContain(`Secret ${ns}/db (ExternalSecret db): no changes`);

      // The file now asks for another key and the remote value moved: diff says what, by digest only.
      await fetch(`${env.VAULT_ADDR}/v1/secret/data/${ns}/db`, { method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN! }, body: JSON.stringify({ data: { username: 'app', password: 'migrated-canary-v2' } }) });
      const changed = file(`changed-${ns}.yaml`, readFileSync(converted, 'utf8').replace('dsn: "postgres', 'user: "{{ username }}"\n        dsn: "postgres'));
      const different = await cli(['diff', changed]);
      expect(different.code, different.stderr).toBe(2);
      expect(different.stdout).toMatch(/\+ data user: sha256:[0-9a-f]{12}/);
      expect(different.stdout).toMatch(/~ data dsn: sha256:[0-9a-f]{12} -> sha256:[0-9a-f]{12}/);
      expect(different.stdout + different.stderr).not.toContain('migrated-canary');
    });
  });
});
