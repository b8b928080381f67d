// Malformed resources are refused by the API server itself (schema + CEL),
// with a message a person can act on.
import { describe, expect, it } from 'vitest';
import { kubectl, newNamespace } from './harness.js';

async function applyFails(manifest: string): Promise<string> {
  const result = await kubectl(['apply', '-f', '-'], manifest);
  expect(result.code).not.toBe(0);
  return result.stderr;
}

const es = (ns: string, spec: string) => `
apiVersion: secretsync.dev/v1alpha1
kind: ExternalSecret
metadata: { name: bad, namespace: ${ns} }
spec:
${spec}`;

const store = (ns: string, spec: string, kind = 'SecretStore') => `
apiVersion: secretsync.dev/v1alpha1
kind: ${kind}
metadata: { name: bad-${kind.toLowerCase()}${kind === 'SecretStore' ? `, namespace: ${ns}` : ''} }
spec:
${spec}`;

describe('API server validation', () => {
  it('refuses a store with two providers, or none', async () => {
    const ns = await newNamespace();
    expect(await applyFails(store(ns, '  provider: { fake: { data: [] }, aws: { service: SecretsManager, region: eu-west-1 } }'))).toContain(
      'provider needs exactly one of vault, aws, azurekv, gcpsm, conjur, kubernetes, webhook or fake',
    );
    expect(await applyFails(store(ns, '  provider: {}'))).toContain('provider needs exactly one of');
  });

  it('refuses an azurekv store whose auth does not fit its authType, and accepts each valid shape', async () => {
    const ns = await newNamespace();
    const akv = (fields: string) => store(ns, `  provider:\n    azurekv: { vaultUrl: "https://v.vault.azure.net", ${fields} }`);
    const sp = 'authSecretRef: { clientId: { name: s, key: id }, clientSecret: { name: s, key: secret } }';
    expect(await applyFails(akv(sp))).toContain('azurekv ServicePrincipal (the default authType) needs tenantId');
    expect(await applyFails(akv(`tenantId: t, authSecretRef: { clientId: { name: s, key: id } }`))).toContain('one of clientSecret or clientCertificate');
    expect(await applyFails(akv(`tenantId: t, authSecretRef: { clientId: { name: s, key: id }, clientSecret: { name: s, key: a }, clientCertificate: { name: s, key: b } }`))).toContain('one of clientSecret or clientCertificate');
    expect(await applyFails(akv('authType: WorkloadIdentity'))).toContain('azurekv WorkloadIdentity needs serviceAccountRef');
    expect(await applyFails(akv(`tenantId: t, ${sp}, serviceAccountRef: { name: app }`))).toContain('serviceAccountRef is only for authType WorkloadIdentity');
    expect(await applyFails(akv(`authType: ManagedIdentity, ${sp}`))).toContain('ManagedIdentity takes no authSecretRef');
    expect(await applyFails(akv('authType: ManagedIdentity, environmentType: AzureStack'))).toContain('Unsupported value: "AzureStack"');
    expect(await applyFails(store(ns, '  provider: { azurekv: { vaultUrl: "http://v.vault.azure.net", authType: ManagedIdentity } }'))).toContain('spec.provider.azurekv.vaultUrl');
    for (const ok of [`tenantId: t, ${sp}`, 'authType: WorkloadIdentity, serviceAccountRef: { name: app }', 'authType: ManagedIdentity', 'authType: ManagedIdentity, identityId: abc, environmentType: ChinaCloud']) {
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], akv(ok));
      expect(result.stderr, ok).toBe('');
    }
  });

  it('refuses a gcpsm store with an unusable workload identity, project or endpoint', async () => {
    const ns = await newNamespace();
    const gcp = (fields: string) => store(ns, `  provider:\n    gcpsm: { projectID: my-project, ${fields} }`);
    const wi = (fields: string) => gcp(`auth: { workloadIdentity: { serviceAccountRef: { name: app }${fields} } }`);
    expect(await applyFails(wi(''))).toContain('gcpsm workloadIdentity needs either audience');
    expect(await applyFails(wi(', clusterLocation: europe-west1'))).toContain('gcpsm workloadIdentity needs either audience');
    expect(await applyFails(wi(', audience: "//iam.googleapis.com/x", clusterLocation: l, clusterName: c'))).toContain('gcpsm workloadIdentity needs either audience');
    expect(await applyFails(wi(', audience: "https://example.com"'))).toContain('spec.provider.gcpsm.auth.workloadIdentity.audience');
    expect(await applyFails(store(ns, '  provider: { gcpsm: { projectID: "Bad_Project" } }'))).toContain('spec.provider.gcpsm.projectID');
    expect(await applyFails(gcp('endpoint: "https://x.example"'))).toContain('spec.provider.gcpsm.endpoint');
    for (const ok of ['location: europe-west1', 'endpoint: "secretmanager.europe-west1.rep.googleapis.com"', 'endpoint: "10.0.0.5:443"', 'auth: { workloadIdentity: { serviceAccountRef: { name: app }, clusterLocation: europe-west1, clusterName: c1 } }']) {
      const result = await kubectl(['apply', '--dry-run=server', '-f', '-'], gcp(ok));
      expect(result.stderr, ok).toBe('');
    }
  });

  it('refuses conditions on a SecretStore but accepts them on a ClusterSecretStore', async () => {
    const ns = await newNamespace();
    const spec = `  provider: { fake: { data: [] } }\n  conditions: [ { namespaces: [a] } ]`;
    expect(await applyFails(store(ns, spec))).toContain('conditions are only allowed on a ClusterSecretStore');
    const ok = await kubectl(['apply', '--dry-run=server', '-f', '-'], store(ns, spec, 'ClusterSecretStore'));
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('refuses deletionPolicy Delete without creationPolicy Owner', async () => {
    const ns = await newNamespace();
    const stderr = await applyFails(es(ns, `  secretStoreRef: { name: s }\n  target: { creationPolicy: Orphan, deletionPolicy: Delete }\n  data: [ { secretKey: a, remoteRef: { key: b } } ]`));
    expect(stderr).toContain('target.deletionPolicy Delete requires target.creationPolicy Owner');
  });

  it('refuses a bad refreshInterval, a bad secretKey, and an unknown enum value', async () => {
    const ns = await newNamespace();
    expect(await applyFails(es(ns, `  secretStoreRef: { name: s }\n  refreshInterval: 1 day\n  data: [ { secretKey: a, remoteRef: { key: b } } ]`))).toMatch(/refreshInterval.*should match/);
    expect(await applyFails(es(ns, `  secretStoreRef: { name: s }\n  data: [ { secretKey: "a/b", remoteRef: { key: b } } ]`))).toMatch(/secretKey.*should match/);
    expect(await applyFails(es(ns, `  secretStoreRef: { name: s, kind: Other }\n  data: [ { secretKey: a, remoteRef: { key: b } } ]`))).toMatch(/Unsupported value: "Other"/);
  });

  it('refuses a dataFrom entry with both extract and find, and an ExternalSecret with nothing to fetch', async () => {
    const ns = await newNamespace();
    expect(await applyFails(es(ns, `  secretStoreRef: { name: s }\n  dataFrom: [ { extract: { key: a }, find: { path: b } } ]`))).toContain(
      'each dataFrom entry needs exactly one of extract, find or sourceRef',
    );
    expect(await applyFails(es(ns, `  secretStoreRef: { name: s }`))).toContain('at least one of data, dataFrom or target.template is required');
  });

  it('refuses a missing store reference', async () => {
    const ns = await newNamespace();
    expect(await applyFails(es(ns, `  data: [ { secretKey: a, remoteRef: { key: b } } ]`))).toContain('secretStoreRef is required unless every value comes from a generator');
  });
});
