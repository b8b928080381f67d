// The one namespace rule for references, over every provider's schema.
import { describe, expect, it } from 'vitest';
import type { AnyStore, ProviderSpec } from '../../src/api/types.js';
import { credentialSecrets, providerReferences, referenceProblems } from '../../src/providers/credentials.js';

const secretStore = (provider: ProviderSpec): AnyStore => ({ metadata: { name: 's', namespace: 'team-a' }, spec: { provider } });
const clusterStore = (provider: ProviderSpec): AnyStore => ({ metadata: { name: 'c' }, spec: { provider } });
const ref = (namespace?: string) => ({ name: 'creds', key: 'k', namespace });
const sa = (namespace?: string) => ({ name: 'app', namespace });

describe('references in store specs', () => {
  const everyProvider: ProviderSpec[] = [
    { vault: { server: 'https://v', namespace: 'vault-ns-is-not-a-reference', auth: { tokenSecretRef: ref('other') } } },
    { vault: { server: 'https://v', auth: { appRole: { roleId: 'r', secretRef: ref('other') } } } },
    { vault: { server: 'https://v', auth: { kubernetes: { role: 'r', serviceAccountRef: sa('other') } } } },
    { vault: { server: 'https://v', auth: { jwt: { role: 'r', kubernetesServiceAccountToken: { serviceAccountRef: sa('other') } } } } },
    { aws: { service: 'SecretsManager', region: 'r', auth: { secretRef: { accessKeyIDSecretRef: ref('other'), secretAccessKeySecretRef: ref() } } } },
    { aws: { service: 'SecretsManager', region: 'r', role: 'x', auth: { jwt: { serviceAccountRef: sa('other') } } } },
    { azurekv: { vaultUrl: 'https://kv', authSecretRef: { clientId: ref('other'), clientSecret: ref() } } },
    { azurekv: { vaultUrl: 'https://kv', authType: 'WorkloadIdentity', serviceAccountRef: sa('other') } },
    { gcpsm: { projectID: 'p', auth: { secretRef: { secretAccessKeySecretRef: ref('other') } } } },
    { gcpsm: { projectID: 'p', auth: { workloadIdentity: { serviceAccountRef: sa('other') } } } },
  ] as ProviderSpec[];

  it.each(everyProvider.map((p) => [Object.keys(p)[0], p] as const))('%s: a SecretStore may not point a reference at another namespace', (_, provider) => {
    const problems = referenceProblems(secretStore(provider));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^spec\.provider\.\S+ may not point to namespace "other": a SecretStore uses its own namespace$/);
  });

  it('its own namespace, or none, is fine; the Vault namespace field is not a reference', () => {
    expect(referenceProblems(secretStore({ vault: { server: 'https://v', namespace: 'x', auth: { tokenSecretRef: ref('team-a') } } }))).toEqual([]);
  });

  it('a ClusterSecretStore must name the namespace of each reference', () => {
    const store = clusterStore({ azurekv: { vaultUrl: 'https://kv', authSecretRef: { clientId: ref('ops'), clientSecret: ref() } } });
    expect(referenceProblems(store)).toEqual(['spec.provider.azurekv.authSecretRef.clientSecret needs a namespace in a ClusterSecretStore']);
  });

  it('credential Secrets are the key selectors, resolved to their namespace; ServiceAccounts are not Secrets', () => {
    const provider = { aws: { service: 'SecretsManager', region: 'r', auth: { secretRef: { accessKeyIDSecretRef: ref(), secretAccessKeySecretRef: ref(), sessionTokenSecretRef: { name: 'session', key: 't' } } } } } as ProviderSpec;
    expect(credentialSecrets(secretStore(provider)).sort()).toEqual(['team-a/creds', 'team-a/session']);
    const viaSa = { vault: { server: 'https://v', auth: { kubernetes: { role: 'r', serviceAccountRef: sa() } } } } as ProviderSpec;
    expect(credentialSecrets(secretStore(viaSa))).toEqual([]);
    expect(providerReferences(viaSa)).toEqual([{ path: 'spec.provider.vault.auth.kubernetes.serviceAccountRef', kind: 'ServiceAccount', name: 'app', namespace: undefined }]);
  });
});
