// The Google test servers' own checks: Secret Manager and Pub/Sub semantics through the
// official SDKs (pointed at the server with its documented apiEndpoint, port
// and sslCreds options), and the token services through raw HTTPS.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { v1 as PubSub } from '@google-cloud/pubsub';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { JWT } from 'google-auth-library';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../../src/util/crc32c.js';
import { fakeIssuer } from '../shared/kube-keys.js';
import { startGoogleServer, type GoogleTestServer } from './server.js';

const ISSUER = 'https://kube.test';
const issuer = fakeIssuer(ISSUER);
const dir = mkdtempSync(join(tmpdir(), 'gcpsm-test-'));
const PARENT = 'projects/p1';
let server: GoogleTestServer;
let agent: Agent;
let ca: Buffer;

type Transport = 'grpc' | 'rest';

function account(email: string, roles: string[], transport: Transport = 'grpc') {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  server.identity.addServiceAccountKey(email, `kid-${email}`, publicKey);
  if (roles.length) server.identity.grant(`serviceAccount:${email}`, roles);
  return client(email, privateKey, transport);
}

/**
 * gRPC: sslCreds replace the SDK's channel credentials whole, so the caller's token goes in as call credentials beside the test CA.
 * REST: the SDK's own HTTP/1.1 mode (fallback), as Google's REST API serves it: the test CA is among Node's defaults (beforeAll).
 */
function client(email: string, privateKey: string, transport: Transport = 'grpc') {
  const jwt = new JWT({ email, key: privateKey, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
  jwt.useJWTAccessWithScope = true;
  if (transport === 'rest') {
    const [host, port] = server.restEndpoint.split(':');
    return new SecretManagerServiceClient({ fallback: true, apiEndpoint: host, port: Number(port), authClient: jwt, projectId: 'p1' });
  }
  const [host, port] = server.endpoint.split(':');
  // grpc-js wants headers as a plain object; google-auth-library returns a Headers (as google-gax adapts it).
  const callCreds = grpc.credentials.createFromGoogleCredential({ getRequestHeaders: async (url?: string) => Object.fromEntries((await jwt.getRequestHeaders(url)).entries()) });
  const sslCreds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), callCreds);
  return new SecretManagerServiceClient({ apiEndpoint: host, port: Number(port), sslCreds, authClient: jwt, projectId: 'p1' });
}

beforeAll(async () => {
  server = await startGoogleServer({ tlsDir: dir, kubeJwks: issuer.jwks });
  ca = readFileSync(server.caFile);
  agent = new Agent({ connect: { ca } });
  if (!tls.getCACertificates('default').includes(ca.toString())) tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca.toString()]);
});
afterAll(async () => {
  await server.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

// gRPC puts the message in details; the REST mode's GoogleError in message (its details are the status details).
const code = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: number; details?: unknown; message?: string }) => `${e.code}: ${typeof e.details === 'string' ? e.details : e.message}`);

// Each case through the official client over gRPC, then over the REST API (its HTTP/1.1 mode): the server answers both alike.
describe.each(['grpc', 'rest'] as const)('Secret Manager test server (%s)', (transport) => {
  const at = (email: string) => email.replace('@', `-${transport}@`);
  const PARENT = `projects/p-${transport}`;

  it('numbers versions from 1, resolves latest to the newest whatever its state, and checks CRC32C on add', async () => {
    const sm = account(at('admin@p1.iam.gserviceaccount.com'), ['roles/secretmanager.admin'], transport);
    await sm.createSecret({ parent: PARENT, secretId: 's1', secret: { replication: { automatic: {} }, labels: { team: 'a' } } });
    const [v1] = await sm.addSecretVersion({ parent: `${PARENT}/secrets/s1`, payload: { data: Buffer.from('one'), dataCrc32c: crc32c(Buffer.from('one')) } });
    const [v2] = await sm.addSecretVersion({ parent: `${PARENT}/secrets/s1`, payload: { data: Buffer.from('two') } });
    expect([v1.name, v2.name]).toEqual([`${PARENT}/secrets/s1/versions/1`, `${PARENT}/secrets/s1/versions/2`]);
    const [latest] = await sm.accessSecretVersion({ name: `${PARENT}/secrets/s1/versions/latest` });
    expect(latest.name).toBe(`${PARENT}/secrets/s1/versions/2`);
    expect(Buffer.from(latest.payload!.data as Uint8Array).toString()).toBe('two');
    expect(Number(latest.payload!.dataCrc32c)).toBe(crc32c(Buffer.from('two')));
    expect(await code(sm.addSecretVersion({ parent: `${PARENT}/secrets/s1`, payload: { data: Buffer.from('x'), dataCrc32c: 1 } }))).toMatch(/^3: Checksum mismatch/);
    await sm.disableSecretVersion({ name: `${PARENT}/secrets/s1/versions/2` });
    expect(await code(sm.accessSecretVersion({ name: `${PARENT}/secrets/s1/versions/latest` }))).toBe(`9: ${PARENT}/secrets/s1/versions/2 is in DISABLED state.`);
    const [meta] = await sm.getSecretVersion({ name: `${PARENT}/secrets/s1/versions/2` });
    expect(await code(sm.enableSecretVersion({ name: meta.name, etag: '"stale"' }))).toMatch(/^9: The etag provided/);
    await sm.destroySecretVersion({ name: `${PARENT}/secrets/s1/versions/1` });
    expect(await code(sm.accessSecretVersion({ name: `${PARENT}/secrets/s1/versions/1` }))).toBe(`9: ${PARENT}/secrets/s1/versions/1 is in DESTROYED state.`);
    expect(await code(sm.accessSecretVersion({ name: `${PARENT}/secrets/s1/versions/9` }))).toBe(`5: Secret Version [${PARENT}/secrets/s1/versions/9] not found.`);
  });

  it('filters lists by labels and pages with next_page_token, which the SDK follows', async () => {
    const sm = account(at('lister@p1.iam.gserviceaccount.com'), ['roles/secretmanager.admin'], transport);
    for (let i = 0; i < 7; i++) await sm.createSecret({ parent: PARENT, secretId: `page-${i}`, secret: { replication: { automatic: {} }, labels: { kind: i % 2 ? 'odd' : 'even' } } });
    const [firstPage, , response] = await sm.listSecrets({ parent: PARENT, filter: 'labels.kind=odd', pageSize: 2 }, { autoPaginate: false });
    expect(firstPage).toHaveLength(2);
    expect(response?.nextPageToken).toBeTruthy();
    const [all] = await sm.listSecrets({ parent: PARENT, filter: 'labels.kind="odd"', pageSize: 2 });
    expect(all.map((s) => s.name!.split('/').pop())).toEqual(['page-1', 'page-3', 'page-5']);
    expect(await code(sm.listSecrets({ parent: PARENT, filter: 'create_time>2020' }))).toMatch(/^3: Invalid filter/);
  });

  it('deletes a secret at its expire_time, and refuses a rotation without a topic', async () => {
    const sm = account(at('dates@p1.iam.gserviceaccount.com'), ['roles/secretmanager.admin'], transport);
    const soon = Date.now() + 300;
    await sm.createSecret({ parent: PARENT, secretId: 'short', secret: { replication: { automatic: {} }, expireTime: { seconds: Math.floor(soon / 1000), nanos: (soon % 1000) * 1e6 } } });
    expect((await sm.getSecret({ name: `${PARENT}/secrets/short` }))[0].expireTime).toBeTruthy();
    await new Promise((r) => setTimeout(r, 400));
    expect(await code(sm.getSecret({ name: `${PARENT}/secrets/short` }))).toMatch(/^5: /);
    expect(await code(sm.createSecret({ parent: PARENT, secretId: 'rot', secret: { replication: { automatic: {} }, rotation: { nextRotationTime: { seconds: Math.floor(Date.now() / 1000) + 60 } } } }))).toMatch(/^3: A secret with rotation must have at least one Pub\/Sub topic/);
  });

  it('needs a valid token and the role for every call, and answers RESOURCE_EXHAUSTED with RetryInfo', async () => {
    const viewer = account(at('viewer@p1.iam.gserviceaccount.com'), ['roles/secretmanager.viewer'], transport);
    expect(await code(viewer.accessSecretVersion({ name: `${PARENT}/secrets/s1/versions/latest` }))).toBe(`7: Permission 'secretmanager.versions.access' denied for resource '${PARENT}/secrets/s1/versions/latest' (or it may not exist).`);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const stranger = client(at('viewer@p1.iam.gserviceaccount.com'), privateKey, transport);
    expect(await code(stranger.getSecret({ name: `${PARENT}/secrets/s1` }))).toMatch(/^16: Request had invalid authentication credentials/);
    server.secretManager.throttle(1, 4);
    const err = (await viewer.getSecret({ name: `${PARENT}/secrets/s1` }, { retry: null }).then(() => undefined, (e: unknown) => e)) as { code: number; statusDetails?: Array<{ retryDelay?: { seconds: unknown } }> };
    expect(err.code).toBe(8);
    expect(Number(String(err.statusDetails?.[0]?.retryDelay?.seconds))).toBe(4);
  });
});

describe('Google token services test server', () => {
  const sts = (form: Record<string, string>) => request(`${server.tokenUrl}/v1/token`, {
    method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', requested_token_type: 'urn:ietf:params:oauth:token-type:access_token', scope: 'https://www.googleapis.com/auth/cloud-platform', ...form }).toString(),
  }).then(async (r) => ({ status: r.statusCode, json: (await r.body.json()) as Record<string, string> }));
  const AUDIENCE = '//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/k';

  beforeAll(() => {
    server.identity.pools.push({ audience: AUDIENCE, issuer: ISSUER, tokenAudiences: [`https:${AUDIENCE}`], principal: 'principal://pool/subject/{sub}' });
  });

  it('exchanges a ServiceAccount JWT only with the right issuer, audience, expiry and signature', async () => {
    const good = issuer.token('system:serviceaccount:ns:app', { aud: [`https:${AUDIENCE}`] });
    const ok = await sts({ audience: AUDIENCE, subject_token: good });
    expect(ok.status).toBe(200);
    expect(ok.json.token_type).toBe('Bearer');
    for (const [token, why] of [
      [issuer.token('system:serviceaccount:ns:app', { aud: ['other'] }), 'audience in ID Token'],
      [issuer.token('system:serviceaccount:ns:app', { aud: [`https:${AUDIENCE}`], iss: 'https://elsewhere' }), 'issuer in ID Token'],
      [issuer.token('system:serviceaccount:ns:app', { aud: [`https:${AUDIENCE}`], exp: Math.floor(Date.now() / 1000) - 5 }), 'expired'],
      [fakeIssuer(ISSUER).token('system:serviceaccount:ns:app', { aud: [`https:${AUDIENCE}`] }), 'Invalid JWT signature'],
    ] as const) {
      const r = await sts({ audience: AUDIENCE, subject_token: token });
      expect(r.status).toBe(400);
      expect(r.json.error_description).toContain(why);
    }
    expect((await sts({ audience: 'unknown', subject_token: good })).json.error_description).toContain('does not match a workload identity pool provider');
  });

  it('issues a service account token through generateAccessToken only to a bound principal', async () => {
    const fed = (await sts({ audience: AUDIENCE, subject_token: issuer.token('system:serviceaccount:ns:app', { aud: [`https:${AUDIENCE}`] }) })).json.access_token!;
    const generate = (token: string) => request(`${server.tokenUrl}/v1/projects/-/serviceAccounts/gsa@p1.iam.gserviceaccount.com:generateAccessToken`, {
      method: 'POST', dispatcher: agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ scope: ['https://www.googleapis.com/auth/cloud-platform'] }),
    }).then(async (r) => ({ status: r.statusCode, json: (await r.body.json()) as { accessToken?: string; error?: { status: string } } }));
    expect((await generate(fed)).json.error?.status).toBe('PERMISSION_DENIED');
    server.identity.allowImpersonation('principal://pool/subject/system:serviceaccount:ns:app', 'gsa@p1.iam.gserviceaccount.com');
    const ok = await generate(fed);
    expect(ok.status).toBe(200);
    expect(server.identity.caller(`Bearer ${ok.json.accessToken}`)).toMatchObject({ principal: 'serviceAccount:gsa@p1.iam.gserviceaccount.com' });
    expect((await generate('ya29.forged')).status).toBe(401);
  });
});

describe('Pub/Sub test server', () => {
  /** A Pub/Sub client over the same channel setup as the Secret Manager one. */
  function pubsub(email: string) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    server.identity.addServiceAccountKey(email, `kid-${email}`, publicKey);
    const [host, port] = server.endpoint.split(':');
    const jwt = new JWT({ email, key: privateKey, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    jwt.useJWTAccessWithScope = true;
    const callCreds = grpc.credentials.createFromGoogleCredential({ getRequestHeaders: async (url?: string) => Object.fromEntries((await jwt.getRequestHeaders(url)).entries()) });
    const sslCreds = grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), callCreds);
    const options = { apiEndpoint: host, port: Number(port), sslCreds, authClient: jwt, projectId: 'p1' };
    return { publisher: new PubSub.PublisherClient(options), subscriber: new PubSub.SubscriberClient(options) };
  }

  it("delivers Secret Manager's SECRET_VERSION_ADD to the secret's topic, redelivers what is not acknowledged, and forgets what is", async () => {
    const { publisher, subscriber } = pubsub('ps@p1.iam.gserviceaccount.com');
    const topic = `${PARENT}/topics/secrets`;
    const subscription = `${PARENT}/subscriptions/ops`;
    await publisher.createTopic({ name: topic });
    await subscriber.createSubscription({ name: subscription, topic, ackDeadlineSeconds: 1 });
    const sm = account('notify@p1.iam.gserviceaccount.com', ['roles/secretmanager.admin']);
    await sm.createSecret({ parent: PARENT, secretId: 'notified', secret: { replication: { automatic: {} }, topics: [{ name: topic }] } });
    await sm.addSecretVersion({ parent: `${PARENT}/secrets/notified`, payload: { data: Buffer.from('v1') } });

    const [first] = await subscriber.pull({ subscription, maxMessages: 10 });
    expect(first.receivedMessages).toHaveLength(1);
    expect(first.receivedMessages![0]!.message!.attributes).toEqual({ eventType: 'SECRET_VERSION_ADD', secretId: `${PARENT}/secrets/notified`, dataFormat: 'JSON_API_V1' });
    // Not acknowledged within the 1 s deadline: delivered again, one attempt more.
    const [again] = await subscriber.pull({ subscription, maxMessages: 10 });
    expect(again.receivedMessages![0]!.message!.messageId).toBe(first.receivedMessages![0]!.message!.messageId);
    expect(again.receivedMessages![0]!.deliveryAttempt).toBe(2);
    await subscriber.acknowledge({ subscription, ackIds: [again.receivedMessages![0]!.ackId!] });
    const [none] = await subscriber.pull({ subscription, maxMessages: 10, returnImmediately: true });
    expect(none.receivedMessages ?? []).toEqual([]);
    await Promise.all([publisher.close(), subscriber.close(), sm.close()]);
  });

  it('refuses a caller whose key it does not know, and a subscription on a topic that does not exist', async () => {
    // A token signed by a key nobody registered (an explicit client: no default credentials are looked for).
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const [host, port] = server.endpoint.split(':');
    const jwt = new JWT({ email: 'stranger@p1.iam.gserviceaccount.com', key: privateKey, scopes: ['https://www.googleapis.com/auth/cloud-platform'] });
    jwt.useJWTAccessWithScope = true;
    const callCreds = grpc.credentials.createFromGoogleCredential({ getRequestHeaders: async (url?: string) => Object.fromEntries((await jwt.getRequestHeaders(url)).entries()) });
    const anonymous = new PubSub.SubscriberClient({ apiEndpoint: host, port: Number(port), sslCreds: grpc.credentials.combineChannelCredentials(grpc.credentials.createSsl(ca), callCreds), authClient: jwt, projectId: 'p1' });
    expect(await code(anonymous.pull({ subscription: `${PARENT}/subscriptions/ops`, maxMessages: 1, returnImmediately: true }))).toMatch(/^16: /);
    const { subscriber } = pubsub('ps2@p1.iam.gserviceaccount.com');
    expect(await code(subscriber.createSubscription({ name: `${PARENT}/subscriptions/x`, topic: `${PARENT}/topics/missing` }))).toMatch(/^5: Resource not found/);
    await Promise.all([anonymous.close(), subscriber.close()]);
  });
});
