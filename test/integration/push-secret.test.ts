// PushSecrets and generators end to end, under the shipped RBAC: the operator
// writes to OpenBao (KV v2 and v1) and moto through PushSecrets, and fills
// Secrets from generators (Password, UUID, VaultDynamicSecret against
// OpenBao's database engine, ECRAuthorizationToken against moto).
import NodeVault from 'node-vault';
import { describe, expect, it } from 'vitest';
import type { PushSecret, PushSecretSpec, SecretStoreSpec } from '../../src/api/types.js';
import { LEASES_FINALIZER } from '../../src/api/names.js';
import { GENERATOR_STATE_ANNOTATION } from '../../src/generators/state.js';
import { API_VERSION, Resources, type Secret } from '../../src/kube/types.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, getES, getSecret, kube, newNamespace, providerEnv, ready,
  operatorServiceAccountConfig, startOperator, useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const env = () => providerEnv();
const root = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
const SECRET_VALUE = 'pushed-secret-value-5t6y7u';

const vaultStore = (extra: Partial<NonNullable<SecretStoreSpec['provider']['vault']>> = {}): SecretStoreSpec =>
  ({ provider: { vault: { server: env().VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } }, ...extra } } });

async function pusherNamespace(): Promise<string> {
  const ns = await newNamespace();
  // Least privilege for a pushing store: its own prefix, KV v2 data and metadata, and KV v1.
  await root().write(`sys/policies/acl/pusher-${ns}`, {
    policy: `path "secret/data/push/${ns}/*" { capabilities = ["create", "update", "read"] }\npath "secret/metadata/push/${ns}/*" { capabilities = ["create", "update", "read", "delete"] }\npath "kv1/push/${ns}/*" { capabilities = ["create", "update", "read", "delete"] }`,
  });
  const created = (await root().tokenCreate({ policies: [`pusher-${ns}`], ttl: '1h' })) as { auth: { client_token: string } };
  await createCredentialSecret(ns, 'vault-token', { token: created.auth.client_token });
  await createStore(ns, 'vault', vaultStore());
  await createStore(ns, 'kv1', vaultStore({ path: 'kv1', version: 'v1' }));
  await Promise.all([waitForStoreReady(ns, 'vault'), waitForStoreReady(ns, 'kv1')]);
  return ns;
}

async function createSource(ns: string, name: string, data: Record<string, string>): Promise<void> {
  await kube().create<Secret>(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: ns }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) });
}

async function createPush(ns: string, name: string, spec: PushSecretSpec): Promise<void> {
  await kube().create<PushSecret>(Resources.PushSecret, { apiVersion: API_VERSION, kind: 'PushSecret', metadata: { name, namespace: ns }, spec });
}

const getPush = (ns: string, name: string) => kube().getOrUndefined<PushSecret>(Resources.PushSecret, ns, name);

async function waitPush(ns: string, name: string, status: 'True' | 'False', reason?: string): Promise<PushSecret> {
  return waitFor(`PushSecret ${ns}/${name} Ready=${status} ${reason ?? ''}`, async () => {
    const ps = await getPush(ns, name);
    const r = ps && ready(ps);
    return r?.status === status && (!reason || r.reason === reason) && ps!.status?.observedGeneration === ps!.metadata.generation ? ps : undefined;
  }, 30_000);
}

const readKv = async (path: string) => ((await root().read(`secret/data/${path}`)) as { data: { data: Record<string, string>; metadata: { version: number } } }).data;
const kvGone = async (path: string) => root().read(`secret/metadata/${path}`).then(() => false, (e: { response?: { statusCode?: number } }) => e.response?.statusCode === 404);

describe('PushSecret', () => {
  useOperator([SECRET_VALUE], { asServiceAccount: true });

  it('pushes keys (by property, and the whole Secret) to Vault KV v2, records ownership, and pushes again when the Secret changes', async () => {
    const ns = await pusherNamespace();
    await createSource(ns, 'app', { password: SECRET_VALUE, user: 'app' });
    await createPush(ns, 'push', {
      refreshInterval: '1h',
      secretStoreRefs: [{ name: 'vault' }],
      selector: { secret: { name: 'app' } },
      data: [
        { match: { secretKey: 'password', remoteRef: { remoteKey: `push/${ns}/db`, property: 'password' } } },
        { match: { secretKey: 'user', remoteRef: { remoteKey: `push/${ns}/db`, property: 'user' } } },
        { match: { remoteRef: { remoteKey: `push/${ns}/all` } } },
      ],
    });
    const ps = await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect((await readKv(`push/${ns}/db`)).data).toEqual({ password: SECRET_VALUE, user: 'app' });
    expect((await readKv(`push/${ns}/all`)).data).toEqual({ password: SECRET_VALUE, user: 'app' });
    const meta = ((await root().read(`secret/metadata/push/${ns}/db`)) as { data: { custom_metadata: Record<string, string> } }).data.custom_metadata;
    expect(meta).toEqual({ 'managed-by': 'secretsync', 'secretsync-owner': `${ns}/push` });
    const recorded = ps.status!.syncedPushSecrets!['SecretStore/vault']![`push/${ns}/db`]!;
    expect(recorded).toMatchObject({ remoteKey: `push/${ns}/db`, version: '1', state: 'Written' });
    expect(JSON.stringify(ps.status)).not.toContain(SECRET_VALUE);

    // A change to the Secret is pushed at once (its watch), not at the hour.
    await kube().mergePatch(Resources.Secret, ns, 'app', { data: { password: Buffer.from('rotated').toString('base64') } });
    await waitFor('the rotated password in Vault', async () => (await readKv(`push/${ns}/db`)).data.password === 'rotated');
    expect((await readKv(`push/${ns}/db`)).metadata.version).toBe(2);
  });

  it('never overwrites a remote secret someone else wrote; IfNotExists leaves it and is Ready', async () => {
    const ns = await pusherNamespace();
    await root().write(`secret/data/push/${ns}/theirs`, { data: { v: 'by hand' } });
    await createSource(ns, 'app', { v: SECRET_VALUE });
    await createPush(ns, 'push', { secretStoreRefs: [{ name: 'vault' }], selector: { secret: { name: 'app' } }, data: [{ match: { secretKey: 'v', remoteRef: { remoteKey: `push/${ns}/theirs`, property: 'v' } } }] });
    const failed = await waitPush(ns, 'push', 'False', 'RemoteSecretNotOwned');
    expect(ready(failed)!.message).toContain(`push/${ns}/theirs`);
    expect(ready(failed)!.message).not.toContain(SECRET_VALUE);
    expect((await readKv(`push/${ns}/theirs`)).data).toEqual({ v: 'by hand' });
    await waitFor('a RemoteSecretNotOwned Event', async () => (await events(ns, 'push')).some((e) => e.reason === 'RemoteSecretNotOwned'));

    await kube().mergePatch(Resources.PushSecret, ns, 'push', { spec: { updatePolicy: 'IfNotExists' } });
    const left = await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect(left.status!.syncedPushSecrets!['SecretStore/vault']![`push/${ns}/theirs`]!.state).toBe('LeftAsIs');
    expect((await readKv(`push/${ns}/theirs`)).data).toEqual({ v: 'by hand' });
  });

  it('a secret External Secrets Operator pushed is refused, naming the way to take it over; with the annotation it is adopted and owned from then on', async () => {
    const ns = await pusherNamespace();
    await root().write(`secret/data/push/${ns}/from-eso`, { data: { token: 'eso-value' } });
    await root().write(`secret/metadata/push/${ns}/from-eso`, { custom_metadata: { 'managed-by': 'external-secrets' } });
    await createSource(ns, 'app', { token: SECRET_VALUE });
    await createPush(ns, 'push', { secretStoreRefs: [{ name: 'vault' }], selector: { secret: { name: 'app' } }, data: [{ match: { secretKey: 'token', remoteRef: { remoteKey: `push/${ns}/from-eso`, property: 'token' } } }] });
    const refused = await waitPush(ns, 'push', 'False', 'RemoteSecretNotOwned');
    expect(ready(refused)!.message).toContain('by External Secrets Operator (annotate the PushSecret secretsync.dev/adopt-external-secrets: "true" to take it over)');
    expect((await readKv(`push/${ns}/from-eso`)).data).toEqual({ token: 'eso-value' });

    await kube().mergePatch(Resources.PushSecret, ns, 'push', { metadata: { annotations: { 'secretsync.dev/adopt-external-secrets': 'true' } } });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect((await readKv(`push/${ns}/from-eso`)).data).toEqual({ token: SECRET_VALUE });
    const meta = ((await root().read(`secret/metadata/push/${ns}/from-eso`)) as { data: { custom_metadata: Record<string, string> } }).data.custom_metadata;
    expect(meta).toEqual({ 'managed-by': 'secretsync', 'secretsync-owner': `${ns}/push` });
    await waitFor('a RemoteAdopted Event', async () => (await events(ns, 'push')).some((e) => e.reason === 'RemoteAdopted'));
  });

  it('a missing source Secret or key writes nothing and says so; the PushSecret pushes once the Secret appears', async () => {
    const ns = await pusherNamespace();
    await createPush(ns, 'push', { secretStoreRefs: [{ name: 'vault' }], selector: { secret: { name: 'later' } }, data: [{ match: { secretKey: 'k', remoteRef: { remoteKey: `push/${ns}/later`, property: 'k' } } }] });
    await waitPush(ns, 'push', 'False', 'SourceSecretNotFound');
    expect(await kvGone(`push/${ns}/later`)).toBe(true);
    await createSource(ns, 'later', { k: 'arrived' });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect((await readKv(`push/${ns}/later`)).data).toEqual({ k: 'arrived' });
  });

  it('template: the pushed value is shaped from the Secret\'s keys; a template error writes nothing and says where', async () => {
    const ns = await pusherNamespace();
    await createSource(ns, 'db', { user: 'app', password: SECRET_VALUE });
    await createPush(ns, 'push', {
      secretStoreRefs: [{ name: 'vault' }],
      selector: { secret: { name: 'db' } },
      template: { data: { dsn: 'postgres://{{ user }}:{{ password }}@db:5432/app' } },
      data: [{ match: { secretKey: 'dsn', remoteRef: { remoteKey: `push/${ns}/dsn`, property: 'dsn' } } }],
    });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect((await readKv(`push/${ns}/dsn`)).data).toEqual({ dsn: `postgres://app:${SECRET_VALUE}@db:5432/app` });
    await kube().mergePatch(Resources.PushSecret, ns, 'push', { spec: { template: { data: { dsn: '{{ password | nosuchfilter }}' } } } });
    const failed = await waitPush(ns, 'push', 'False', 'TemplateError');
    expect(ready(failed)!.message).toContain('template.data["dsn"]');
    expect(ready(failed)!.message).not.toContain(SECRET_VALUE);
    expect((await readKv(`push/${ns}/dsn`)).metadata.version).toBe(1);
  });

  it('deletionPolicy Delete deletes what it owns when an entry goes and when the PushSecret goes; KV v1 ownership comes from status', async () => {
    const ns = await pusherNamespace();
    await createSource(ns, 'app', { a: '1', b: '2' });
    await createPush(ns, 'push', {
      deletionPolicy: 'Delete',
      secretStoreRefs: [{ name: 'vault' }, { name: 'kv1' }],
      selector: { secret: { name: 'app' } },
      data: [
        { match: { secretKey: 'a', remoteRef: { remoteKey: `push/${ns}/a`, property: 'a' } } },
        { match: { secretKey: 'b', remoteRef: { remoteKey: `push/${ns}/b`, property: 'b' } } },
      ],
    });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect(((await root().read(`kv1/push/${ns}/a`)) as { data: Record<string, string> }).data).toEqual({ a: '1' });
    expect((await getPush(ns, 'push'))!.metadata.finalizers).toContain('secretsync.dev/push-cleanup');

    // Entry b goes: its remote secrets go, in both stores.
    const current = (await getPush(ns, 'push'))!;
    await kube().mergePatch(Resources.PushSecret, ns, 'push', { spec: { data: [current.spec.data[0]] } });
    await waitFor('b deleted in KV v2', () => kvGone(`push/${ns}/b`));
    await waitFor('b deleted in KV v1', () => root().read(`kv1/push/${ns}/b`).then(() => false, () => true));
    expect((await readKv(`push/${ns}/a`)).data).toEqual({ a: '1' });

    await kube().delete(Resources.PushSecret, ns, 'push');
    await waitFor('the PushSecret gone (finalizer released)', async () => !(await getPush(ns, 'push')));
    expect(await kvGone(`push/${ns}/a`)).toBe(true);
    expect(await root().read(`kv1/push/${ns}/a`).then(() => false, () => true)).toBe(true);
  });

  it('a generator feeds a PushSecret: one password, kept across refreshes in the state Secret', async () => {
    const ns = await pusherNamespace();
    await kube().create(Resources.Password, { apiVersion: API_VERSION, kind: 'Password', metadata: { name: 'pw', namespace: ns }, spec: { length: 32, symbols: 0 } });
    await createPush(ns, 'push', { secretStoreRefs: [{ name: 'vault' }], selector: { generatorRef: { kind: 'Password', name: 'pw' } }, data: [{ match: { secretKey: 'password', remoteRef: { remoteKey: `push/${ns}/gen`, property: 'password' } } }] });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    const first = (await readKv(`push/${ns}/gen`)).data.password!;
    expect(first).toMatch(/^[A-Za-z0-9]{32}$/);
    const state = (await getSecret(ns, 'push-generated'))!;
    expect(decoded(state).password).toBe(first);
    expect(state.metadata.ownerReferences?.[0]?.kind).toBe('PushSecret');
    // A spec change re-runs the push: the kept password, not a new one, and no new version.
    await kube().mergePatch(Resources.PushSecret, ns, 'push', { spec: { refreshInterval: '30m' } });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect((await readKv(`push/${ns}/gen`)).data.password).toBe(first);
    expect((await readKv(`push/${ns}/gen`)).metadata.version).toBe(1);
  });

  it('VaultDynamicSecret feeds a PushSecret: the replaced lease is revoked once the new credentials are pushed; deletionPolicy Delete deletes the copy and revokes the lease', async () => {
    const ns = await pusherNamespace();
    const { liveLeases } = await dynamicCredentials('3s', ns);
    await createPush(ns, 'push', {
      deletionPolicy: 'Delete', refreshInterval: '1s', secretStoreRefs: [{ name: 'vault' }], selector: { generatorRef: { kind: 'VaultDynamicSecret', name: 'db' } },
      data: [{ match: { secretKey: 'username', remoteRef: { remoteKey: `push/${ns}/db`, property: 'username' } } }],
    });
    await waitPush(ns, 'push', 'True', 'SecretPushed');
    const first = (await readKv(`push/${ns}/db`)).data.username;
    await waitFor('new credentials pushed', async () => (await readKv(`push/${ns}/db`)).data.username !== first);
    await waitFor('the replaced lease revoked', async () => (await liveLeases()) === 1);
    await kube().delete(Resources.PushSecret, ns, 'push');
    await waitFor('the PushSecret gone (finalizer released)', async () => !(await getPush(ns, 'push')));
    expect(await kvGone(`push/${ns}/db`)).toBe(true);
    expect(await liveLeases()).toBe(0);
  });

  it('pushes to AWS Secrets Manager (moto) with ownership tags', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'aws-creds', { id: 'AKIAPUSH', secret: 'push-secret-key' });
    await createStore(ns, 'aws', { provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: env().AWS_ENDPOINT_URL!, auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } } } } });
    await waitForStoreReady(ns, 'aws');
    await createSource(ns, 'app', { token: SECRET_VALUE });
    await createPush(ns, 'push', { secretStoreRefs: [{ name: 'aws' }], selector: { secret: { name: 'app' } }, data: [{ match: { secretKey: 'token', remoteRef: { remoteKey: `push-${ns}-token` } } }] });
    const ps = await waitPush(ns, 'push', 'True', 'SecretPushed');
    expect(ps.status!.syncedPushSecrets!['SecretStore/aws']![`push-${ns}-token`]!.version).toMatch(/.+/);
    const { SecretsManagerClient, DescribeSecretCommand, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: env().AWS_ENDPOINT_URL, credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    expect((await sm.send(new GetSecretValueCommand({ SecretId: `push-${ns}-token` }))).SecretString).toBe(SECRET_VALUE);
    const tags = (await sm.send(new DescribeSecretCommand({ SecretId: `push-${ns}-token` }))).Tags;
    expect(tags).toEqual(expect.arrayContaining([{ Key: 'managed-by', Value: 'secretsync' }, { Key: 'secretsync-owner', Value: `${ns}/push` }]));
  });
});

/** A database role of the namespace's own (the leases counted are its only), and a VaultDynamicSecret "db" for it. */
async function dynamicCredentials(refreshInterval?: string, ns?: string): Promise<{ ns: string; liveLeases: () => Promise<number> }> {
  ns ??= await newNamespace();
  const role = `gen-${ns}`;
  await root().write(`database/roles/${role}`, {
    db_name: 'pg', default_ttl: '2m', max_ttl: '10m',
    creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
  });
  await root().write('sys/policies/acl/dyn-gen', { policy: 'path "database/creds/gen-*" { capabilities = ["read"] }\npath "sys/leases/revoke" { capabilities = ["update"] }' });
  const created = (await root().tokenCreate({ policies: ['dyn-gen'], ttl: '1h' })) as { auth: { client_token: string } };
  await createCredentialSecret(ns, 'dyn-token', { token: created.auth.client_token });
  await kube().create(Resources.VaultDynamicSecret, { apiVersion: API_VERSION, kind: 'VaultDynamicSecret', metadata: { name: 'db', namespace: ns }, spec: { provider: vaultStore({ auth: { tokenSecretRef: { name: 'dyn-token', key: 'token' } } }).provider.vault, path: `database/creds/${role}`, refreshInterval } });
  const liveLeases = async () => ((await root().list(`sys/leases/lookup/database/creds/${role}/`).catch(() => ({ data: { keys: [] } }))) as { data: { keys: string[] } }).data.keys.length;
  return { ns, liveLeases };
}

describe('generators across an operator restart', () => {
  it('Password and UUID without a store: generated once, stable across syncs and an operator restart, rotated by refreshInterval', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.Password, { apiVersion: API_VERSION, kind: 'Password', metadata: { name: 'pw', namespace: ns }, spec: { length: 20, digits: 5, symbols: 3, symbolCharacters: '-_.', noUpper: true } });
    await kube().create(Resources.UUID, { apiVersion: API_VERSION, kind: 'UUID', metadata: { name: 'id', namespace: ns }, spec: { refreshInterval: '3s' } });
    await createExternalSecret(ns, 'gen', {
      refreshInterval: '1s',
      dataFrom: [
        { sourceRef: { generatorRef: { kind: 'Password', name: 'pw' } } },
        { sourceRef: { generatorRef: { kind: 'UUID', name: 'id' } }, rewrite: [{ regexp: { source: '^uuid$', target: 'instance-id' } }] },
      ],
    });
    const serviceAccount = await operatorServiceAccountConfig();
    const firstOperator = await startOperator({ kubeConfig: serviceAccount });
    try {
      await waitForReady(ns, 'gen');
    } finally {
      await firstOperator.stop();
    }
    const first = decoded(await getSecret(ns, 'gen'));
    expect(first.password).toMatch(/^[a-z0-9_.-]{20}$/);
    expect(first.password!.replace(/[^0-9]/g, '')).toHaveLength(5);
    expect(first.password!.replace(/[^-_.]/g, '')).toHaveLength(3);
    expect(first['instance-id']).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const state = (await getSecret(ns, 'gen'))!.metadata.annotations![GENERATOR_STATE_ANNOTATION]!;
    expect(state).toMatch(/^v1\./);
    expect(state).not.toContain(first.password);

    // A new operator (a restart: nothing in memory) refreshes every second: the password stays, the UUID rotates at its interval.
    const second = await startOperator({ kubeConfig: serviceAccount });
    try {
      const rotated = await waitFor('a new UUID after 3 s', async () => {
        const now = decoded(await getSecret(ns, 'gen'));
        return now['instance-id'] !== first['instance-id'] ? now : undefined;
      }, 20_000);
      expect(rotated.password).toBe(first.password);
    } finally {
      await second.stop();
    }
  });

});

describe('generators in ExternalSecrets', () => {
  useOperator([], { asServiceAccount: true });

  it('a missing generator is GeneratorNotFound and writes nothing; a malformed generator is refused by the API server', async () => {
    const ns = await newNamespace();
    await createExternalSecret(ns, 'gen', { dataFrom: [{ sourceRef: { generatorRef: { kind: 'Password', name: 'absent' } } }] });
    const es = await waitForReady(ns, 'gen', 'False', 'GeneratorNotFound');
    expect(ready(es)!.message).toContain('Password "absent" not found');
    expect(await getSecret(ns, 'gen')).toBeUndefined();
    await expect(kube().create(Resources.Password, { apiVersion: API_VERSION, kind: 'Password', metadata: { name: 'bad', namespace: ns }, spec: { length: 4, digits: 3, symbols: 3 } })).rejects.toThrow(/digits plus symbols cannot exceed length/);
    await expect(createExternalSecret(ns, 'nostore', { data: [{ secretKey: 'a', remoteRef: { key: 'a' } }] })).rejects.toThrow(/secretStoreRef is required/);
  });

  it('VaultDynamicSecret: database credentials with their lease, replaced (and the old lease revoked) at refreshInterval, revoked when the ExternalSecret goes', async () => {
    const { ns, liveLeases } = await dynamicCredentials('4s');
    await createExternalSecret(ns, 'db', { refreshInterval: '1s', dataFrom: [{ sourceRef: { generatorRef: { kind: 'VaultDynamicSecret', name: 'db' } } }] });
    await waitForReady(ns, 'db');
    const first = decoded(await getSecret(ns, 'db'));
    expect(first.username).toMatch(/^v-/);
    const next = await waitFor('new database credentials', async () => {
      const now = decoded(await getSecret(ns, 'db'));
      return now.username !== first.username ? now : undefined;
    }, 30_000);
    expect(next.password).not.toBe(first.password);
    // The replaced lease is revoked once the Secret holds the new credentials: one live lease, not two.
    await waitFor('the replaced lease revoked', async () => (await liveLeases()) === 1);
    expect((await getES(ns, 'db')).metadata.finalizers).toContain(LEASES_FINALIZER);

    // Deleting the ExternalSecret revokes the lease behind its credentials (its finalizer holds it until then), not at the TTL.
    await kube().delete(Resources.ExternalSecret, ns, 'db');
    await waitFor('the ExternalSecret released by its finalizer', async () => (await kube().getOrUndefined(Resources.ExternalSecret, ns, 'db')) === undefined);
    expect(await liveLeases()).toBe(0);
  });

  it('VaultDynamicSecret deleted before its ExternalSecret: nothing can revoke the lease, a Warning says so, and the ExternalSecret is released', async () => {
    const { ns, liveLeases } = await dynamicCredentials();
    await createExternalSecret(ns, 'db', { dataFrom: [{ sourceRef: { generatorRef: { kind: 'VaultDynamicSecret', name: 'db' } } }] });
    await waitForReady(ns, 'db');
    expect(await liveLeases()).toBe(1);
    await kube().delete(Resources.VaultDynamicSecret, ns, 'db');
    await kube().delete(Resources.ExternalSecret, ns, 'db');
    await waitFor('the ExternalSecret released by its finalizer', async () => (await kube().getOrUndefined(Resources.ExternalSecret, ns, 'db')) === undefined);
    const warning = await waitFor('a LeasesNotRevoked Event', async () => (await events(ns, 'db')).find((e) => e.reason === 'LeasesNotRevoked'));
    expect(warning.message).toBe('1 lease(s) of generated values cannot be revoked and end at their TTL: their generator is gone');
    expect(await liveLeases()).toBe(1);
  });

  it('ECRAuthorizationToken: a registry login from moto', async () => {
    const ns = await newNamespace();
    await createCredentialSecret(ns, 'aws-creds', { id: 'AKIAECR', secret: 'ecr-secret-key' });
    await kube().create(Resources.ECRAuthorizationToken, { apiVersion: API_VERSION, kind: 'ECRAuthorizationToken', metadata: { name: 'ecr', namespace: ns }, spec: { region: 'us-east-1', endpoint: env().AWS_ENDPOINT_URL, auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } } } });
    await createExternalSecret(ns, 'ecr', {
      dataFrom: [{ sourceRef: { generatorRef: { kind: 'ECRAuthorizationToken', name: 'ecr' } } }],
      target: { template: { type: 'kubernetes.io/dockerconfigjson', data: { '.dockerconfigjson': '{"auths":{"{{ proxy_endpoint }}":{"username":"{{ username }}","password":"{{ password }}"}}}' } } },
    });
    await waitForReady(ns, 'ecr');
    const secret = (await getSecret(ns, 'ecr'))!;
    expect(secret.type).toBe('kubernetes.io/dockerconfigjson');
    const config = JSON.parse(decoded(secret)['.dockerconfigjson']!) as { auths: Record<string, { username: string; password: string }> };
    const [endpoint, login] = Object.entries(config.auths)[0]!;
    expect(endpoint).toMatch(/^https:\/\/\d+\.dkr\.ecr\.us-east-1\.amazonaws\.com$/);
    expect(login.username).toBe('AWS');
    expect(login.password.length).toBeGreaterThan(10);
  });
});

describe('malformed PushSecrets and generators', () => {
  it('the API server refuses them with the rule broken, and `secretsync validate` agrees on every one', async () => {
    const ns = await newNamespace();
    const push = (spec: Record<string, unknown>) => ({ kind: 'PushSecret', spec: { secretStoreRefs: [{ name: 'v' }], selector: { secret: { name: 's' } }, data: [{ match: { secretKey: 'a', remoteRef: { remoteKey: 'x' } } }], ...spec } });
    const cases: Array<[string, { kind: string; spec: unknown }, RegExp | undefined]> = [
      ['valid PushSecret', push({}), undefined],
      ['no data', push({ data: [] }), /data/],
      ['whole Secret with a property', push({ data: [{ match: { remoteRef: { remoteKey: 'x', property: 'p' } } }] }), /cannot set remoteRef.property/],
      ['two selectors', push({ selector: { secret: { name: 's' }, generatorRef: { kind: 'UUID', name: 'u' } } }), /exactly one of secret or generatorRef/],
      ['store by name and selector', push({ secretStoreRefs: [{ name: 'v', labelSelector: { matchLabels: { a: 'b' } } }] }), /exactly one of name or labelSelector/],
      ['unknown updatePolicy', push({ updatePolicy: 'Overwrite' }), /Unsupported value/],
      ['unknown generator kind', push({ selector: { generatorRef: { kind: 'Fake', name: 'f' } } }), /Unsupported value/],
      ['ReverseUnicode', push({ data: [{ match: { secretKey: 'a', remoteRef: { remoteKey: 'x' } }, conversionStrategy: 'ReverseUnicode' }] }), /Unsupported value/],
      ['valid Password', { kind: 'Password', spec: { length: 30, digits: 4, symbols: 4 } }, undefined],
      ['Password too short for its digits', { kind: 'Password', spec: { length: 5, digits: 4, symbols: 4 } }, /digits plus symbols cannot exceed length/],
      ['Password longer than its distinct characters', { kind: 'Password', spec: { length: 200 } }, /distinct characters/],
      ['Password with a bad interval', { kind: 'Password', spec: { refreshInterval: 'daily' } }, /refreshInterval|should match/],
      ['ECR without region', { kind: 'ECRAuthorizationToken', spec: {} }, /region/],
      ['VaultDynamicSecret without path', { kind: 'VaultDynamicSecret', spec: { provider: { server: 'https://v', auth: { tokenSecretRef: { name: 't', key: 'k' } } } } }, /path/],
      ['VaultDynamicSecret with two auth methods', { kind: 'VaultDynamicSecret', spec: { path: 'db/creds/a', provider: { server: 'https://v', auth: { tokenSecretRef: { name: 't', key: 'k' }, appRole: { roleId: 'r', secretRef: { name: 's', key: 'k' } } } } } }, /exactly one of tokenSecretRef/],
      ['GCR with a bad project', { kind: 'GCRAccessToken', spec: { projectID: 'No_Such' } }, /projectID|should match/],
      ['ExternalSecret without a store reading a store', { kind: 'ExternalSecret', spec: { data: [{ secretKey: 'a', remoteRef: { key: 'k' } }] } }, /secretStoreRef is required/],
      ['ExternalSecret with a generator and creationPolicy None', { kind: 'ExternalSecret', spec: { target: { creationPolicy: 'None' }, dataFrom: [{ sourceRef: { generatorRef: { kind: 'UUID', name: 'u' } } }] } }, /creationPolicy None cannot be used/],
      ['ExternalSecret with only generators', { kind: 'ExternalSecret', spec: { dataFrom: [{ sourceRef: { generatorRef: { kind: 'UUID', name: 'u' } } }] } }, undefined],
    ];
    const { schemaProblems } = await import('../../src/validation/schema.js');
    const { KubeApiError } = await import('../../src/kube/client.js');
    for (const [i, [name, c, refusal]] of cases.entries()) {
      const body = { apiVersion: API_VERSION, kind: c.kind, metadata: { name: `m-${i}`, namespace: ns }, spec: c.spec };
      const offline = schemaProblems(body).map((p) => `${p.path}: ${p.message}`).join('; ');
      const online = await kube().request('POST', kube().path(Resources[c.kind as 'PushSecret'], ns), { body, query: { fieldValidation: 'Strict' } }).then(() => '', (err: unknown) => {
        if (!(err instanceof KubeApiError)) throw err;
        return err.message;
      });
      if (refusal) {
        expect(online, name).toMatch(refusal);
        expect(offline, name).toMatch(refusal);
      } else {
        expect(online, name).toBe('');
        expect(offline, name).toBe('');
      }
    }
  });
});
