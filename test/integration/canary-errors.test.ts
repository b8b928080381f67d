// The canary on the error paths: a remote value that makes the sync fail
// (it is not the base64 or JSON it is declared as, a template filter chokes
// on it, a template puts it where the API server refuses it and echoes what
// it refused) must not come back in any message. The shipped bundle runs at
// trace level; every failure must show Ready=False with a reason, and the
// canary must appear in no log line, Event, status or metric, plain or base64.
import { describe, expect, it } from 'vitest';
import type { ExternalSecretSpec } from '../../src/api/types.js';
import {
  createCredentialSecret, createExternalSecret, createStore, events, freePort, getES, newNamespace, providerEnv, ready, spawnOperator, terminate, waitFor,
} from './harness.js';

describe('the canary on error paths', () => {
  it('values that break decoding, JSON, templates or the API server validation never appear in what the operator says', async () => {
    const env = providerEnv();
    const ns = await newNamespace();
    // Not base64, not JSON, not a valid label value or key, not YAML-safe: it breaks every step it can.
    const canary = `canary ${ns}: {not json} !`;
    await fetch(`${env.VAULT_ADDR}/v1/secret/data/${ns}/canary`, {
      method: 'POST',
      headers: { 'X-Vault-Token': env.VAULT_TOKEN! },
      body: JSON.stringify({ data: { v: canary, nested: { 'not a valid key!': canary } } }),
    });
    await createCredentialSecret(ns, 'vault-token', { token: env.VAULT_TOKEN! });
    await createStore(ns, 'vault', { provider: { vault: { server: env.VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    const ref = { key: `${ns}/canary`, property: 'v' };
    const cases: Record<string, { spec: Omit<ExternalSecretSpec, 'secretStoreRef'>; reason: string }> = {
      base64: { spec: { data: [{ secretKey: 'v', remoteRef: { ...ref, decodingStrategy: 'Base64' } }] }, reason: 'InvalidData' },
      'json-property': { spec: { data: [{ secretKey: 'v', remoteRef: { ...ref, property: 'v.inner' } }] }, reason: 'RemoteNotFound' },
      'not-a-map': { spec: { dataFrom: [{ extract: { key: `${ns}/canary`, property: 'v' } }] }, reason: 'RemoteNotFound' },
      'bad-key': { spec: { dataFrom: [{ extract: { key: `${ns}/canary`, property: 'nested' } }] }, reason: 'InvalidData' },
      fromjson: { spec: { data: [{ secretKey: 'v', remoteRef: ref }], target: { template: { data: { out: '{{ v | fromjson }}' } } } }, reason: 'TemplateError' },
      b64dec: { spec: { data: [{ secretKey: 'v', remoteRef: ref }], target: { template: { data: { out: '{{ v | b64dec }}' } } } }, reason: 'TemplateError' },
      'label-value': { spec: { data: [{ secretKey: 'v', remoteRef: ref }], target: { template: { metadata: { labels: { team: '{{ v }}' } } } } }, reason: 'SecretSyncedError' },
      'annotation-key': {
        spec: { data: [{ secretKey: 'v', remoteRef: ref }], target: { template: { templateFrom: [{ target: 'Annotations', literal: '"{{ v }}": x' }] } } },
        reason: 'SecretSyncedError',
      },
    };
    for (const [name, { spec }] of Object.entries(cases)) await createExternalSecret(ns, name, { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', ...spec });

    const port = await freePort();
    const op = spawnOperator(['--watch-namespace', ns, '--log-level', 'trace', '--metrics-port', String(port), '--metrics-bind-address', '127.0.0.1']);
    const verdicts: Record<string, string | undefined> = {};
    for (const name of Object.keys(cases)) {
      const es = await waitFor(`${name} failed`, async () => {
        const got = await getES(ns, name);
        return ready(got)?.status === 'False' ? got : undefined;
      }, 30_000, 200);
      verdicts[name] = ready(es)?.reason;
    }
    expect(verdicts).toEqual(Object.fromEntries(Object.entries(cases).map(([n, c]) => [n, c.reason])));
    const metricsText = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect((await terminate(op)).code).toBe(0);

    const said = [
      op.output.join('\n'),
      metricsText,
      JSON.stringify(await Promise.all(Object.keys(cases).map(async (n) => [(await getES(ns, n)).status, await events(ns, n)]))),
    ].join('\n');
    // The verbose levels were really on.
    expect(op.output.some((l) => l.includes('"level":"debug"'))).toBe(true);
    // The messages still say what went wrong, by key.
    expect(said).toContain('is not valid base64');
    for (const form of [canary, Buffer.from(canary).toString('base64'), JSON.stringify(canary).slice(1, -1), `canary ${ns}`]) {
      expect(said, form).not.toContain(form);
    }
  }, 120_000);
});
