// The gcpsm provider through the official @google-cloud/secret-manager SDK
// against the project's gRPC Secret Manager and token services
// (test/servers/gcpsm), and the real kube-apiserver for workload identity:
// the shared conformance suite, then the operator end to end.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { API_VERSION, Resources } from '../../src/kube/types.js';
import { NotFoundError } from '../../src/providers/errors.js';
import { gcpsmProvider } from '../../src/providers/gcpsm/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { callContext } from '../support/call-context.js';
import { gcpTestEnv, putSecret, serviceAccountKey, type GcpTestEnv } from '../support/gcp.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, getES, getSecret, kube, kubeConfig, newNamespace, providerEnv,
  ready, useNamespaceWithSecret, useOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

const SECRET_VALUE = 'gcp-secret-value-3q7w9e';
const READER_ROLES = ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer'];

let gcp: GcpTestEnv;
beforeAll(async () => {
  gcp = await gcpTestEnv(providerEnv());
});
afterAll(async () => {
  await gcp.admin.close();
  await gcp.sm.close();
});

function keyStore(credentialSecret = 'gcp-key', endpoint = gcp.endpoint): SecretStoreSpec {
  return { provider: { gcpsm: { projectID: gcp.project, endpoint, auth: { secretRef: { secretAccessKeySecretRef: { name: credentialSecret, key: 'key.json' } } } } } };
}

async function namespaceWithKey(roles = READER_ROLES): Promise<string> {
  const ns = await newNamespace();
  const key = await serviceAccountKey(gcp.admin, 'reader', roles);
  await createCredentialSecret(ns, 'gcp-key', { 'key.json': key.json });
  return ns;
}

// Both transports (--gcpsm-transport): the official client over gRPC, and the REST API.
describe.each([
  { transport: 'grpc' as const, what: 'through @google-cloud/secret-manager over gRPC', endpoint: () => gcp.endpoint },
  { transport: 'rest' as const, what: 'through its REST API', endpoint: () => gcp.restEndpoint },
])('gcpsm conformance ($transport)', ({ transport, what, endpoint }) => {
  const ns = useNamespaceWithSecret(`gcp-conf-${transport}`, 'placeholder', () => ({ unused: 'x' }));
  const keys = new Map<string, string>();
  const clientFor = async (name: string, roles = READER_ROLES) => {
    if (!keys.has(name)) {
      const key = await serviceAccountKey(gcp.admin, name, roles);
      keys.set(name, key.json);
      await createCredentialSecret(ns(), name, { 'key.json': key.json });
    }
    const store = { metadata: { name: 'g', namespace: ns() }, spec: keyStore(name, endpoint()) } as SecretStore;
    return gcpsmProvider.newClient({ store, namespace: ns(), kube: kube(), options: { gcpsmTransport: transport } });
  };

  providerConformance({
    name: `gcpsm (test Secret Manager ${what})`,
    put: (key, value, opts) => putSecret(gcp, key, value, {
      labels: opts?.tags, expireTime: opts?.expiresAt, rotation: opts?.rotation ? { next: new Date(Date.now() + 3_600_000), periodSeconds: 86_400 } : undefined,
    }),
    client: () => clientFor('reader'),
    writerClient: () => clientFor('writer', ['roles/secretmanager.admin']),
    deniedClient: () => clientFor('nobody', []),
    metadataOf: (tags) => ({ annotations: {}, labels: tags }),
    serverRequests: async () => (await gcp.admin.stats()).api,
    async throttle() {
      await gcp.admin.throttle(5, 1);
      return () => gcp.admin.throttle(0).then(() => undefined);
    },
    // A first read accesses the payload and reads the secret's dates: two calls per value.
    batchCost: (n) => 2 * n,
    supports: {
      versions: true,
      versionChecks: { no: 'a refresh also needs the rotation date (GetSecret), which status does not record, so a check would save no request' },
      findByName: true,
      findByPath: { no: 'Secret Manager secret ids are flat (letters, digits, - and _): there is no path to find by' },
      findByTags: true,
      metadata: true,
      expiryDates: true,
      rotationDates: true,
      permissions: true,
      throttling: true,
      writes: true,
    },
  });

  it('regional secrets: a store with a location reads projects/*/locations/*/secrets/* names', async () => {
    const id = `conf-regional-${randomBytes(3).toString('hex')}`;
    const parent = `projects/${gcp.project}/locations/europe-west1`;
    await gcp.sm.createSecret({ parent, secretId: id, secret: { labels: { where: 'eu' } } });
    await gcp.sm.addSecretVersion({ parent: `${parent}/secrets/${id}`, payload: { data: Buffer.from('regional') } });
    await clientFor('reader');
    const spec = keyStore('reader', endpoint());
    spec.provider.gcpsm!.location = 'europe-west1';
    const client = await gcpsmProvider.newClient({ store: { metadata: { name: 'r', namespace: ns() }, spec }, namespace: ns(), kube: kube(), options: { gcpsmTransport: transport } });
    expect(Buffer.from((await client.getSecret({ key: id }, callContext())).value).toString()).toBe('regional');
    expect(Object.keys((await client.findSecrets!({ tags: { where: 'eu' } }, callContext())).values)).toContain(id);
    await expect((await clientFor('reader')).getSecret({ key: id }, callContext())).rejects.toBeInstanceOf(NotFoundError);
  });

  it('without auth, Application Default Credentials are used (here a key file named by GOOGLE_APPLICATION_CREDENTIALS)', async () => {
    const id = `conf-adc-${randomBytes(3).toString('hex')}`;
    await putSecret(gcp, id, 'from-adc');
    const key = await serviceAccountKey(gcp.admin, 'adc', READER_ROLES);
    const file = join(mkdtempSync(join(tmpdir(), 'adc-')), 'key.json');
    writeFileSync(file, key.json, { mode: 0o600 });
    const previous = process.env.GOOGLE_APPLICATION_CREDENTIALS;
    process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
    try {
      const spec: SecretStoreSpec = { provider: { gcpsm: { projectID: gcp.project, endpoint: endpoint() } } };
      const client = await gcpsmProvider.newClient({ store: { metadata: { name: 'adc', namespace: ns() }, spec }, namespace: ns(), kube: kube(), options: { gcpsmTransport: transport } });
      expect(Buffer.from((await client.getSecret({ key: id }, callContext())).value).toString()).toBe('from-adc');
    } finally {
      if (previous === undefined) delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
      else process.env.GOOGLE_APPLICATION_CREDENTIALS = previous;
      rmSync(dirname(file), { recursive: true, force: true });
    }
  });

  it('a refresh of an unchanged latest version reads metadata, not the payload; a new version is accessed once', async () => {
    const id = `conf-cost-${randomBytes(3).toString('hex')}`;
    await putSecret(gcp, id, 'one');
    const client = await clientFor('reader');
    const calls = async (run: () => Promise<unknown>): Promise<Record<string, number>> => {
      const before = (await gcp.admin.stats()).byRpc;
      await run();
      const after = (await gcp.admin.stats()).byRpc;
      return Object.fromEntries(Object.keys(after).map((k): [string, number] => [k, (after[k] ?? 0) - (before[k] ?? 0)]).filter(([, v]) => v));
    };
    expect(await calls(() => client.getSecret({ key: id }, callContext()))).toEqual({ AccessSecretVersion: 1, GetSecret: 1 });
    expect(await calls(() => client.getSecret({ key: id }, callContext()))).toEqual({ GetSecretVersion: 1 });
    await putSecret(gcp, id, 'two');
    let got: Awaited<ReturnType<typeof client.getSecret>> | undefined;
    expect(await calls(async () => (got = await client.getSecret({ key: id }, callContext())))).toEqual({ GetSecretVersion: 1, AccessSecretVersion: 1 });
    expect(Buffer.from(got!.value).toString()).toBe('two');
    expect(got!.source.version).toBe('2');
  });

  it('a reader with only secretAccessor (no metadata permission) still reads, accessing payloads directly', async () => {
    const id = `conf-accessor-${randomBytes(3).toString('hex')}`;
    await putSecret(gcp, id, 'only-access');
    const client = await clientFor('accessor-only', ['roles/secretmanager.secretAccessor']);
    for (let i = 0; i < 3; i++) expect(Buffer.from((await client.getSecret({ key: id }, callContext())).value).toString()).toBe('only-access');
    await putSecret(gcp, id, 'moved');
    expect(Buffer.from((await client.getSecret({ key: id }, callContext())).value).toString()).toBe('moved');
  });

  it('disabled and destroyed versions, and a corrupted payload, are clear errors, never a value', async () => {
    const id = `conf-states-${randomBytes(3).toString('hex')}`;
    await putSecret(gcp, id, 'v1');
    await putSecret(gcp, id, 'v2');
    const name = `projects/${gcp.project}/secrets/${id}`;
    await gcp.sm.disableSecretVersion({ name: `${name}/versions/1` });
    await gcp.sm.destroySecretVersion({ name: `${name}/versions/2` });
    const client = await clientFor('reader');
    await expect(client.getSecret({ key: id, version: '1' }, callContext())).rejects.toThrow(`remote secret "${id}" not found: the version is disabled`);
    await expect(client.getSecret({ key: id }, callContext())).rejects.toThrow(`remote secret "${id}" not found: the version is destroyed`);
    await putSecret(gcp, id, 'v3');
    await gcp.admin.corruptNextAccess(name);
    await expect(client.getSecret({ key: id }, callContext())).rejects.toThrow('failed its CRC32C check');
    expect(Buffer.from((await client.getSecret({ key: id }, callContext())).value).toString()).toBe('v3');
  });
});

describe('gcpsm through the operator (shipped RBAC)', () => {
  const op = useOperator([SECRET_VALUE], { asServiceAccount: true });
  const forceSync = (ns: string, name: string, value: string) => kube().mergePatch(Resources.ExternalSecret, ns, name, { metadata: { annotations: { 'secretsync.dev/force-sync': value } } });

  it('PushSecret: writes a key and the whole Secret as new versions with the owner recorded, and deletes them with the PushSecret (deletionPolicy Delete)', async () => {
    const ns = await newNamespace();
    const key = await serviceAccountKey(gcp.admin, 'pusher', ['roles/secretmanager.admin']);
    await createCredentialSecret(ns, 'gcp-key', { 'key.json': key.json });
    await createStore(ns, 'gcp', keyStore());
    await waitForStoreReady(ns, 'gcp');
    await kube().create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'app', namespace: ns }, stringData: { token: SECRET_VALUE, user: 'u' } } as never);
    await kube().create(Resources.PushSecret, {
      apiVersion: API_VERSION, kind: 'PushSecret', metadata: { name: 'push', namespace: ns },
      spec: { deletionPolicy: 'Delete', secretStoreRefs: [{ name: 'gcp' }], selector: { secret: { name: 'app' } }, data: [{ match: { secretKey: 'token', remoteRef: { remoteKey: `${ns}-token` } } }, { match: { remoteRef: { remoteKey: `${ns}-all` } } }] },
    });
    const access = async (id: string) => {
      const [v] = await gcp.sm.accessSecretVersion({ name: `projects/${gcp.project}/secrets/${id}/versions/latest` });
      return Buffer.from(v.payload!.data as Uint8Array).toString('utf8');
    };
    // The entries are written one after the other: wait for the last one, not only the first.
    await waitFor('pushed to Secret Manager', () => access(`${ns}-all`).then(() => true, () => false));
    expect(await access(`${ns}-token`)).toBe(SECRET_VALUE);
    expect(JSON.parse(await access(`${ns}-all`))).toEqual({ token: SECRET_VALUE, user: 'u' });
    const [secret] = await gcp.sm.getSecret({ name: `projects/${gcp.project}/secrets/${ns}-token` });
    expect(secret.labels).toEqual({ 'managed-by': 'secretsync' });
    expect(secret.annotations).toEqual({ 'secretsync-owner': `${ns}/push` });
    await kube().mergePatch(Resources.Secret, ns, 'app', { stringData: { token: 'rotated' } });
    await waitFor('the new version', () => access(`${ns}-token`).then((v) => v === 'rotated'));
    await kube().delete(Resources.PushSecret, ns, 'push');
    // The finalizer holds the PushSecret until every remote secret it owns is deleted.
    await waitFor('the PushSecret released by its finalizer', async () => (await kube().getOrUndefined(Resources.PushSecret, ns, 'push')) === undefined);
    for (const id of [`${ns}-token`, `${ns}-all`]) await expect(gcp.sm.getSecret({ name: `projects/${gcp.project}/secrets/${id}` })).rejects.toThrow(/NOT_FOUND|not found/i);
  });

  it('service account key: latest moving to a new version, a pinned version, properties, extract, find by labels and regexp', async () => {
    const ns = await namespaceWithKey();
    const db = `${ns}-db`;
    await putSecret(gcp, db, JSON.stringify({ user: 'app', password: 'old' }));
    await putSecret(gcp, db, JSON.stringify({ user: 'app', password: SECRET_VALUE }));
    for (const [n, v] of [['feat-a', 'A'], ['feat-b', 'B'], ['other', 'O']]) await putSecret(gcp, `${ns}-${n}`, v!, { labels: { team: ns } });
    await createStore(ns, 'gcp', keyStore());
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'gcp' },
      refreshInterval: '2s',
      data: [
        { secretKey: 'password', remoteRef: { key: db, property: 'password' } },
        { secretKey: 'pinned', remoteRef: { key: `projects/${gcp.project}/secrets/${db}`, property: 'password', version: '1' } },
      ],
      dataFrom: [
        { extract: { key: db }, rewrite: [{ regexp: { source: '^', target: 'x_' } }] },
        { find: { name: { regexp: `^${ns}-feat-` }, tags: { team: ns } } },
      ],
    });
    const es = await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es'))).toEqual({ password: SECRET_VALUE, pinned: 'old', x_user: 'app', x_password: SECRET_VALUE, [`${ns}-feat-a`]: 'A', [`${ns}-feat-b`]: 'B' });
    expect(es.status?.sources).toEqual(expect.arrayContaining([expect.objectContaining({ key: db, version: '2' })]));
    expect(JSON.stringify(es.status)).not.toContain(SECRET_VALUE);
    // latest moves: the next periodic refresh follows it.
    await putSecret(gcp, db, JSON.stringify({ user: 'app', password: 'rotated' }));
    await waitFor('latest followed', async () => decoded(await getSecret(ns, 'es')).password === 'rotated', 20_000);
    expect(decoded(await getSecret(ns, 'es')).pinned).toBe('old');
  });

  it('workload identity: STS exchange of a TokenRequest-minted token, with and without impersonation; a principal without the binding is refused', async () => {
    const ns = await newNamespace();
    const issuer = kubeConfig().getCurrentCluster()!.server;
    const pool = `projects/123456/locations/global/workloadIdentityPools/pool-${ns}`;
    const audience = `//iam.googleapis.com/${pool}/providers/kube`;
    const gsa = `reader-${ns}@${gcp.project}.iam.gserviceaccount.com`;
    await gcp.admin.grant(`serviceAccount:${gsa}`, READER_ROLES);
    await gcp.admin.addPool({ audience, issuer, tokenAudiences: [`https:${audience}`], principal: `principal://iam.googleapis.com/${pool}/subject/{sub}` });
    await gcp.admin.allowImpersonation(`principal://iam.googleapis.com/${pool}/subject/system:serviceaccount:${ns}:app`, gsa);
    const gke = { location: 'europe-west1', cluster: `c-${ns}` };
    await gcp.admin.addPool({
      audience: `identitynamespace:${gcp.project}.svc.id.goog:https://container.googleapis.com/v1/projects/${gcp.project}/locations/${gke.location}/clusters/${gke.cluster}`,
      issuer, tokenAudiences: [`${gcp.project}.svc.id.goog`], principal: `serviceAccount:${gcp.project}.svc.id.goog[{namespace}/{name}]`,
    });
    await gcp.admin.grant(`serviceAccount:${gcp.project}.svc.id.goog[${ns}/direct]`, READER_ROLES);
    const sa = (name: string, annotations?: Record<string, string>) => kube().create(Resources.ServiceAccount, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns, annotations } });
    await sa('app', { 'iam.gke.io/gcp-service-account': gsa });
    await sa('direct');
    await sa('intruder', { 'iam.gke.io/gcp-service-account': gsa });
    await putSecret(gcp, `${ns}-wi`, SECRET_VALUE);
    const before = (await gcp.admin.stats()).tokens;

    const store = (name: string, wi: Record<string, unknown>) => createStore(ns, name, { provider: { gcpsm: { projectID: gcp.project, endpoint: gcp.endpoint, auth: { workloadIdentity: wi as never } } } });
    await store('wif', { serviceAccountRef: { name: 'app' }, audience });
    await store('gke', { serviceAccountRef: { name: 'direct' }, clusterLocation: gke.location, clusterName: gke.cluster });
    await store('intruder', { serviceAccountRef: { name: 'intruder' }, audience });
    for (const s of ['wif', 'gke']) {
      await createExternalSecret(ns, s, { secretStoreRef: { name: s }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-wi` } }] });
      await waitForReady(ns, s);
      expect(decoded(await getSecret(ns, s)).v).toBe(SECRET_VALUE);
    }
    const after = (await gcp.admin.stats()).tokens;
    expect(after.sts - before.sts).toBeGreaterThanOrEqual(2);
    expect(after.iam - before.iam).toBeGreaterThanOrEqual(1);

    // The GCRAccessToken generator logs in the same way, and its token is what the Google service account gets.
    await kube().create(Resources.GCRAccessToken, { apiVersion: API_VERSION, kind: 'GCRAccessToken', metadata: { name: 'gcr', namespace: ns }, spec: { projectID: gcp.project, auth: { workloadIdentity: { serviceAccountRef: { name: 'app' }, audience } } } });
    await createExternalSecret(ns, 'gcr', { dataFrom: [{ sourceRef: { generatorRef: { kind: 'GCRAccessToken', name: 'gcr' } } }] });
    await waitForReady(ns, 'gcr');
    const login = decoded(await getSecret(ns, 'gcr'));
    expect(login.username).toBe('oauth2accesstoken');
    expect(Number(login.expiry) * 1000).toBeGreaterThan(Date.now() + 60_000);
    expect((await gcp.admin.stats()).tokens.iam).toBeGreaterThan(after.iam);
    // The password is a live access token of the Google service account: Secret Manager takes it as that reader.
    const { SecretManagerServiceClient } = await import('@google-cloud/secret-manager');
    const { OAuth2Client } = await import('google-auth-library');
    const asLogin = new OAuth2Client();
    asLogin.setCredentials({ access_token: login.password, expiry_date: Number(login.expiry) * 1000 });
    const [host, port] = gcp.endpoint.split(':');
    const withToken = new SecretManagerServiceClient({ apiEndpoint: host, port: Number(port), authClient: asLogin, projectId: gcp.project });
    const [version] = await withToken.accessSecretVersion({ name: `projects/${gcp.project}/secrets/${ns}-wi/versions/latest` });
    expect(Buffer.from(version.payload!.data as Uint8Array).toString('utf8')).toBe(SECRET_VALUE);
    await withToken.close();
    await waitFor('the intruder store refused', async () => {
      const c = ready(await kube().get<SecretStore>(Resources.SecretStore, ns, 'intruder'));
      return c?.status === 'False' && c.message.includes('iam.serviceAccounts.getAccessToken') ? c : undefined;
    });
  });

  it('a rotation time schedules the refresh just after it; an expire_time is reported, then the secret is gone as deletionPolicy says', async () => {
    const ns = await namespaceWithKey();
    const rotation = new Date(Date.now() + 20_000);
    await putSecret(gcp, `${ns}-rot`, 'r', { rotation: { next: rotation, periodSeconds: 3600 } });
    const expireTime = new Date(Math.ceil(Date.now() / 1000) * 1000 + 8_000);
    await putSecret(gcp, `${ns}-keep`, 'kept', { expireTime });
    await putSecret(gcp, `${ns}-drop`, 'dropped', { expireTime });
    await createStore(ns, 'gcp', keyStore());
    await createExternalSecret(ns, 'rot', { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-rot` } }] });
    await createExternalSecret(ns, 'keep', { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-keep` } }] });
    await createExternalSecret(ns, 'drop', { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', target: { deletionPolicy: 'Delete' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-drop` } }] });

    const rot = await waitForReady(ns, 'rot');
    const next = new Date(rot.status!.nextRefreshTime!).getTime();
    expect(next).toBeGreaterThanOrEqual(rotation.getTime());
    expect(next).toBeLessThanOrEqual(rotation.getTime() + 61_000);
    for (const name of ['keep', 'drop']) {
      const es = await waitForReady(ns, name);
      expect(new Date(es.status!.nextRefreshTime!).getTime()).toBeLessThan(expireTime.getTime());
      expect(es.status?.sources?.[0]?.expiresAt).toBe(expireTime.toISOString());
    }
    await waitForReady(ns, 'keep', 'False', 'RemoteNotFound', 25_000);
    expect(decoded(await getSecret(ns, 'keep')).v).toBe('kept');
    await waitFor('the dropped Secret deleted', async () => (await getSecret(ns, 'drop')) === undefined, 25_000);
  });

  it('a destroyed version and a corrupted payload leave the Secret untouched, with a reason', async () => {
    const ns = await namespaceWithKey();
    await putSecret(gcp, `${ns}-pin`, 'pinned-one');
    await putSecret(gcp, `${ns}-crc`, 'crc-one');
    await createStore(ns, 'gcp', keyStore());
    await createExternalSecret(ns, 'pin', { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-pin`, version: '1' } }] });
    await createExternalSecret(ns, 'crc', { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-crc` } }] });
    await waitForReady(ns, 'pin');
    await waitForReady(ns, 'crc');
    const before = { pin: (await getSecret(ns, 'pin'))!.metadata.resourceVersion, crc: (await getSecret(ns, 'crc'))!.metadata.resourceVersion };

    await gcp.sm.destroySecretVersion({ name: `projects/${gcp.project}/secrets/${ns}-pin/versions/1` });
    await forceSync(ns, 'pin', '1');
    const pin = await waitForReady(ns, 'pin', 'False', 'RemoteNotFound');
    expect(ready(pin)?.message).toBe(`remote secret "${ns}-pin" not found: the version is destroyed`);

    await putSecret(gcp, `${ns}-crc`, 'crc-two');
    await gcp.admin.corruptNextAccess(`projects/${gcp.project}/secrets/${ns}-crc`);
    await forceSync(ns, 'crc', '1');
    const crc = await waitForReady(ns, 'crc', 'False', 'ProviderError');
    expect(ready(crc)?.message).toContain('failed its CRC32C check');
    expect((await events(ns, 'crc')).some((e) => e.type === 'Warning' && e.message.includes('CRC32C'))).toBe(true);
    expect((await getSecret(ns, 'pin'))!.metadata.resourceVersion).toBe(before.pin);
    expect(decoded(await getSecret(ns, 'crc')).v).toBe('crc-one');
  });

  it('RESOURCE_EXHAUSTED is ridden out at the pace the RetryInfo of the server sets', async () => {
    const ns = await namespaceWithKey();
    for (let i = 0; i < 3; i++) await putSecret(gcp, `${ns}-s${i}`, `v${i}`);
    await createStore(ns, 'gcp', keyStore());
    await waitForStoreReady(ns, 'gcp');
    const before = await gcp.admin.stats();
    await gcp.admin.throttle(4, 2);
    const started = Date.now();
    for (let i = 0; i < 3; i++) await createExternalSecret(ns, `es${i}`, { secretStoreRef: { name: 'gcp' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}-s${i}` } }] });
    for (let i = 0; i < 3; i++) await waitForReady(ns, `es${i}`, 'True', undefined, 30_000);
    const elapsed = Date.now() - started;
    const after = await gcp.admin.stats();
    // 4 refused, then per value an access, a GetSecret and at most one metadata check, and a few retries beyond those.
    expect(after.api - before.api).toBeLessThanOrEqual(4 + 9 + 3);
    expect(elapsed).toBeGreaterThanOrEqual(2_000);
    const throttled = (await Promise.all([0, 1, 2].map((i) => events(ns, `es${i}`)))).flat().filter((e) => e.reason === 'ProviderThrottled');
    expect(throttled.length).toBeGreaterThan(0);
  });

  it('a key the service does not know stops the store; the Secret stays, and no key material shows anywhere', async () => {
    const ns = await namespaceWithKey();
    await putSecret(gcp, `${ns}-app`, SECRET_VALUE);
    await createStore(ns, 'gcp', keyStore());
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'gcp' }, refreshInterval: '1h', data: [{ secretKey: 'v', remoteRef: { key: `${ns}-app` } }] });
    await waitForReady(ns, 'es');
    const before = (await getSecret(ns, 'es'))!.metadata.resourceVersion;
    // A key for an account the service never registered (deleted key, or another project's).
    const stranger = await serviceAccountKey(gcp.admin, 'unregistered', []);
    const parsed = JSON.parse(stranger.json) as { private_key: string };
    const forged = JSON.stringify({ ...parsed, client_email: `ghost-${ns}@${gcp.project}.iam.gserviceaccount.com`, private_key_id: randomBytes(20).toString('hex') });
    await kube().mergePatch(Resources.Secret, ns, 'gcp-key', { data: { 'key.json': Buffer.from(forged).toString('base64') } });
    await waitForReady(ns, 'es', 'False', 'StoreNotReady', 20_000);
    const store = ready(await kube().get<SecretStore>(Resources.SecretStore, ns, 'gcp'));
    expect(store?.reason).toBe('ValidationFailed');
    expect(store?.message).toContain('invalid authentication credentials');
    expect((await getSecret(ns, 'es'))!.metadata.resourceVersion).toBe(before);
    const keyMaterial = parsed.private_key.split('\n')[2]!;
    const text = JSON.stringify([(await getES(ns, 'es')).status, await events(ns, 'es'), await events(ns, 'gcp'), store]);
    for (const value of [SECRET_VALUE, keyMaterial]) expect(text).not.toContain(value);
    expect(op().logs.text).not.toContain(keyMaterial);
  });
});
