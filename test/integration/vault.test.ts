// The vault provider against a real OpenBao dev server (with real PostgreSQL
// behind its database engine), and a real kube-apiserver for Kubernetes and
// JWT auth.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import NodeVault from 'node-vault';
import { beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { API_VERSION, Resources } from '../../src/kube/types.js';
import { vaultProvider } from '../../src/providers/vault/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { openbaoRequestPaths, openbaoRequests } from '../support/openbao-audit.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, getES, getSecret, kube, newNamespace, providerEnv, ready, stateDir,
  startOperator, useNamespaceWithSecret, useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const env = () => providerEnv();
const root = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
const SECRET_VALUE = 'vault-secret-value-9q8w7e';

async function putKv(key: string, data: Record<string, unknown>): Promise<string> {
  const res = (await root().write(`secret/data/${key}`, { data })) as { data: { version: number } };
  return String(res.data.version);
}

function tokenStore(extra: Partial<NonNullable<SecretStoreSpec['provider']['vault']>> = {}): SecretStoreSpec {
  return { provider: { vault: { server: env().VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } }, ...extra } } };
}

async function namespaceWithToken(token = env().VAULT_TOKEN!): Promise<string> {
  const ns = await newNamespace();
  await createCredentialSecret(ns, 'vault-token', { token });
  return ns;
}

/** An AppRole for the namespace (policy "reader"), its secret_id in Secret "approle-creds", and store "approle" using them. */
async function createAppRoleStore(ns: string): Promise<void> {
  await root().write(`auth/approle/role/${ns}`, { token_policies: 'reader', secret_id_ttl: '1h', token_ttl: '1h' });
  const roleId = ((await root().read(`auth/approle/role/${ns}/role-id`)) as { data: { role_id: string } }).data.role_id;
  const secretId = ((await root().write(`auth/approle/role/${ns}/secret-id`, {})) as { data: { secret_id: string } }).data.secret_id;
  await createCredentialSecret(ns, 'approle-creds', { secretId });
  await createStore(ns, 'approle', { provider: { vault: { server: env().VAULT_ADDR!, auth: { appRole: { roleId, secretRef: { name: 'approle-creds', key: 'secretId' } } } } } });
}

// --- the shared conformance suite, against OpenBao -------------------------------------------
describe('vault conformance', () => {
  const conformanceNs = useNamespaceWithSecret('vault-conf', 'vault-token', () => ({ token: env().VAULT_TOKEN! }));

  const clientWith = async (secret: string, token: string) => {
    await createCredentialSecret(conformanceNs(), secret, { token }).catch(() => undefined);
    const store = { metadata: { name: 'v', namespace: conformanceNs() }, spec: tokenStore({ auth: { tokenSecretRef: { name: secret, key: 'token' } } }) } as SecretStore;
    return vaultProvider.newClient({ store, namespace: conformanceNs(), kube: kube() });
  };

  providerConformance({
    name: 'vault (OpenBao KV v2)',
    valuesAreMaps: true,
    plainRef: (key) => ({ key, property: 'value' }),
    async put(key, value, opts) {
      let data: Record<string, unknown>;
      try {
        const parsed = JSON.parse(value) as unknown;
        data = parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : { value };
      } catch {
        data = { value };
      }
      const version = await putKv(key, data);
      if (opts?.tags) await root().write(`secret/metadata/${key}`, { custom_metadata: opts.tags });
      return version;
    },
    client: () => clientWith('vault-token', env().VAULT_TOKEN!),
    async deniedClient() {
      // A real token whose only policy is "default": it may not read the KV mount.
      const created = (await root().tokenCreate({ policies: ['default'], ttl: '1h' })) as { auth: { client_token: string } };
      return clientWith('vault-denied', created.auth.client_token);
    },
    serverRequests: () => Promise.resolve(openbaoRequests(stateDir())),
    async throttle() {
      // OpenBao's own rate-limit quota on the KV mount: one request per minute.
      await root().write('sys/quotas/rate-limit/conformance', { path: 'secret/', rate: 1, interval: '1m' });
      return async () => void (await root().delete('sys/quotas/rate-limit/conformance'));
    },
    // No batch read in the Vault API: a data read per secret (metadata comes first only once a value is cached).
    batchCost: (n) => n,
    supports: {
      versions: true,
      versionChecks: true,
      findByName: true,
      findByPath: true,
      findByTags: true,
      metadata: true,
      expiryDates: { no: 'KV secrets carry no expiry date; dynamic secrets carry leases, tested end to end below' },
      rotationDates: { no: 'KV has no rotation schedule' },
      permissions: true,
      throttling: true,
      writes: true,
    },
  });
});

// --- end to end through the operator ----------------------------------------------------------
describe('vault provider', () => {
  useOperator([SECRET_VALUE]);
  beforeAll(async () => {
    await root().write('sys/policies/acl/reader', { policy: 'path "secret/*" { capabilities = ["read", "list"] }\npath "kv1/*" { capabilities = ["read", "list"] }\npath "database/creds/*" { capabilities = ["read"] }\npath "sys/leases/*" { capabilities = ["update"] }' });
  });

  it('token auth: KV v2 values, properties, versions and extract', async () => {
    const ns = await namespaceWithToken();
    const key = `apps/${ns}/db`;
    const v1 = await putKv(key, { user: 'app', password: 'old' });
    await putKv(key, { user: 'app', password: SECRET_VALUE, nested: { host: 'h' } });
    await createStore(ns, 'vault', tokenStore());
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'vault' },
      data: [
        { secretKey: 'password', remoteRef: { key, property: 'password' } },
        { secretKey: 'old', remoteRef: { key, property: 'password', version: v1 } },
        { secretKey: 'host', remoteRef: { key, property: 'nested.host' } },
      ],
      dataFrom: [{ extract: { key }, rewrite: [{ regexp: { source: '^(.*)$', target: 'all_$1' } }] }],
    });
    const es = await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es'))).toEqual({ password: SECRET_VALUE, old: 'old', host: 'h', all_user: 'app', all_password: SECRET_VALUE, all_nested: '{"host":"h"}' });
    expect(es.status?.sources).toEqual(expect.arrayContaining([{ key, version: '2' }, { key, version: '1' }]));
  });

  it('metadataPolicy Fetch: custom metadata instead of the value, whole, by property and extracted; a change is picked up at the next refresh', async () => {
    const ns = await namespaceWithToken();
    const key = `apps/${ns}/tagged`;
    await putKv(key, { password: SECRET_VALUE });
    await root().write(`secret/metadata/${key}`, { custom_metadata: { owner: 'team-a', tier: 'gold' } });
    await createStore(ns, 'vault', tokenStore());
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'vault' },
      refreshInterval: '1s',
      data: [
        { secretKey: 'owner', remoteRef: { key, property: 'owner', metadataPolicy: 'Fetch' } },
        { secretKey: 'all', remoteRef: { key, metadataPolicy: 'Fetch' } },
      ],
      dataFrom: [{ extract: { key, metadataPolicy: 'Fetch' }, rewrite: [{ regexp: { source: '^', target: 'tag-' } }] }],
    });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es'))).toEqual({ owner: 'team-a', all: '{"owner":"team-a","tier":"gold"}', 'tag-owner': 'team-a', 'tag-tier': 'gold' });
    // Metadata changes without a new version: the refresh reads it again rather than trusting the version.
    await root().write(`secret/metadata/${key}`, { custom_metadata: { owner: 'team-b', tier: 'gold' } });
    await waitFor('the new owner', async () => decoded(await getSecret(ns, 'es')).owner === 'team-b', 15_000);
  });

  it('a new KV v2 version is picked up at the next refresh', async () => {
    const ns = await namespaceWithToken();
    const key = `apps/${ns}/rotating`;
    await putKv(key, { password: 'v1' });
    await createStore(ns, 'vault', tokenStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, refreshInterval: '1s', data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    await waitForReady(ns, 'es');
    await putKv(key, { password: 'v2' });
    await waitFor('new version', async () => decoded(await getSecret(ns, 'es')).p === 'v2', 30_000);
    await waitFor('status names the new version', async () => (await getES(ns, 'es')).status?.sources?.[0]?.version === '2');
  });

  it('a deleted latest version is reported at the next refresh, not hidden by the cached value; the Secret stays', async () => {
    const ns = await namespaceWithToken();
    const key = `apps/${ns}/deleted`;
    await putKv(key, { password: SECRET_VALUE });
    await createStore(ns, 'vault', tokenStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, refreshInterval: '1s', data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    await waitForReady(ns, 'es');
    await root().delete(`secret/data/${key}`);
    const es = await waitForReady(ns, 'es', 'False', 'RemoteNotFound', 30_000);
    expect(ready(es)?.message).toContain(key);
    expect(decoded(await getSecret(ns, 'es')).p).toBe(SECRET_VALUE);
  });

  it('KV v1 and dataFrom.find', async () => {
    const ns = await namespaceWithToken();
    await root().write(`kv1/${ns}/one`, { a: '1' });
    await putKv(`${ns}/team/feature-x`, { on: 'yes' });
    await putKv(`${ns}/team/other`, { on: 'no' });
    await createStore(ns, 'v1', tokenStore({ path: 'kv1', version: 'v1' }));
    await createStore(ns, 'v2', tokenStore());
    await createExternalSecret(ns, 'kv1', { secretStoreRef: { name: 'v1' }, data: [{ secretKey: 'a', remoteRef: { key: `${ns}/one`, property: 'a' } }] });
    await createExternalSecret(ns, 'found', { secretStoreRef: { name: 'v2' }, dataFrom: [{ find: { path: `${ns}/team`, name: { regexp: 'feature-' } } }] });
    await waitForReady(ns, 'kv1');
    expect(decoded(await getSecret(ns, 'kv1'))).toEqual({ a: '1' });
    await waitForReady(ns, 'found');
    expect(decoded(await getSecret(ns, 'found'))).toEqual({ [`${ns}_team_feature-x`]: '{"on":"yes"}' });
  });

  it('kubernetes auth: a ServiceAccount token from TokenRequest, checked by OpenBao with TokenReview', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } });
    await root().write(`auth/kubernetes/role/${ns}`, { bound_service_account_names: 'reader', bound_service_account_namespaces: ns, policies: 'reader', audience: 'vault', ttl: '1h' });
    const key = `apps/${ns}/k8s`;
    await putKv(key, { password: SECRET_VALUE });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'reader', audiences: ['vault'] } } } } } });
    await waitForStoreReady(ns, 'vault');
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).p).toBe(SECRET_VALUE);
  });

  it('login tokens that expire are renewed or obtained again, and syncing goes on', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } });
    // Tokens live 3 s and can be renewed for at most 6 s: the test runs well past both.
    await root().write(`auth/kubernetes/role/${ns}`, { bound_service_account_names: 'reader', bound_service_account_namespaces: ns, policies: 'reader', audience: 'vault', token_ttl: '3s', token_max_ttl: '6s' });
    const key = `apps/${ns}/short-token`;
    await putKv(key, { v: 'one' });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'reader', audiences: ['vault'] } } } } } });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key, property: 'v' } }] });
    const first = await waitForReady(ns, 'es');
    await waitFor('refreshes beyond the token max TTL', async () => {
      const es = await getES(ns, 'es');
      return ready(es)?.status === 'True' && Date.parse(es.status!.refreshTime!) - Date.parse(first.status!.refreshTime!) > 9_000;
    }, 30_000);
    await putKv(key, { v: 'two' });
    await waitFor('still reading', async () => decoded(await getSecret(ns, 'es')).v === 'two', 15_000);
  }, 60_000);

  it('kubernetes auth with a ServiceAccount the role does not allow: the store is not Ready', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'intruder', namespace: ns } });
    await root().write(`auth/kubernetes/role/${ns}`, { bound_service_account_names: 'reader', bound_service_account_namespaces: ns, policies: 'reader', audience: 'vault' });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'intruder', audiences: ['vault'] } } } } } });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'p', remoteRef: { key: 'x', property: 'p' } }] });
    await waitFor('store check failure on the ExternalSecret', async () => /provider check failed: .*(denied|not authorized|invalid)/i.test(ready(await getES(ns, 'es'))?.message ?? ''));
    expect(ready(await getES(ns, 'es'))?.reason).toBe('StoreNotReady');
  });

  it('the least-privilege reader policy (read on <mount>/data/* only, no metadata) syncs and follows new versions', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader', namespace: ns } });
    // Exactly the policy most Vault guides give a reader.
    await root().write(`sys/policies/acl/lp-${ns}`, { policy: `path "secret/data/app/${ns}/*" { capabilities = ["read"] }` });
    await root().write(`auth/kubernetes/role/${ns}`, { bound_service_account_names: 'reader', bound_service_account_namespaces: ns, policies: `lp-${ns}`, audience: 'vault', ttl: '1h' });
    const key = `app/${ns}/db`;
    await putKv(key, { password: 'first' });
    await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, auth: { kubernetes: { role: ns, serviceAccountRef: { name: 'reader', audiences: ['vault'] } } } } } });
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, refreshInterval: '1s', data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    const synced = await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).p).toBe('first');
    expect(synced.status?.sources).toEqual([{ key, version: '1' }]);
    await putKv(key, { password: 'second' });
    await waitFor('new version through the data path', async () => decoded(await getSecret(ns, 'es')).p === 'second', 15_000);
    await waitFor('status names version 2', async () => (await getES(ns, 'es')).status?.sources?.[0]?.version === '2');
  });

  it('a changed token Secret renews the login at once: a wrong token makes the store and its ExternalSecrets stop', async () => {
    const ns = await namespaceWithToken();
    const key = `apps/${ns}/rotated-token`;
    await putKv(key, { v: 'one' });
    await createStore(ns, 'vault', tokenStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key, property: 'v' } }] });
    await waitForReady(ns, 'es');
    await kube().mergePatch(Resources.Secret, ns, 'vault-token', { data: { token: Buffer.from('revoked-token').toString('base64') } });
    const store = await waitFor('store no longer valid', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, ns, 'vault');
      return ready(s)?.status === 'False' ? s : undefined;
    }, 15_000);
    expect(ready(store)?.reason).toBe('ValidationFailed');
    expect(ready(store)?.message).toContain('permission denied');
    await waitForReady(ns, 'es', 'False', 'StoreNotReady', 15_000);
    // The right token again: back to Ready without touching the store.
    await kube().mergePatch(Resources.Secret, ns, 'vault-token', { data: { token: Buffer.from(env().VAULT_TOKEN!).toString('base64') } });
    await waitForStoreReady(ns, 'vault');
  });

  it('a changed AppRole secret_id renews the login at once', async () => {
    const ns = await newNamespace();
    const key = `apps/${ns}/approle-rotated`;
    await putKv(key, { v: 'one' });
    await createAppRoleStore(ns);
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'approle' }, data: [{ secretKey: 'v', remoteRef: { key, property: 'v' } }] });
    await waitForReady(ns, 'es');
    await kube().mergePatch(Resources.Secret, ns, 'approle-creds', { data: { secretId: Buffer.from('00000000-0000-0000-0000-000000000000').toString('base64') } });
    await waitForReady(ns, 'es', 'False', 'StoreNotReady', 15_000);
    const store = await kube().get<SecretStore>(Resources.SecretStore, ns, 'approle');
    expect(ready(store)?.reason).toBe('ValidationFailed');
  });

  it('appRole and jwt auth', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'jwt-reader', namespace: ns } });
    await root().write(`auth/jwt/role/${ns}`, { role_type: 'jwt', bound_audiences: 'vault', user_claim: 'sub', bound_subject: `system:serviceaccount:${ns}:jwt-reader`, token_policies: 'reader' });
    const key = `apps/${ns}/auth`;
    await putKv(key, { password: SECRET_VALUE });
    await createAppRoleStore(ns);
    await createStore(ns, 'jwt', { provider: { vault: { server: env().VAULT_ADDR!, auth: { jwt: { role: ns, kubernetesServiceAccountToken: { serviceAccountRef: { name: 'jwt-reader', audiences: ['vault'] } } } } } } });
    for (const store of ['approle', 'jwt']) {
      await createExternalSecret(ns, store, { secretStoreRef: { name: store }, data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
      await waitForReady(ns, store);
      expect(decoded(await getSecret(ns, store)).p).toBe(SECRET_VALUE);
    }
  });

  it('dynamic database credentials: a real login, renewed before expiry, revoked when the ExternalSecret goes', async () => {
    await root().write('database/roles/short', {
      db_name: 'pg', default_ttl: '15s', max_ttl: '10m',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    });
    const ns = await namespaceWithToken();
    await createStore(ns, 'vault', tokenStore());
    await createExternalSecret(ns, 'db', { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', dataFrom: [{ extract: { key: '/database/creds/short' } }] });
    const first = await waitForReady(ns, 'db');
    const creds = decoded(await getSecret(ns, 'db'));
    expect(creds.username).toMatch(/^v-/);
    const expiresAt = Date.parse(first.status!.sources![0]!.expiresAt!);
    expect(expiresAt - Date.parse(first.status!.refreshTime!)).toBeGreaterThan(10_000);
    expect(Date.parse(first.status!.nextRefreshTime!)).toBeLessThan(expiresAt);

    // The credentials work against the real PostgreSQL.
    const pgPort = Number(new URL(env().VAULT_ADDR!).port) + 1;
    const { run } = await import('./harness.js');
    const login = await run('psql', ['-h', '127.0.0.1', '-p', String(pgPort), '-U', creds.username!, '-d', 'postgres', '-tAc', 'select current_user'], { env: { ...process.env, PGPASSWORD: creds.password } });
    expect(login.stdout.trim()).toBe(creds.username);

    // At about 2/3 of the TTL the lease is renewed: same credentials, later expiry.
    const renewed = await waitFor('renewal', async () => {
      const es = await getES(ns, 'db');
      return Date.parse(es.status!.sources![0]!.expiresAt!) > expiresAt ? es : undefined;
    }, 30_000);
    expect(ready(renewed)?.status).toBe('True');
    expect(decoded(await getSecret(ns, 'db')).username).toBe(creds.username);

    // Deleting the ExternalSecret revokes the lease: the database role is dropped.
    await kube().delete(Resources.ExternalSecret, ns, 'db');
    await waitFor('role revoked', async () => {
      const check = await run('psql', ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-tAc', `select count(*) from pg_roles where rolname = '${creds.username}'`]);
      return check.stdout.trim() === '0';
    }, 20_000);
  }, 90_000);

  it('errors: missing key, permission denied, unreachable server; the Secret stays untouched', async () => {
    const limited = ((await root().write('auth/token/create', { policies: ['default'], ttl: '1h' })) as { auth: { client_token: string } }).auth.client_token;
    const ns = await namespaceWithToken();
    await createCredentialSecret(ns, 'limited', { token: limited });
    const key = `apps/${ns}/err`;
    await putKv(key, { password: SECRET_VALUE });
    await createStore(ns, 'vault', tokenStore());
    await createStore(ns, 'limited', tokenStore({ auth: { tokenSecretRef: { name: 'limited', key: 'token' } } }));
    await createStore(ns, 'down', tokenStore({ server: 'http://127.0.0.1:1' }));

    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { data: [{ secretKey: 'p', remoteRef: { key: `${key}-missing`, property: 'password' } }] } });
    expect(ready(await waitForReady(ns, 'es', 'False', 'RemoteNotFound'))?.message).toBe(`remote secret "${key}-missing" not found`);
    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);

    await createExternalSecret(ns, 'denied', { secretStoreRef: { name: 'limited' }, data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    expect(ready(await waitForReady(ns, 'denied', 'False', 'PermissionDenied'))?.message).toBe(`permission denied reading "${key}"`);

    await createExternalSecret(ns, 'unreachable', { secretStoreRef: { name: 'down' }, data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    await waitFor('unreachable reported', async () => (ready(await getES(ns, 'unreachable'))?.message ?? '').includes('cannot reach vault at http://127.0.0.1:1 (ECONNREFUSED)'));
    for (const name of ['es', 'denied', 'unreachable']) expect(JSON.stringify((await getES(ns, name)).status)).not.toContain(SECRET_VALUE);
  });

  it('namespace: requests carry the Vault namespace header', async () => {
    const ns = await namespaceWithToken();
    await root().write(`sys/namespaces/${ns}`, {});
    const inside = NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN, namespace: ns });
    await inside.write('sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    await inside.write('secret/data/only-here', { data: { v: 'in-namespace' } });
    await createStore(ns, 'scoped', tokenStore({ namespace: ns }));
    await createStore(ns, 'root', tokenStore());
    await createExternalSecret(ns, 'scoped', { secretStoreRef: { name: 'scoped' }, data: [{ secretKey: 'v', remoteRef: { key: 'only-here', property: 'v' } }] });
    await createExternalSecret(ns, 'root', { secretStoreRef: { name: 'root' }, data: [{ secretKey: 'v', remoteRef: { key: 'only-here', property: 'v' } }] });
    await waitForReady(ns, 'scoped');
    expect(decoded(await getSecret(ns, 'scoped')).v).toBe('in-namespace');
    await waitForReady(ns, 'root', 'False', 'RemoteNotFound');
  });

  it('TLS: verified against caBundle, refused without it', async () => {
    // A second OpenBao, serving TLS with its own CA, for this test only.
    const certDir = mkdtempSync(join(tmpdir(), 'bao-tls-'));
    const port = 29000 + Math.floor(Math.random() * 900);
    const bao = spawn(join(env().PATH!.split(':').find((p) => p.includes('openbao'))!, 'bao'), [
      'server', '-dev', '-dev-tls', `-dev-tls-cert-dir=${certDir}`, '-dev-root-token-id=root', `-dev-listen-address=127.0.0.1:${port}`,
    ], { stdio: 'ignore' });
    try {
      const server = `https://127.0.0.1:${port}`;
      const ca = await waitFor('TLS OpenBao', () => {
        try {
          return readFileSync(join(certDir, 'vault-ca.pem'), 'utf8');
        } catch {
          return undefined;
        }
      });
      const tlsRoot = NodeVault({ endpoint: server, token: 'root', requestOptions: { ca } });
      await waitFor('TLS OpenBao answering', () => tlsRoot.write('secret/data/tls-only', { data: { v: SECRET_VALUE } }).then(() => true).catch(() => false));
      const ns = await namespaceWithToken('root');
      await createStore(ns, 'verified', tokenStore({ server, caBundle: Buffer.from(ca).toString('base64') }));
      await createStore(ns, 'unverified', tokenStore({ server }));
      await createExternalSecret(ns, 'verified', { secretStoreRef: { name: 'verified' }, data: [{ secretKey: 'v', remoteRef: { key: 'tls-only', property: 'v' } }] });
      await createExternalSecret(ns, 'unverified', { secretStoreRef: { name: 'unverified' }, data: [{ secretKey: 'v', remoteRef: { key: 'tls-only', property: 'v' } }] });
      await waitForReady(ns, 'verified');
      expect(decoded(await getSecret(ns, 'verified')).v).toBe(SECRET_VALUE);
      await waitFor('unverified refused', async () => /provider check failed: .*certificate/i.test(ready(await getES(ns, 'unverified'))?.message ?? ''));
      expect(await getSecret(ns, 'unverified')).toBeUndefined();
    } finally {
      bao.kill();
      rmSync(certDir, { recursive: true, force: true });
    }
  });

  it('a SecretStore may not read its token from another namespace', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.SecretStore, {
      apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name: 'sneaky', namespace: ns },
      spec: tokenStore({ auth: { tokenSecretRef: { name: 'vault-token', key: 'token', namespace: 'kube-system' } } }),
    } as never);
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'sneaky' }, data: [{ secretKey: 'p', remoteRef: { key: 'x', property: 'p' } }] });
    await waitFor('cross-namespace reference refused', async () =>
      (ready(await getES(ns, 'es'))?.message ?? '').includes('spec.provider.vault.auth.tokenSecretRef may not point to namespace "kube-system"'));
  });
});

// --- a restarted operator, whose caches are empty ---------------------------------------------
describe('vault refresh after an operator restart', () => {
  it('confirms unchanged values by their metadata version alone, and reads the values that moved', async () => {
    const ns = await namespaceWithToken();
    const still = `apps/${ns}/still`;
    const moving = `apps/${ns}/moving`;
    await putKv(still, { password: SECRET_VALUE });
    await putKv(moving, { password: 'before' });
    await createStore(ns, 'vault', tokenStore());
    const readers = { s1: still, s2: still, s3: still, m1: moving, m2: moving };
    for (const [name, key] of Object.entries(readers)) {
      await createExternalSecret(ns, name, { secretStoreRef: { name: 'vault' }, refreshInterval: '6s', data: [{ secretKey: 'p', remoteRef: { key, property: 'password' } }] });
    }
    const scoped = { watchNamespace: ns, clusterSecretStores: false };
    const first = await startOperator(scoped);
    try {
      for (const name of Object.keys(readers)) await waitForReady(ns, name);
    } finally {
      await first.stop();
    }
    const written = new Map<string, string | undefined>();
    for (const name of ['s1', 's2', 's3']) written.set(name, (await getSecret(ns, name))?.metadata.resourceVersion);
    await putKv(moving, { password: 'after' });

    const before = openbaoRequestPaths(stateDir()).length;
    const restartedAt = Date.now();
    const second = await startOperator(scoped);
    try {
      await waitFor('every ExternalSecret refreshed by the restarted operator', async () => {
        for (const name of Object.keys(readers)) {
          const es = await getES(ns, name);
          if (Date.parse(es.status?.refreshTime ?? '') < restartedAt - 1000 || ready(es)?.status !== 'True') return false;
        }
        return true;
      }, 30_000);
      await waitFor('the moved value', async () => decoded(await getSecret(ns, 'm1')).p === 'after' && decoded(await getSecret(ns, 'm2')).p === 'after');
    } finally {
      await second.stop();
    }
    const paths = openbaoRequestPaths(stateDir()).slice(before);
    const count = (path: string) => paths.filter((p) => p === path).length;
    // One metadata read serves the three readers of the unchanged key; its value is never read.
    expect(count(`secret/metadata/${still}`)).toBe(1);
    expect(count(`secret/data/${still}`)).toBe(0);
    for (const name of ['s1', 's2', 's3']) expect((await getSecret(ns, name))?.metadata.resourceVersion).toBe(written.get(name));
    // The moved key: its version check, then one data read both readers share (nothing cached to compare).
    expect(count(`secret/metadata/${moving}`)).toBe(1);
    expect(count(`secret/data/${moving}`)).toBe(1);
    expect((await getES(ns, 'm1')).status?.sources).toEqual([{ key: moving, version: '2' }]);
  });
});
