// The webhook provider against the project's webhook test server (a JSON
// secrets API over TLS, test/servers/webhook): the shared conformance suite,
// then through the operator: templated URLs and bodies, JSONPath into nested
// and array answers, a labelled Secret as the bearer token, and the same
// guarantees as every provider (host guard after templating, redirects kept
// on their host, size limit, 429 with Retry-After, nothing secret shown).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SecretStore } from '../../src/api/types.js';
import { API_VERSION, Resources } from '../../src/kube/types.js';
import { parseHostPolicy } from '../../src/providers/host-policy.js';
import { webhookProvider } from '../../src/providers/webhook/provider.js';
import { providerConformance } from '../conformance/provider-suite.js';
import { webhookSecret, webhookStore, webhookTestEnv, type WebhookTestEnv } from '../support/webhook.js';
import {
  createExternalSecret, createStore, decoded, events, getSecret, kube, newNamespace, providerEnv, ready, startOperator, useOperator, waitFor, waitForReady,
  type TestOperator,
} from './harness.js';

const SECRET_VALUE = 'webhook-secret-value-8u9i';
const TOKEN = `token-${randomBytes(6).toString('hex')}`;
let env: WebhookTestEnv;
beforeAll(async () => {
  env = webhookTestEnv(providerEnv());
  await env.admin.token(TOKEN);
  await env.admin.token(`${TOKEN}-denied`, 'none');
});
afterAll(() => env.admin.close());

async function namespaceWithToken(token = TOKEN): Promise<string> {
  const ns = await newNamespace();
  await webhookSecret(kube(), ns, 'webhook-auth', { token });
  return ns;
}

describe('webhook conformance', () => {
  // newNamespace() ends with each test; the suite's clients live across its tests.
  const ns = `webhook-conf-${Date.now().toString(36)}`;
  beforeAll(async () => {
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await webhookSecret(kube(), ns, 'webhook-auth', { token: TOKEN });
    await webhookSecret(kube(), ns, 'webhook-denied', { token: `${TOKEN}-denied` });
  });
  afterAll(() => kube().delete(Resources.Namespace, undefined, ns));
  const clientFor = (secret: string) => {
    const store = { metadata: { name: 'w', namespace: ns }, spec: webhookStore(env, { secrets: [{ name: 'auth', secretRef: { name: secret } }] }) } as SecretStore;
    return webhookProvider.newClient({ store, namespace: ns, kube: kube() });
  };

  providerConformance({
    name: 'webhook (the test JSON secrets API over TLS)',
    put: (key, value) => env.admin.put(key, value),
    client: () => clientFor('webhook-auth'),
    deniedClient: () => clientFor('webhook-denied'),
    serverRequests: () => env.admin.requests(),
    async throttle() {
      await env.admin.throttle(30);
      return async () => {
        await env.admin.throttle(0);
      };
    },
    // One request per key: a webhook has no batch form.
    batchCost: (n) => n,
    supports: {
      versions: { no: 'a webhook answer has no standard version field; a pinned remoteRef.version is sent through the URL template (tested through the operator below)' },
      versionChecks: { no: 'there is no request for a version without the value in a generic JSON API' },
      findByName: { no: 'a webhook has no listing in its shape (External Secrets Operator has none either)' },
      findByPath: { no: 'a webhook has no listing in its shape (External Secrets Operator has none either)' },
      findByTags: { no: 'a webhook has no listing in its shape (External Secrets Operator has none either)' },
      metadata: { no: 'a generic JSON API has no metadata apart from the value; result.jsonPath reads any field of the answer' },
      expiryDates: { no: 'a generic JSON API has no standard expiry field' },
      rotationDates: { no: 'a generic JSON API has no standard rotation field' },
      permissions: true,
      throttling: true,
      writes: { no: 'secretsync reads webhooks only; a PushSecret through a webhook store is refused as for any read-only store' },
    },
  });
});

describe('webhook through the operator (shipped RBAC)', () => {
  useOperator([SECRET_VALUE, TOKEN], { asServiceAccount: true });

  it('templated URL, header and body, JSONPath into nested and array answers, property and extract; a pinned version goes through the URL', async () => {
    const ns = await namespaceWithToken();
    const key = `${ns}/db`;
    const first = await env.admin.put(key, JSON.stringify({ user: 'app', password: 'old' }));
    await env.admin.put(key, JSON.stringify({ user: 'app', password: SECRET_VALUE, nested: { port: 5432 } }));
    await env.admin.put(`${ns}-list/a`, 'A');
    await env.admin.put(`${ns}-list/b`, SECRET_VALUE);
    await createStore(ns, 'get', webhookStore(env));
    await createStore(ns, 'post', webhookStore(env, { url: `${env.url}/api/v1/lookup`, method: 'POST', body: '{"key": {{ remoteRef.key | json }}}', headers: { Authorization: 'Bearer {{ auth.token }}', 'Content-Type': 'application/json' } }));
    await createStore(ns, 'items', webhookStore(env, { url: `${env.url}/api/v1/items?prefix=${ns}-list/`, result: { jsonPath: "$.items[?(@.name=='{{ remoteRef.key }}')].value" } }));
    await createStore(ns, 'whole', webhookStore(env, { result: { jsonPath: '$.secret' } }));
    await createExternalSecret(ns, 'es', {
      secretStoreRef: { name: 'get' },
      data: [
        { secretKey: 'password', remoteRef: { key, property: 'password' } },
        { secretKey: 'port', remoteRef: { key, property: 'nested.port' } },
        { secretKey: 'old', remoteRef: { key, version: first, property: 'password' } },
      ],
      dataFrom: [{ extract: { key }, rewrite: [{ regexp: { source: '^', target: 'x_' } }] }],
    });
    const one = (store: string, remoteRef: { key: string; property?: string }) =>
      createExternalSecret(ns, store, { secretStoreRef: { name: store }, data: [{ secretKey: 'v', remoteRef }] });
    await one('post', { key, property: 'password' });
    await one('items', { key: `${ns}-list/b` });
    await one('whole', { key, property: 'version' });
    const es = await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es'))).toEqual({ password: SECRET_VALUE, port: '5432', old: 'old', x_user: 'app', x_password: SECRET_VALUE, x_nested: '{"port":5432}' });
    for (const [store, value] of [['post', SECRET_VALUE], ['items', SECRET_VALUE], ['whole', '2']]) {
      await waitForReady(ns, store!);
      expect(decoded(await getSecret(ns, store!)).v, store).toBe(value);
    }
    expect(JSON.stringify([es.status, await events(ns, 'es')])).not.toContain(SECRET_VALUE);
  });

  it('the Webhook generator: one templated POST, its JSON answer as keys, kept until refreshInterval', async () => {
    const ns = await namespaceWithToken();
    const key = `${ns}/generated`;
    await env.admin.put(key, SECRET_VALUE);
    await kube().create(Resources.Webhook, {
      apiVersion: API_VERSION, kind: 'Webhook', metadata: { name: 'gen', namespace: ns },
      spec: {
        url: `${env.url}/api/v1/lookup`, method: 'POST', body: `{"key": "${key}"}`, caBundle: env.ca,
        headers: { Authorization: 'Bearer {{ auth.token }}', 'Content-Type': 'application/json' },
        secrets: [{ name: 'auth', secretRef: { name: 'webhook-auth' } }], result: { jsonPath: '$.secret' },
      },
    });
    const before = await env.admin.routeRequests('/api/v1/lookup');
    await createExternalSecret(ns, 'gen', { refreshInterval: '1h', dataFrom: [{ sourceRef: { generatorRef: { kind: 'Webhook', name: 'gen' } } }] });
    await waitForReady(ns, 'gen');
    expect(decoded(await getSecret(ns, 'gen'))).toEqual({ name: key, version: '1', value: SECRET_VALUE });
    expect(await env.admin.routeRequests('/api/v1/lookup')).toBe(before + 1);
  });

  it('a Secret without the webhook label is never sent: the store is not ready and says why', async () => {
    const ns = await newNamespace();
    await webhookSecret(kube(), ns, 'webhook-auth', { token: TOKEN }, false);
    await createStore(ns, 'w', webhookStore(env));
    const store = await waitFor('the store refused', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, ns, 'w');
      return ready(s)?.status === 'False' ? s : undefined;
    });
    expect(ready(store)?.message).toContain('lacks the label external-secrets.io/type: webhook');
    expect(JSON.stringify(store.status)).not.toContain(TOKEN);
  });

  it('a missing key, a refused token, an oversized answer and a 429: Ready=False with the reason, the Secret untouched; the 429 clears', async () => {
    const ns = await namespaceWithToken();
    const key = `${ns}/v`;
    await env.admin.put(key, SECRET_VALUE);
    await createStore(ns, 'w', webhookStore(env));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'w' }, refreshInterval: '1s', data: [{ secretKey: 'v', remoteRef: { key } }] });
    await waitForReady(ns, 'es');
    const synced = await getSecret(ns, 'es');
    const setData = (remoteKey: string) => kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { data: [{ secretKey: 'v', remoteRef: { key: remoteKey } }] } });

    await setData(`${ns}/missing`);
    expect(ready(await waitForReady(ns, 'es', 'False', 'RemoteNotFound'))?.message).toContain('HTTP 404');
    await webhookSecret(kube(), ns, 'webhook-denied', { token: `${TOKEN}-denied` });
    await createStore(ns, 'denied', webhookStore(env, { secrets: [{ name: 'auth', secretRef: { name: 'webhook-denied' } }] }));
    await setData(key);
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { secretStoreRef: { name: 'denied' } } });
    expect(ready(await waitForReady(ns, 'es', 'False', 'PermissionDenied'))?.message).toContain('HTTP 403');
    await createStore(ns, 'huge', webhookStore(env, { url: `${env.url}/api/v1/huge` }));
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { secretStoreRef: { name: 'huge' } } });
    await waitForReady(ns, 'es', 'False', 'SecretTooLarge');
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { secretStoreRef: { name: 'w' } } });
    await setData(key);
    await waitForReady(ns, 'es');
    await env.admin.throttle(3);
    const throttled = await waitForReady(ns, 'es', 'False', 'ProviderThrottled');
    expect(ready(throttled)?.message).toContain('HTTP 429');
    await waitForReady(ns, 'es', 'True', undefined, 30_000);
    expect((await getSecret(ns, 'es'))!.data).toEqual(synced!.data);
    const seen = JSON.stringify([(await kube().get(Resources.ExternalSecret, ns, 'es')), await events(ns, 'es')]);
    expect(seen).not.toContain(SECRET_VALUE);
    expect(seen).not.toContain(TOKEN);
  });

  it('the CA from a ConfigMap (caProvider), and a timeout the store sets: ProviderTimeout, the Secret untouched', async () => {
    const ns = await namespaceWithToken();
    const key = `${ns}/ca`;
    await env.admin.put(key, SECRET_VALUE);
    await kube().create(Resources.ConfigMap, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'api-ca', namespace: ns }, data: { 'ca.crt': env.ca } });
    await createStore(ns, 'w', webhookStore(env, { caBundle: undefined, caProvider: { type: 'ConfigMap', name: 'api-ca', key: 'ca.crt' } }));
    await createStore(ns, 'slow', webhookStore(env, { url: `${env.url}/api/v1/slow?ms=5000`, timeout: '500ms' }));
    await createExternalSecret(ns, 'es', { secretStoreRef: { name: 'w' }, data: [{ secretKey: 'v', remoteRef: { key } }] });
    await waitForReady(ns, 'es');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
    await kube().mergePatch(Resources.ExternalSecret, ns, 'es', { spec: { secretStoreRef: { name: 'slow' } } });
    const late = await waitForReady(ns, 'es', 'False', 'ProviderTimeout');
    expect(ready(late)?.message).toContain('within 0.5s (spec.provider.webhook.timeout)');
    expect(decoded(await getSecret(ns, 'es')).v).toBe(SECRET_VALUE);
  });

  it('a redirect to another host is not followed (the bearer token stays on the store\'s host); one on the same host is', async () => {
    const ns = await namespaceWithToken();
    const key = `${ns}/r`;
    await env.admin.put(key, SECRET_VALUE);
    const port = new URL(env.url).port;
    const to = (host: string) => encodeURIComponent(`https://${host}:${port}/api/v1/secrets/${encodeURIComponent(key)}`);
    await createStore(ns, 'same', webhookStore(env, { url: `${env.url}/api/v1/redirect?to=${to('127.0.0.1')}` }));
    await createStore(ns, 'other', webhookStore(env, { url: `${env.url}/api/v1/redirect?to=${to('localhost')}` }));
    await createExternalSecret(ns, 'same', { secretStoreRef: { name: 'same' }, data: [{ secretKey: 'v', remoteRef: { key } }] });
    await createExternalSecret(ns, 'other', { secretStoreRef: { name: 'other' }, data: [{ secretKey: 'v', remoteRef: { key } }] });
    await waitForReady(ns, 'same');
    expect(decoded(await getSecret(ns, 'same')).v).toBe(SECRET_VALUE);
    const refused = await waitForReady(ns, 'other', 'False', 'ProviderError');
    expect(ready(refused)?.message).toContain('redirected remote key');
    expect(ready(refused)?.message).toContain('to another host (localhost:');
    expect(await getSecret(ns, 'other')).toBeUndefined();
  });
});

describe('webhook under --deny-store-hosts: the URL is checked after templating', () => {
  let op: TestOperator;
  beforeAll(async () => {
    op = await startOperator({ storeHostPolicy: parseHostPolicy('127.0.0.2/32,link-local,metadata') });
  });
  afterAll(() => op.stop());

  it('a static host in a denied range refuses the store; a templated host that renders into one is refused at connect time', async () => {
    const ns = await namespaceWithToken();
    const port = new URL(env.url).port;
    await env.admin.put(`${ns}-ok`, SECRET_VALUE);
    await createStore(ns, 'static', webhookStore(env, { url: `https://127.0.0.2:${port}/api/v1/secrets/{{ remoteRef.key }}` }));
    await createStore(ns, 'templated', webhookStore(env, { url: `https://{{ remoteRef.key }}:${port}/api/v1/secrets/${ns}-ok` }));
    const refused = await waitFor('the static store refused', async () => {
      const s = await kube().get<SecretStore>(Resources.SecretStore, ns, 'static');
      return ready(s)?.status === 'False' ? s : undefined;
    });
    expect(ready(refused)?.message).toContain('spec.provider.webhook.url points at 127.0.0.2');
    await createExternalSecret(ns, 'allowed', { secretStoreRef: { name: 'templated' }, data: [{ secretKey: 'v', remoteRef: { key: '127.0.0.1' } }] });
    await createExternalSecret(ns, 'denied', { secretStoreRef: { name: 'templated' }, data: [{ secretKey: 'v', remoteRef: { key: '127.0.0.2' } }] });
    await waitForReady(ns, 'allowed');
    expect(decoded(await getSecret(ns, 'allowed')).v).toBe(SECRET_VALUE);
    const denied = await waitForReady(ns, 'denied', 'False', 'HostNotAllowed');
    expect(ready(denied)?.message).toContain('127.0.0.2, in the 127.0.0.2/32 range');
    expect(op.logs.text).not.toContain(TOKEN);
  });
});
