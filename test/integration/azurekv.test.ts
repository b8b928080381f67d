// The azurekv provider through the official Azure SDKs against the project's
// wire-level Key Vault + Entra ID + IMDS test servers (test/servers/azurekv),
// and the real kube-apiserver for workload identity: the shared conformance
// suite, then the operator end to end for each auth type.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { NotFoundError } from '../../src/providers/errors.js';
import { API_VERSION, Resources, type Condition, type KubeObject } from '../../src/kube/types.js';
import { azurekvProvider } from '../../src/providers/azurekv/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { callContext } from '../support/call-context.js';
import { azureTestEnv, certificateChainPem, clientCertificate, servicePrincipal, type AzureTestEnv } from '../support/azure.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, getES, getSecret, kube, kubeConfig, newNamespace, providerEnv,
  ready, useNamespaceWithSecret, useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const SECRET_VALUE = 'azure-secret-value-8h2k4m';
const CERT_NAME = 'azure-cert-test';

let azure: AzureTestEnv;
beforeAll(async () => {
  azure = await azureTestEnv(providerEnv());
});
afterAll(() => azure.admin.close());

function servicePrincipalStore(credentialSecret = 'azure-creds'): SecretStoreSpec {
  return {
    provider: {
      azurekv: {
        vaultUrl: azure.vaultUrl, tenantId: azure.tenantId, authType: 'ServicePrincipal',
        authSecretRef: { clientId: { name: credentialSecret, key: 'clientId' }, clientSecret: { name: credentialSecret, key: 'clientSecret' } },
      },
    },
  };
}

async function namespaceWithPrincipal(): Promise<{ ns: string; clientId: string; secret: string }> {
  const ns = await newNamespace();
  const sp = await servicePrincipal(azure);
  await createCredentialSecret(ns, 'azure-creds', { clientId: sp.clientId, clientSecret: sp.secret });
  return { ns, ...sp };
}

describe('azurekv conformance', () => {
  const principals = new Map<string, { clientId: string; secret: string }>();
  const ns = useNamespaceWithSecret('azure-conf', 'placeholder', () => ({ unused: 'x' }));
  const clientFor = async (name: string, permissions?: Parameters<typeof servicePrincipal>[1]) => {
    let sp = principals.get(name);
    if (!sp) {
      sp = await servicePrincipal(azure, permissions);
      principals.set(name, sp);
      await createCredentialSecret(ns(), name, { clientId: sp.clientId, clientSecret: sp.secret });
    }
    const store = { metadata: { name: 'a', namespace: ns() }, spec: servicePrincipalStore(name) } as SecretStore;
    return azurekvProvider.newClient({ store, namespace: ns(), kube: kube() });
  };

  providerConformance({
    name: 'azurekv (test Key Vault through @azure/keyvault-secrets)',
    async put(key, value, opts) {
      const s = await azure.secrets.setSecret(key, value, { tags: opts?.tags, expiresOn: opts?.expiresAt });
      return s.properties.version;
    },
    client: () => clientFor('reader'),
    // Key Vault's own permission names for a PushSecret's store: read, write, soft delete, recover.
    writerClient: () => clientFor('writer', { secrets: ['get', 'list', 'set', 'delete', 'recover'] }),
    deniedClient: () => clientFor('nobody', {}),
    serverRequests: async () => (await azure.admin.stats()).vault,
    async throttle() {
      await azure.admin.throttle(5, 1);
      return () => azure.admin.throttle(0).then(() => undefined);
    },
    // No batch read in Key Vault: one GET per value.
    batchCost: (n) => n,
    supports: {
      versions: true,
      versionChecks: { no: 'GET secret, the one request for the latest version, returns its value too; listing versions costs as much or more' },
      findByName: true,
      findByPath: { no: 'Key Vault secret names are flat (letters, digits, dashes): there is no path to find by' },
      findByTags: true,
      metadata: true,
      expiryDates: true,
      rotationDates: { no: 'Key Vault secrets have no rotation schedule; key rotation policies and certificate auto-renewal are reported (tested below)' },
      permissions: true,
      throttling: true,
      writes: true,
    },
  });

  it('reads a certificate as its PEM chain (no private key) and reports auto-renewal as the rotation date', async () => {
    const chain = certificateChainPem('conf.example.test');
    const name = `${CERT_NAME}-${randomBytes(3).toString('hex')}`;
    const imported = await azure.certificates.importCertificate(name, Buffer.from(chain.pem), { policy: { contentType: 'application/x-pem-file', issuerName: 'Unknown', subject: 'CN=conf.example.test' } });
    await azure.certificates.updateCertificatePolicy(name, { issuerName: 'Unknown', subject: 'CN=conf.example.test', lifetimeActions: [{ action: 'AutoRenew', daysBeforeExpiry: 30 }] });
    const client = await clientFor('reader');
    const got = await client.getSecret({ key: `cert/${imported.name}` }, callContext());
    const pem = Buffer.from(got.value).toString('utf8');
    expect(pem).toBe(`${chain.leaf.trim()}\n${chain.ca.trim()}\n`.replaceAll('\r\n', '\n'));
    expect(pem).not.toContain('PRIVATE KEY');
    expect(got.source.version).toBe(imported.properties.version);
    expect(got.source.rotatesAt?.getTime()).toBe(imported.properties.expiresOn!.getTime() - 30 * 86_400_000);
  });

  it('a version not valid yet (nbf ahead) is a clear NotFoundError, and find leaves it out', async () => {
    const prefix = `conf-nbf-${randomBytes(3).toString('hex')}`;
    const notBefore = new Date(Math.ceil(Date.now() / 1000) * 1000 + 3_600_000);
    await azure.secrets.setSecret(`${prefix}-later`, 'not yet', { notBefore, tags: { t: prefix } });
    await azure.secrets.setSecret(`${prefix}-now`, 'now', { tags: { t: prefix } });
    const client = await clientFor('reader');
    const err = await client.getSecret({ key: `${prefix}-later` }, callContext()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundError);
    expect((err as Error).message).toContain(`is not valid until ${notBefore.toISOString()}`);
    expect(Object.keys((await client.findSecrets!({ tags: { t: prefix } }, callContext())).values)).toEqual([`${prefix}-now`]);
  });

  it('a repeated find reads again only the matches whose updated date moved (counted at the server)', async () => {
    const prefix = `conf-again-${randomBytes(3).toString('hex')}`;
    for (const n of ['a', 'b', 'c']) await azure.secrets.setSecret(`${prefix}-${n}`, n, { tags: { t: prefix } });
    const client = await clientFor('reader');
    await client.validate(callContext());
    const requests = async (run: () => Promise<unknown>) => {
      const before = (await azure.admin.stats()).byOperation['secrets.get'] ?? 0;
      await run();
      return ((await azure.admin.stats()).byOperation['secrets.get'] ?? 0) - before;
    };
    const find = () => client.findSecrets!({ tags: { t: prefix } }, callContext());
    expect(await requests(find)).toBe(3);
    // Values read within seconds of their `updated` date are read again (one-second dates); then they are trusted.
    await waitFor('a find served from what it read before', async () => (await requests(find)) === 0, 20_000, 500);
    await azure.secrets.setSecret(`${prefix}-b`, 'b2', { tags: { t: prefix } });
    let found: Awaited<ReturnType<typeof find>> | undefined;
    expect(await requests(async () => (found = await find()))).toBe(1);
    expect(Buffer.from(found!.values[`${prefix}-b`]!).toString()).toBe('b2');
  });

  it('reads a key as public JWK JSON, with its rotation policy as the rotation date', async () => {
    const name = `conf-key-${randomBytes(3).toString('hex')}`;
    const key = await azure.keys.createRsaKey(name);
    await azure.keys.updateKeyRotationPolicy(name, { lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P30D' }], expiresIn: 'P90D' });
    const client = await clientFor('reader');
    const got = await client.getSecret({ key: `key/${name}` }, callContext());
    const jwk = JSON.parse(Buffer.from(got.value).toString('utf8')) as Record<string, string>;
    expect(jwk.kty).toBe('RSA');
    expect(jwk.kid).toBe(key.id);
    expect(jwk.n).toBe(Buffer.from(key.key!.n!).toString('base64url'));
    expect(jwk).not.toHaveProperty('d');
    expect(got.source.rotatesAt?.getTime()).toBe(key.properties.createdOn!.getTime() + 30 * 86_400_000);
  });
});

describe('azurekv through the operator (shipped RBAC)', () => {
  const op = useOperator([SECRET_VALUE], { asServiceAccount: true });
  const put = async (name: string, value: string, opts: { tags?: Record<string, string>; expiresOn?: Date } = {}) => (await azure.secrets.setSecret(name, value, opts)).properties.version!;

  it('ACRAccessToken: an Entra ID token exchanged at the registry for a refresh token, and for a scoped access token; a principal without a registry role is refused', async () => {
    const { ns, clientId } = await namespaceWithPrincipal();
    await azure.admin.assignRegistryRoles(clientId, ['AcrPull']);
    const registry = new URL(azure.vaultUrl).host;
    const caBundle = readFileSync(providerEnv().TEST_CA_FILE!, 'utf8');
    const sp = { servicePrincipal: { secretRef: { clientId: { name: 'azure-creds', key: 'clientId' }, clientSecret: { name: 'azure-creds', key: 'clientSecret' } } } };
    const generator = (name: string, spec: Record<string, unknown>) => kube().create(Resources.ACRAccessToken, { apiVersion: API_VERSION, kind: 'ACRAccessToken', metadata: { name, namespace: ns }, spec: { registry, tenantId: azure.tenantId, caBundle, auth: sp, ...spec } });
    await generator('refresh', {});
    await generator('pull', { scope: 'repository:app:pull' });
    await generator('push', { scope: 'repository:app:push' });
    const before = (await azure.admin.stats()).registry;
    for (const name of ['refresh', 'pull']) {
      await createExternalSecret(ns, name, {
        dataFrom: [{ sourceRef: { generatorRef: { kind: 'ACRAccessToken', name } } }],
        target: { template: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': `{"auths":{"${registry}":{"username":"{{ username }}","password":"{{ password }}"}}}` } } },
      });
      await waitForReady(ns, name);
    }
    const login = (name: string) => getSecret(ns, name).then((s) => (JSON.parse(decoded(s)['.dockerconfigjson']!) as { auths: Record<string, { username: string; password: string }> }).auths[registry]!);
    const refresh = await login('refresh');
    expect(refresh.username).toBe('00000000-0000-0000-0000-000000000000');
    const claims = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { grant_type: string; aud: string; sub: string };
    expect(claims(refresh.password)).toMatchObject({ grant_type: 'refresh', aud: registry, sub: clientId });
    expect(claims((await login('pull')).password)).toMatchObject({ grant_type: 'repository:app:pull', sub: clientId });
    const after = (await azure.admin.stats()).registry;
    expect(after.exchange - before.exchange).toBe(2);
    expect(after.token - before.token).toBe(1);

    // AcrPull may not push: the registry's refusal, in the ExternalSecret's status; no Secret is written.
    await createExternalSecret(ns, 'push', { dataFrom: [{ sourceRef: { generatorRef: { kind: 'ACRAccessToken', name: 'push' } } }] });
    const refused = await waitForReady(ns, 'push', 'False', 'GeneratorFailed');
    expect(ready(refused)!.message).toContain(`may not push repository app`);
    expect(await getSecret(ns, 'push')).toBeUndefined();
  });

  it('PushSecret: writes with owner tags, never over a secret set by hand, and soft-deletes what it owns with the PushSecret', async () => {
    const ns = await newNamespace();
    const sp = await servicePrincipal(azure, { secrets: ['get', 'list', 'set', 'delete', 'recover'] });
    await createCredentialSecret(ns, 'azure-creds', { clientId: sp.clientId, clientSecret: sp.secret });
    await createStore(ns, 'akv', servicePrincipalStore());
    await waitForStoreReady(ns, 'akv');
    await put(`${ns}-theirs`, 'by hand');
    await kube().create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: ns }, stringData: { token: SECRET_VALUE } } as never);
    const push = (name: string, remoteKey: string) => kube().create(Resources.PushSecret, {
      apiVersion: API_VERSION, kind: 'PushSecret', metadata: { name, namespace: ns },
      spec: { deletionPolicy: 'Delete', secretStoreRefs: [{ name: 'akv' }], selector: { secret: { name: 'app' } }, data: [{ match: { secretKey: 'token', remoteRef: { remoteKey } } }] },
    });
    await push('mine', `secret/${ns}-mine`);
    await push('theirs', `${ns}-theirs`);
    await waitFor('pushed to Key Vault', () => azure.secrets.getSecret(`${ns}-mine`).then((s) => s.value === SECRET_VALUE, () => false));
    expect((await azure.secrets.getSecret(`${ns}-mine`)).properties.tags).toEqual({ 'managed-by': 'secretsync', 'secretsync-owner': `${ns}/mine` });
    const refused = await waitFor('theirs refused', async () => {
      const c = ready(await kube().get<{ status?: { conditions?: Condition[] } } & KubeObject>(Resources.PushSecret, ns, 'theirs'));
      return c?.reason === 'RemoteSecretNotOwned' ? c : undefined;
    });
    expect(refused.message).toContain('no secretsync owner recorded');
    expect((await azure.secrets.getSecret(`${ns}-theirs`)).value).toBe('by hand');
    await kube().delete(Resources.PushSecret, ns, 'mine');
    await waitFor('soft-deleted with the PushSecret', () => azure.secrets.getDeletedSecret(`${ns}-mine`).then(() => true, () => false));
    await kube().delete(Resources.PushSecret, ns, 'theirs');
    expect((await azure.secrets.getSecret(`${ns}-theirs`)).value).toBe('by hand');
  });

  it('service principal: versions, properties, extract, cert/, key/, and find by regexp and tags', async () => {
    const { ns } = await namespaceWithPrincipal();
    const db = `${ns}-db`;
    const v1 = await put(db, JSON.stringify({ user: 'app', password: 'old' }));
    const v2 = await put(db, JSON.stringify({ user: 'app', password: SECRET_VALUE }));
    const chain = certificateChainPem(`${ns}.example.test`);
    await azure.certificates.importCertificate(`${ns}-tls`, Buffer.from(chain.pem), { policy: { contentType: 'application/x-pem-file', issuerName: 'Unknown', subject: 'CN=x' } });
    const key = await azure.keys.createEcKey(`${ns}-sign`, { curve: 'P-256' });
    await put(`${ns}-feat-a`, 'A', { tags: { team: ns } });
    await put(`${ns}-feat-b`, 'B', { tags: { team: ns } });
    await put(`${ns}-other`, 'O', { tags: { team: ns } });
    const off = await put(`${ns}-feat-off`, 'OFF', { tags: { team: ns } });
    await azure.secrets.updateSecretProperties(`${ns}-feat-off`, off, { enabled: false });
    await createStore(ns, 'akv', servicePrincipalStore());
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'akv' },
      data: [
        { secretKey: 'password', remoteRef: { key: `secret/${db}`, property: 'password' } },
        { secretKey: 'previous', remoteRef: { key: db, property: 'password', version: v1 } },
        { secretKey: 'tls.crt', remoteRef: { key: `cert/${ns}-tls` } },
        { secretKey: 'signing.jwk', remoteRef: { key: `key/${ns}-sign` } },
      ],
      dataFrom: [
        { extract: { key: db }, rewrite: [{ regexp: { source: '^', target: 'x_' } }] },
        { find: { name: { regexp: `^${ns}-feat-` }, tags: { team: ns } } },
      ],
    });
    const es = await waitForReady(ns, 'es');
    const data = decoded(await getSecret(ns, 'es'));
    expect(data).toMatchObject({ password: SECRET_VALUE, previous: 'old', x_user: 'app', x_password: SECRET_VALUE, [`${ns}-feat-a`]: 'A', [`${ns}-feat-b`]: 'B' });
    expect(Object.keys(data).sort()).toEqual([`${ns}-feat-a`, `${ns}-feat-b`, 'password', 'previous', 'signing.jwk', 'tls.crt', 'x_password', 'x_user'].sort());
    expect(data['tls.crt']).toBe(`${chain.leaf.trim()}\n${chain.ca.trim()}\n`.replaceAll('\r\n', '\n'));
    expect(JSON.parse(data['signing.jwk']!)).toMatchObject({ kty: 'EC', crv: 'P-256', kid: key.id });
    expect(es.status?.sources).toEqual(expect.arrayContaining([expect.objectContaining({ key: `secret/${db}`, version: v2 })]));
    expect(JSON.stringify(es.status)).not.toContain(SECRET_VALUE);
  });

  it('workload identity: the operator mints the ServiceAccount token and Entra ID verifies it against the apiserver keys', async () => {
    const ns = await newNamespace();
    const clientId = `wi-${ns}`;
    await kube().create(Resources.ServiceAccount, {
      apiVersion: 'v1', kind: 'ServiceAccount',
      metadata: { name: 'app-identity', namespace: ns, annotations: { 'azure.workload.identity/client-id': clientId, 'azure.workload.identity/tenant-id': azure.tenantId } },
    });
    const issuer = kubeConfig().getCurrentCluster()!.server;
    await azure.admin.registerApp({
      tenantId: azure.tenantId, clientId, permissions: { secrets: ['get'] },
      federated: [{ issuer, subject: `system:serviceaccount:${ns}:app-identity`, audiences: ['api://AzureADTokenExchange'] }],
    });
    await put(`${ns}-wi`, SECRET_VALUE);
    await createStore(ns, 'akv', { provider: { azurekv: { vaultUrl: azure.vaultUrl, authType: 'WorkloadIdentity', serviceAccountRef: { name: 'app-identity' } } } });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'akv' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-wi` } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);

    // A ServiceAccount the app has no federated credential for is refused by Entra ID.
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'intruder', namespace: ns, annotations: { 'azure.workload.identity/client-id': clientId } } });
    await createStore(ns, 'intruder', { provider: { azurekv: { vaultUrl: azure.vaultUrl, tenantId: azure.tenantId, authType: 'WorkloadIdentity', serviceAccountRef: { name: 'intruder' } } } });
    await waitFor('intruder store refused', async () => {
      const c = ready(await kube().get<SecretStore>(Resources.SecretStore, ns, 'intruder'));
      return c?.status === 'False' && c.message.includes('AADSTS700213') ? c : undefined;
    });
  });

  it('service principal with a client certificate from a Secret', async () => {
    const ns = await newNamespace();
    const clientId = `cert-${ns}`;
    const credential = clientCertificate(clientId);
    await azure.admin.registerApp({ tenantId: azure.tenantId, clientId, certificates: [credential.cert], permissions: { secrets: ['get'] } });
    await createCredentialSecret(ns, 'azure-cert', { clientId, 'tls.pem': credential.pem });
    await put(`${ns}-cert-auth`, SECRET_VALUE);
    await createStore(ns, 'akv', {
      provider: { azurekv: { vaultUrl: azure.vaultUrl, tenantId: azure.tenantId, authSecretRef: { clientId: { name: 'azure-cert', key: 'clientId' }, clientCertificate: { name: 'azure-cert', key: 'tls.pem' } } } },
    });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'akv' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-cert-auth` } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
  });

  it('managed identity through IMDS, by client id', async () => {
    const ns = await newNamespace();
    const clientId = `mi-${ns}`;
    await azure.admin.addIdentity({ tenantId: azure.tenantId, clientId, permissions: { secrets: ['get'] } });
    await put(`${ns}-mi`, SECRET_VALUE);
    await createStore(ns, 'akv', { provider: { azurekv: { vaultUrl: azure.vaultUrl, authType: 'ManagedIdentity', identityId: clientId } } });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'akv' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-mi` } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
  });

  it('an expiring version drives the refresh: a replacement is picked up before it expires; once expired it is reported, not polled', async () => {
    const { ns } = await namespaceWithPrincipal();
    const expiresOn = new Date(Math.ceil(Date.now() / 1000) * 1000 + 12_000);
    await put(`${ns}-rot`, 'first', { expiresOn });
    await put(`${ns}-stale`, 'stale', { expiresOn });
    await createStore(ns, 'akv', servicePrincipalStore());
    for (const name of ['rot', 'stale']) {
      await createExternalSecret(ns, name, { secretStoreRef: { name: 'akv' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-${name}` } }] });
    }
    for (const name of ['rot', 'stale']) {
      const es = await waitForReady(ns, name);
      expect(new Date(es.status!.nextRefreshTime!).getTime()).toBeLessThan(expiresOn.getTime());
    }
    // A rotation job adds the next version before the current one expires.
    await put(`${ns}-rot`, 'second', { expiresOn: new Date(Date.now() + 3_600_000) });
    await waitFor('the replacement synced by the expiry-driven refresh', async () => decoded(await getSecret(ns, 'rot')).v === 'second', 25_000);
    expect(ready(await getES(ns, 'rot'))?.reason).toBe('SecretSynced');

    const stale = await waitForReady(ns, 'stale', 'True', 'RemoteSecretExpired', 30_000);
    expect(decoded(await getSecret(ns, 'stale')).v).toBe('stale');
    expect(new Date(stale.status!.nextRefreshTime!).getTime()).toBeGreaterThan(Date.now() + 30 * 60_000);
    expect((await events(ns, 'stale')).some((e) => e.type === 'Warning' && e.reason === 'RemoteSecretExpired')).toBe(true);
  });

  it('a disabled secret and a wrong client secret leave the Secret untouched, with a reason and nothing secret in status or Events', async () => {
    const { ns } = await namespaceWithPrincipal();
    const version = await put(`${ns}-app`, SECRET_VALUE);
    await createStore(ns, 'akv', servicePrincipalStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'akv' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-app` } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;

    await azure.secrets.updateSecretProperties(`${ns}-app`, version, { enabled: false });
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { metadata: { annotations: { 'secretsync.dev/force-sync': '1' } } });
    const disabled = await waitForReady(ns, 'es', 'False', 'RemoteNotFound');
    expect(ready(disabled)?.message).toBe(`remote secret "${ns}-app" not found: it is disabled in Key Vault`);

    await azure.secrets.updateSecretProperties(`${ns}-app`, version, { enabled: true });
    const wrong = 'wrong-client-secret-9f8e7d';
    await kube().mergePatch(Resources.Secret, ns, 'azure-creds', { data: { clientSecret: Buffer.from(wrong).toString('base64') } });
    await waitForReady(ns, 'es', 'False', 'StoreNotReady', 20_000);
    const store = ready(await kube().get<SecretStore>(Resources.SecretStore, ns, 'akv'));
    expect(store?.reason).toBe('ValidationFailed');
    expect(store?.message).toContain('AADSTS7000215');
    expect(store?.message).not.toContain(wrong);

    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    const text = JSON.stringify([(await getES(ns, 'es')).status, await events(ns, 'es'), await events(ns, 'akv')]);
    for (const value of [SECRET_VALUE, wrong]) expect(text).not.toContain(value);
    expect(op().logs.text).not.toContain(wrong);
  });

  it('a 429 storm is ridden out at the pace Retry-After sets, without hammering the vault', async () => {
    const { ns } = await namespaceWithPrincipal();
    for (let i = 0; i < 3; i++) await put(`${ns}-s${i}`, `v${i}`);
    await createStore(ns, 'akv', servicePrincipalStore());
    await waitForStoreReady(ns, 'akv');
    const before = await azure.admin.stats();
    await azure.admin.throttle(4, 2);
    const started = Date.now();
    for (let i = 0; i < 3; i++) await createExternalSecret(ns, `es${i}`, { secretStoreRef: { name: 'akv' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-s${i}` } }] });
    for (let i = 0; i < 3; i++) await waitForReady(ns, `es${i}`, 'True', undefined, 30_000);
    const elapsed = Date.now() - started;
    const after = await azure.admin.stats();
    // 4 refused and 3 served, and no more than a couple of retries beyond those.
    expect(after.vault - before.vault).toBeLessThanOrEqual(4 + 3 + 3);
    // The store held its calls for the Retry-After the vault asked for.
    expect(elapsed).toBeGreaterThanOrEqual(2_000);
    const throttled = (await Promise.all([0, 1, 2].map((i) => events(ns, `es${i}`)))).flat().filter((e) => e.reason === 'ProviderThrottled');
    expect(throttled.length).toBeGreaterThan(0);
  });
});
