// The aws provider against a real moto server (through a counting proxy that
// can also inject throttling), and the real kube-apiserver for web identity.
import {
  CreateSecretCommand, DeleteSecretCommand, PutSecretValueCommand, RotateSecretCommand, SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import type { SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { Resources } from '../../src/kube/types.js';
import { awsProvider } from '../../src/providers/aws/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { startAwsProxy, type AwsProxy } from '../support/aws-proxy.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, getES, getSecret, kube, newNamespace, providerEnv, ready,
  startOperator, useNamespaceWithSecret, useOperator, waitFor, waitForReady,
} from './harness.js';

const SECRET_VALUE = 'aws-secret-value-5t6y7u';
const sm = () => new SecretsManagerClient({ region: 'us-east-1', endpoint: providerEnv().AWS_ENDPOINT_URL, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });

let proxy: AwsProxy;
beforeAll(async () => {
  proxy = await startAwsProxy(providerEnv().AWS_ENDPOINT_URL!);
});
afterAll(() => proxy.close());

async function put(name: string, value: string | Uint8Array, tags?: Record<string, string>): Promise<string> {
  const body = typeof value === 'string' ? { SecretString: value } : { SecretBinary: value };
  try {
    const out = await sm().send(new CreateSecretCommand({ Name: name, ...body, Tags: tags ? Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) : undefined }));
    return out.VersionId!;
  } catch (err) {
    if ((err as Error).name !== 'ResourceExistsException') throw err;
    return (await sm().send(new PutSecretValueCommand({ SecretId: name, ...body }))).VersionId!;
  }
}

function staticStore(endpoint = proxy.url): SecretStoreSpec {
  return {
    provider: {
      aws: {
        service: 'SecretsManager', region: 'us-east-1', endpoint,
        auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } },
      },
    },
  };
}

async function namespaceWithCreds(): Promise<string> {
  const ns = await newNamespace();
  await createCredentialSecret(ns, 'aws-creds', { id: 'testing', secret: 'testing' });
  return ns;
}

describe('aws conformance', () => {
  const conformanceNs = useNamespaceWithSecret('aws-conf', 'aws-creds', () => ({ id: 'testing', secret: 'testing' }));
  const clientWith = async (id: string) => {
    if (id !== 'testing') await createCredentialSecret(conformanceNs(), `aws-${id}`, { id, secret: id }).catch(() => undefined);
    const spec = staticStore();
    const ref = spec.provider.aws!.auth!.secretRef!;
    ref.accessKeyIDSecretRef.name = ref.secretAccessKeySecretRef.name = id === 'testing' ? 'aws-creds' : `aws-${id}`;
    const store = { metadata: { name: 'a', namespace: conformanceNs() }, spec } as SecretStore;
    return awsProvider.newClient({ store, namespace: conformanceNs(), kube: kube() });
  };

  providerConformance({
    name: 'aws (moto)',
    async put(key, value, opts) {
      const version = await put(key, value, opts?.tags);
      if (opts?.rotation) await sm().send(new RotateSecretCommand({ SecretId: key, RotationRules: { AutomaticallyAfterDays: 1 }, RotateImmediately: false }));
      return version;
    },
    client: () => clientWith('testing'),
    deniedClient() {
      proxy.deny('denied');
      return clientWith('denied');
    },
    serverRequests: () => Promise.resolve(proxy.total()),
    throttle() {
      proxy.throttle(5);
      return Promise.resolve(() => Promise.resolve(proxy.throttle(0)));
    },
    // One BatchGetSecretValue per 20, and a DescribeSecret per secret for its rotation date.
    batchCost: (n) => Math.ceil(n / 20) + n,
    supports: {
      versions: true,
      versionChecks: { no: 'DescribeSecret costs a request as a read does, and BatchGetSecretValue reads 20 values a request' },
      findByName: true,
      findByPath: true,
      findByTags: true,
      metadata: true,
      expiryDates: { no: 'Secrets Manager stores no expiry date on a secret; its NextRotationDate is reported as a rotation' },
      rotationDates: true,
      permissions: true,
      throttling: true,
      writes: true,
    },
  });
});

describe('aws provider', () => {
  const op = useOperator([SECRET_VALUE]);

  it('static keys: strings, binaries, properties, version stages and ids, extract', async () => {
    const ns = await namespaceWithCreds();
    const name = `${ns}/db`;
    const v1 = await put(name, JSON.stringify({ user: 'app', password: 'old' }));
    await put(name, JSON.stringify({ user: 'app', password: SECRET_VALUE }));
    const binary = Uint8Array.from([0, 1, 2, 253, 254, 255]);
    await put(`${ns}/bin`, binary);
    await createStore(ns, 'aws', staticStore());
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'aws' },
      data: [
        { secretKey: 'password', remoteRef: { key: name, property: 'password' } },
        { secretKey: 'previous', remoteRef: { key: name, property: 'password', version: 'AWSPREVIOUS' } },
        { secretKey: 'by-id', remoteRef: { key: name, property: 'password', version: v1 } },
        { secretKey: 'bin', remoteRef: { key: `${ns}/bin` } },
      ],
      dataFrom: [{ extract: { key: name }, rewrite: [{ regexp: { source: '^', target: 'x_' } }] }],
    });
    await waitForReady(ns, 'es');
    const secret = (await getSecret(ns, 'es'))!;
    const { bin, ...text } = decoded(secret);
    expect(text).toEqual({ password: SECRET_VALUE, previous: 'old', 'by-id': 'old', x_user: 'app', x_password: SECRET_VALUE });
    expect(bin).toBeDefined();
    expect(Buffer.from(secret.data!.bin!, 'base64').equals(Buffer.from(binary))).toBe(true);
  });

  it('several secrets in one reconcile are fetched with BatchGetSecretValue, 20 per call', async () => {
    const ns = await namespaceWithCreds();
    const names = Array.from({ length: 25 }, (_, i) => `${ns}/batch-${i}`);
    for (const n of names) await put(n, `v-${n}`);
    await createStore(ns, 'aws', staticStore());
    proxy.calls.clear();
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, data: names.map((n, i) => ({ secretKey: `k${i}`, remoteRef: { key: n } })) });
    await waitForReady(ns, 'es');
    expect(Object.keys(decoded(await getSecret(ns, 'es')))).toHaveLength(25);
    expect(proxy.calls.get('BatchGetSecretValue')).toBe(2);
    expect(proxy.calls.get('GetSecretValue') ?? 0).toBe(0);
    // Their rotation dates: ListSecrets filtered by 10 names a request, not a DescribeSecret each.
    expect(proxy.calls.get('ListSecrets')).toBe(3);
    expect(proxy.calls.get('DescribeSecret') ?? 0).toBe(0);
  });

  it('plain reads of different ExternalSecrets that refresh together share BatchGetSecretValue calls', async () => {
    const ns = await namespaceWithCreds();
    const names = Array.from({ length: 20 }, (_, i) => `${ns}/shared-${i}`);
    for (const n of names) await put(n, `v-${n}`);
    await createStore(ns, 'aws', staticStore());
    // 20 ExternalSecrets, one key each, refreshing every 5 s.
    await Promise.all(names.map((n, i) => createExternalSecret(ns, `es-${i}`, { secretStoreRef: { name: 'aws' }, refreshInterval: '5s', data: [{ secretKey: 'v', remoteRef: { key: n } }] })));
    const synced = await Promise.all(names.map((_, i) => waitForReady(ns, `es-${i}`)));
    // Synced within three quarters of an interval of each other, they share the store's beat.
    expect(new Set(synced.map((es) => es.status!.nextRefreshTime)).size).toBe(1);
    proxy.calls.clear();
    // Every one refreshed once more: its refreshTime moved.
    await waitFor('a refresh of all 20', async () => {
      const now = await Promise.all(names.map((_, i) => getES(ns, `es-${i}`)));
      return now.every((es, i) => es.status!.refreshTime !== synced[i]!.status!.refreshTime);
    }, 30_000, 250);
    // One call per ExternalSecret without batching; the first refresh of the beat asks for all 20 at once.
    expect(proxy.calls.get('GetSecretValue') ?? 0).toBe(0);
    expect(proxy.calls.get('BatchGetSecretValue')).toBe(1);
  });

  it('a policy without BatchGetSecretValue: one refusal, then GetSecretValue for each secret', async () => {
    const ns = await namespaceWithCreds();
    const names = Array.from({ length: 3 }, (_, i) => `${ns}/nobatch-${i}`);
    for (const [k, n] of names.entries()) await put(n, `v-${k}`);
    await createStore(ns, 'aws', staticStore());
    proxy.denyOperation('BatchGetSecretValue');
    try {
      proxy.calls.clear();
      await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, data: names.map((n, k) => ({ secretKey: `k${k}`, remoteRef: { key: n } })) });
      await waitForReady(ns, 'es');
      expect(decoded(await getSecret(ns, 'es'))).toEqual({ k0: 'v-0', k1: 'v-1', k2: 'v-2' });
      expect(proxy.calls.get('BatchGetSecretValue')).toBe(1);
      expect(proxy.calls.get('GetSecretValue')).toBe(3);
    } finally {
      proxy.denyOperation(undefined);
    }
  });

  it('dataFrom.find by name regexp, path prefix and tags', async () => {
    const ns = await namespaceWithCreds();
    await put(`${ns}/team/feature-a`, 'A', { env: 'prod' });
    await put(`${ns}/team/feature-b`, 'B', { env: 'dev' });
    await put(`${ns}/team/other`, 'O', { env: 'prod' });
    await createStore(ns, 'aws', staticStore());
    await createExternalSecret(ns, 'by-name', { secretStoreRef: { name: 'aws' }, dataFrom: [{ find: { path: `${ns}/team`, name: { regexp: 'feature-' } } }] });
    await createExternalSecret(ns, 'by-tag', { secretStoreRef: { name: 'aws' }, dataFrom: [{ find: { path: `${ns}/`, tags: { env: 'prod' } } }] });
    await waitForReady(ns, 'by-name');
    expect(decoded(await getSecret(ns, 'by-name'))).toEqual({ [`${ns}_team_feature-a`]: 'A', [`${ns}_team_feature-b`]: 'B' });
    await waitForReady(ns, 'by-tag');
    expect(decoded(await getSecret(ns, 'by-tag'))).toEqual({ [`${ns}_team_feature-a`]: 'A', [`${ns}_team_other`]: 'O' });
  });

  it('rotation: the next refresh follows NextRotationDate, and the new AWSCURRENT is picked up', async () => {
    const ns = await namespaceWithCreds();
    const name = `${ns}/rotated`;
    await put(name, 'before-rotation');
    await sm().send(new RotateSecretCommand({ SecretId: name, RotationRules: { AutomaticallyAfterDays: 1 }, RotateImmediately: true }));
    await sm().send(new PutSecretValueCommand({ SecretId: name, SecretString: 'after-rotation' }));
    await createStore(ns, 'aws', staticStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, refreshInterval: '720h', data: [{ secretKey: 'v', remoteRef: { key: name } }] });
    const es = await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe('after-rotation');
    const next = Date.parse(es.status!.nextRefreshTime!) - Date.parse(es.status!.refreshTime!);
    // Rotation in about a day (plus grace and jitter), well before the 30-day interval.
    expect(next).toBeGreaterThan(20 * 3_600_000);
    expect(next).toBeLessThan(2 * 24 * 3_600_000);
  });

  it('web identity: a ServiceAccount token exchanged with AssumeRoleWithWebIdentity', async () => {
    const ns = await newNamespace();
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns } });
    await put(`${ns}/wi`, SECRET_VALUE);
    await createStore(ns, 'aws', { provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: proxy.url, role: 'arn:aws:iam::123456789012:role/reader', auth: { jwt: { serviceAccountRef: { name: 'app' } } } } } });
    proxy.calls.clear();
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/wi` } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
    expect(proxy.calls.get('AssumeRoleWithWebIdentity')).toBeGreaterThanOrEqual(1);
  });

  it('web identity as on EKS: the role from the ServiceAccount annotation, then aws.role assumed on top with those credentials', async () => {
    const ns = await newNamespace();
    const irsa = 'arn:aws:iam::123456789012:role/irsa';
    await kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'app', namespace: ns, annotations: { 'eks.amazonaws.com/role-arn': irsa } } });
    await put(`${ns}/irsa`, SECRET_VALUE);
    const jwt = { jwt: { serviceAccountRef: { name: 'app' } } };
    const role = { annotated: undefined, chained: 'arn:aws:iam::123456789012:role/target' };
    for (const store of ['annotated', 'chained'] as const) {
      proxy.assumed.length = 0;
      await createStore(ns, store, { provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: proxy.url, role: role[store], auth: jwt } } });
      await createExternalSecret(ns, store, { secretStoreRef: { name: store }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/irsa` } }] });
      await waitForReady(ns, store);
      expect(decoded(await getSecret(ns, store)).v).toBe(SECRET_VALUE);
      // The store's check and the sync share the cached credentials.
      const calls = new Set(proxy.assumed.map((a) => `${a.op} ${a.role}`));
      if (store === 'annotated') expect([...calls]).toEqual([`AssumeRoleWithWebIdentity ${irsa}`]);
      else {
        expect([...calls]).toEqual([`AssumeRoleWithWebIdentity ${irsa}`, `AssumeRole ${role.chained}`]);
        // Signed with the web identity's temporary keys, not any static ones.
        expect(proxy.assumed[1]!.signedBy).toMatch(/^ASIA/);
      }
    }
  });

  it('an assumed role on top of static keys, and the SDK default chain when auth is empty', async () => {
    const ns = await namespaceWithCreds();
    await put(`${ns}/chain`, SECRET_VALUE);
    const assumed = staticStore();
    assumed.provider.aws!.role = 'arn:aws:iam::123456789012:role/reader';
    await createStore(ns, 'assumed', assumed);
    // The default chain reads the environment (here, this process's, restored after the test), as it would in a pod.
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'testing');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'testing');
    onTestFinished(() => void vi.unstubAllEnvs());
    await createStore(ns, 'chain', { provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: proxy.url } } });
    proxy.calls.clear();
    for (const store of ['assumed', 'chain']) {
      await createExternalSecret(ns, store, { secretStoreRef: { name: store }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/chain` } }] });
      await waitForReady(ns, store);
      expect(decoded(await getSecret(ns, store)).v).toBe(SECRET_VALUE);
    }
    expect(proxy.calls.get('AssumeRole')).toBeGreaterThanOrEqual(1);
  });

  it('rotated access keys are used at once: keys IAM refuses make the store and its ExternalSecrets stop', async () => {
    const ns = await namespaceWithCreds();
    await put(`${ns}/keys`, SECRET_VALUE);
    await createStore(ns, 'aws', staticStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}/keys` } }] });
    await waitForReady(ns, 'es');
    // The old keys are replaced by ones IAM refuses (the proxy plays IAM; moto does not enforce it).
    const revoked = `revoked-${ns}`;
    proxy.deny(revoked);
    await kube().mergePatch(Resources.Secret, ns, 'aws-creds', { data: { id: Buffer.from(revoked).toString('base64'), secret: Buffer.from(revoked).toString('base64') } });
    await waitForReady(ns, 'es', 'False', 'StoreNotReady', 15_000);
    const store = await kube().get<SecretStore>(Resources.SecretStore, ns, 'aws');
    expect(ready(store)?.reason).toBe('ValidationFailed');
    expect(ready(store)?.message).toContain(`User ${revoked} is not authorized`);
  });

  it('errors: missing secret, missing property, scheduled for deletion; the Secret stays untouched', async () => {
    const ns = await namespaceWithCreds();
    await put(`${ns}/ok`, JSON.stringify({ password: SECRET_VALUE }));
    await put(`${ns}/doomed`, 'x');
    await sm().send(new DeleteSecretCommand({ SecretId: `${ns}/doomed`, RecoveryWindowInDays: 7 }));
    await createStore(ns, 'aws', staticStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'p', remoteRef: { key: `${ns}/ok`, property: 'password' } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!;
    const cases: Array<[string, string]> = [
      [`${ns}/missing`, `remote secret "${ns}/missing" not found`],
      [`${ns}/doomed`, `remote secret "${ns}/doomed" not found: it is scheduled for deletion`],
    ];
    for (const [key, message] of cases) {
      await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { data: [{ secretKey: 'p', remoteRef: { key } }] } });
      await waitFor(message, async () => ready(await getES(ns, 'es'))?.message === message);
      expect(ready(await getES(ns, 'es'))?.reason).toBe('RemoteNotFound');
    }
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { data: [{ secretKey: 'p', remoteRef: { key: `${ns}/ok`, property: 'nope' } }] } });
    await waitFor('missing property', async () => ready(await getES(ns, 'es'))?.message === `remote secret "${ns}/ok" not found: property "nope" not found`);
    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(JSON.stringify((await getES(ns, 'es')).status)).not.toContain(SECRET_VALUE);
  });

  it('throttling: status names it, the store backs off, and the sync completes once AWS lets up', async () => {
    const ns = await namespaceWithCreds();
    await put(`${ns}/t`, SECRET_VALUE);
    await createStore(ns, 'aws', staticStore());
    await waitFor('store ready', async () => ready(await kube().get<SecretStore>(Resources.SecretStore, ns, 'aws'))?.status === 'True');
    proxy.throttle(3, '429');
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/t` } }] });
    const throttled = await waitForReady(ns, 'es', 'False', 'ProviderThrottled');
    expect(ready(throttled)?.message).toMatch(/throttling requests/);
    await waitForReady(ns, 'es', 'True', undefined, 60_000);
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
    expect(await op().operator.metrics.total(op().operator.metrics.providerCalls, { provider: 'aws', status: 'throttled' })).toBeGreaterThanOrEqual(1);
  }, 90_000);
});

describe('aws across an operator restart', () => {
  it('a restarted operator takes rotation dates from status while the versions are the same, instead of listing them again', async () => {
    const ns = await namespaceWithCreds();
    const names = ['a', 'b', 'rotated'].map((n) => `${ns}/${n}`);
    for (const n of names) await put(n, `v-${n}`);
    await sm().send(new RotateSecretCommand({ SecretId: names[2], RotationRules: { AutomaticallyAfterDays: 1 }, RotateImmediately: false }));
    const spec = { secretStoreRef: { name: 'aws' }, refreshInterval: '720h', data: names.map((n, i) => ({ secretKey: `k${i}`, remoteRef: { key: n } })) };

    const first = await startOperator({ watchNamespace: ns });
    await createStore(ns, 'aws', staticStore());
    proxy.calls.clear();
    await createExternalSecret(ns, 'es', spec);
    const synced = await waitForReady(ns, 'es').finally(() => first.stop());
    expect(proxy.calls.get('ListSecrets')).toBe(1);
    const rotatesAt = synced.status!.sources!.find((s) => s.key === names[2])!.rotatesAt!;
    expect(Date.parse(rotatesAt) - Date.now()).toBeGreaterThan(20 * 3_600_000);
    expect(synced.status!.sources!.filter((s) => s.rotatesAt !== undefined)).toHaveLength(1);

    const second = await startOperator({ watchNamespace: ns });
    onTestFinished(() => second.stop());
    proxy.calls.clear();
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { metadata: { annotations: { 'secretsync.dev/force-sync': '1' } } });
    const again = await waitFor('the forced sync', async () => {
      const es = await getES(ns, 'es');
      return es.status!.refreshTime !== synced.status!.refreshTime && ready(es)?.status === 'True' ? es : undefined;
    });
    expect(proxy.calls.get('BatchGetSecretValue')).toBe(1);
    expect(proxy.calls.get('ListSecrets') ?? 0).toBe(0);
    expect(proxy.calls.get('DescribeSecret') ?? 0).toBe(0);
    expect(again.status!.sources).toEqual(synced.status!.sources);
    // The next refresh still follows the rotation, not the 30-day interval.
    expect(Date.parse(again.status!.nextRefreshTime!) - Date.parse(again.status!.refreshTime!)).toBeLessThan(2 * 24 * 3_600_000);
  });
});
