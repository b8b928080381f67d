// Refresh on provider events, through the signed webhook, against OpenBao:
// an event for a remote key refreshes exactly the ExternalSecrets that read
// it, within seconds instead of at the next scheduled refresh; a storm of
// events costs one provider read; a forged, replayed, stale or unknown event
// causes none. Reads are counted in OpenBao's audit log.
import { randomBytes, randomUUID } from 'node:crypto';
import NodeVault from 'node-vault';
import { describe, expect, it, onTestFinished } from 'vitest';
import type { ExternalSecretSpec } from '../../src/api/types.js';
import { signRefresh } from '../../src/refresh-events/webhook.js';
import { openbaoRequestPaths } from '../support/openbao-audit.js';
import { Resources } from '../../src/kube/types.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, getSecret, kube, newNamespace, providerEnv, startOperator, stateDir, waitFor, waitForReady,
} from './harness.js';

const env = () => providerEnv();
const vault = () => NodeVault({ endpoint: env().VAULT_ADDR, token: env().VAULT_TOKEN });
const KEY = randomBytes(32);

async function setup() {
  const ns = await newNamespace();
  await createCredentialSecret(ns, 'vault-token', { token: env().VAULT_TOKEN! });
  await createStore(ns, 'vault', { provider: { vault: { server: env().VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
  // The signing key, in a Secret of the operator's namespace.
  const keySecret = `webhook-${ns}`;
  await kube().create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: keySecret, namespace: 'secretsync-system' }, data: { key: KEY.toString('base64') } });
  onTestFinished(() => kube().delete(Resources.Secret, 'secretsync-system', keySecret));
  const op = await startOperator({
    watchNamespace: ns,
    refreshEvents: { windowMs: 500, webhook: { port: 0, bindAddress: '127.0.0.1', keySecret: { namespace: 'secretsync-system', name: keySecret } } },
  });
  onTestFinished(() => op.stop());
  const url = `http://127.0.0.1:${op.operator.webhookPort}/hooks/refresh`;
  const send = async (event: object, opts: { key?: Uint8Array; timestamp?: number; signature?: string } = {}) => {
    const body = JSON.stringify(event);
    const timestamp = opts.timestamp ?? Math.floor(Date.now() / 1000);
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Secretsync-Timestamp': String(timestamp), 'X-Secretsync-Signature': opts.signature ?? signRefresh(opts.key ?? KEY, timestamp, body) },
      body,
    });
    return { status: res.status, text: await res.text() };
  };
  const events = (result: string) => op.operator.metrics.refreshEvents.get().then((m) => m.values.find((v) => v.labels.source === 'webhook' && v.labels.result === result)?.value ?? 0);
  return { ns, send, events };
}

/**
 * OpenBao read requests for a KV v2 key, data and metadata. One read of a changed value by an
 * operator that holds the old one is 2: the version check (metadata) and the value (data).
 */
const reads = (path: string) => openbaoRequestPaths(stateDir(), 'read').filter((p) => p === `secret/data/${path}` || p === `secret/metadata/${path}`).length;
const ONE_READ = 2;
const esSpec = (key: string): ExternalSecretSpec => ({ refreshInterval: '1h', secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'password', remoteRef: { key, property: 'password' } }] });

describe('refresh on provider events: the signed webhook', () => {
  it('an event refreshes the ExternalSecrets that read the key within seconds, not at their hourly refresh; the others stay', async () => {
    const { ns, send } = await setup();
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'one' } });
    await vault().write(`secret/data/${ns}/other`, { data: { password: 'x' } });
    await createExternalSecret(ns, 'a', esSpec(`${ns}/db`));
    await createExternalSecret(ns, 'b', esSpec(`${ns}/db`));
    await createExternalSecret(ns, 'c', esSpec(`${ns}/other`));
    for (const n of ['a', 'b', 'c']) await waitForReady(ns, n);
    const otherBefore = (await getSecret(ns, 'c'))!.metadata.resourceVersion;
    const readsBefore = reads(`${ns}/db`);

    await vault().write(`secret/data/${ns}/db`, { data: { password: 'two' } });
    const t0 = Date.now();
    const res = await send({ id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` });
    expect(res).toEqual({ status: 202, text: '{"result":"accepted"}\n' });
    for (const n of ['a', 'b']) await waitFor(`${n} to hold the new value`, async () => decoded(await getSecret(ns, n)).password === 'two', 5_000);
    console.log(`webhook event to updated Secrets: ${Date.now() - t0} ms`);
    // Both ExternalSecrets shared one read; the one reading another key was not touched.
    expect(reads(`${ns}/db`) - readsBefore).toBe(ONE_READ);
    expect((await getSecret(ns, 'c'))!.metadata.resourceVersion).toBe(otherBefore);
  });

  it('a storm of 200 events for one key within the window costs one provider read', async () => {
    const { ns, send, events } = await setup();
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'one' } });
    await createExternalSecret(ns, 'a', esSpec(`${ns}/db`));
    await waitForReady(ns, 'a');
    const before = reads(`${ns}/db`);
    const accepted = await events('accepted');
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'two' } });
    // One after another, so the storm lasts while reads could be made: the window, not the queue, makes it one.
    const started = Date.now();
    for (let i = 0; i < 200; i++) expect((await send({ id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` })).status).toBe(202);
    expect(Date.now() - started, 'the storm outlasted a read').toBeGreaterThan(50);
    await waitFor('the new value', async () => decoded(await getSecret(ns, 'a')).password === 'two', 5_000);
    expect(await events('accepted')).toBe(accepted + 200);
    expect(reads(`${ns}/db`) - before).toBe(ONE_READ);
  });

  it('forged, stale, replayed, malformed and unknown events are refused or ignored, counted, and cause no read', async () => {
    const { ns, send, events } = await setup();
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'one' } });
    await createExternalSecret(ns, 'a', esSpec(`${ns}/db`));
    await waitForReady(ns, 'a');
    const before = reads(`${ns}/db`);
    const counts = { unauthenticated: await events('unauthenticated'), replayed: await events('replayed'), malformed: await events('malformed'), unknown: await events('unknown') };
    const event = { id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` };

    expect((await send(event, { key: randomBytes(32) })).status).toBe(401); // wrong key
    expect((await send(event, { signature: 'sha256=00' })).status).toBe(401); // not a signature
    expect((await send(event, { timestamp: Math.floor(Date.now() / 1000) - 600 })).status).toBe(401); // 10 minutes old
    expect((await send({ ...event, id: undefined })).status).toBe(400); // no id
    expect((await send({ id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/nobody-reads-this` })).text).toContain('unknown');
    expect((await send({ id: randomUUID(), namespace: 'elsewhere', store: 'vault', key: `${ns}/db` })).text).toContain('unknown');
    // The same request twice: the second is a replay.
    const replayed = { id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/unknown-too` };
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await send(replayed, { timestamp })).status).toBe(202);
    expect((await send(replayed, { timestamp })).status).toBe(409);

    expect(await events('unauthenticated')).toBe(counts.unauthenticated + 2);
    expect(await events('replayed')).toBe(counts.replayed + 2);
    expect(await events('malformed')).toBe(counts.malformed + 1);
    expect(await events('unknown')).toBe(counts.unknown + 3);
    // Give a wrongly accepted event its window and a read: none came.
    const probe = { id: randomUUID(), namespace: ns, store: 'vault', key: `${ns}/db` };
    await vault().write(`secret/data/${ns}/db`, { data: { password: 'two' } });
    expect((await send(probe)).status).toBe(202);
    await waitFor('the accepted event to land', async () => decoded(await getSecret(ns, 'a')).password === 'two', 5_000);
    expect(reads(`${ns}/db`) - before).toBe(ONE_READ);
  });
});
