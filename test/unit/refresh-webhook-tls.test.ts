// The refresh webhook over TLS (--webhook-tls-cert/--webhook-tls-key): it
// serves its certificate, and a signed event is taken only over it.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { createLogger } from '../../src/runtime/log.js';
import { Metrics } from '../../src/runtime/metrics.js';
import { RefreshEvents } from '../../src/refresh-events/refresh-events.js';
import { RefreshWebhook, signRefresh } from '../../src/refresh-events/webhook.js';

const dir = mkdtempSync(join(tmpdir(), 'webhook-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the refresh webhook over TLS', () => {
  it('serves TLS with the given certificate and takes a signed event', async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')], { stdio: 'ignore' });
    const key = randomBytes(32);
    // The key Secret, as the API server would return it.
    const kube = { getOrUndefined: () => Promise.resolve({ data: { key: key.toString('base64') } }) } as unknown as KubeClient;
    const refreshed: string[][] = [];
    const events = new RefreshEvents({ metrics: new Metrics(), log: createLogger('error'), windowMs: 10, refresh: (keys) => refreshed.push([...keys]) });
    events.index.set({ metadata: { name: 'es', namespace: 'ns' }, spec: { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'k', remoteRef: { key: 'apps/db' } }] } });
    const webhook = new RefreshWebhook(kube, events, createLogger('error'), {
      port: 0, bindAddress: '127.0.0.1', keySecret: { namespace: 'ops', name: 'hook' }, isLeader: () => true, tls: { certFile: join(dir, 'tls.crt'), keyFile: join(dir, 'tls.key') },
    });
    const port = await webhook.start();
    const agent = new Agent({ connect: { ca: readFileSync(join(dir, 'tls.crt')) } });
    try {
      const body = JSON.stringify({ id: randomUUID(), namespace: 'ns', store: 'vault', key: 'apps/db' });
      const ts = Math.floor(Date.now() / 1000);
      const res = await request(`https://localhost:${port}/hooks/refresh`, {
        method: 'POST', body, dispatcher: agent, headers: { 'x-secretsync-timestamp': String(ts), 'x-secretsync-signature': signRefresh(key, ts, body) },
      });
      expect(res.statusCode).toBe(202);
      expect(await res.body.text()).toBe('{"result":"accepted"}\n');
      await expect.poll(() => refreshed).toEqual([['ns/es']]);
      // Plain HTTP to the TLS port gets nowhere.
      await expect(request(`http://localhost:${port}/hooks/refresh`, { method: 'POST', body })).rejects.toThrow();
    } finally {
      await agent.close();
      await webhook.stop();
      events.stop();
    }
  });
});
