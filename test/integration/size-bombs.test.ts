// A provider that answers with far more than any Secret can hold (a 50 MB
// value, a value past the read limit, a map of 100,000 keys) is refused with a
// reason, leaves the Secret untouched and does not take the operator past its
// memory limit. The shipped bundle runs with the image's heap sizing for the
// Deployment's 256 MiB limit; its peak resident memory (VmHWM) is read from
// /proc after the bombs went off.
import { readFileSync } from 'node:fs';
import { describe, expect, it, onTestFailed } from 'vitest';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, events, getES, getSecret, newNamespace, providerEnv, ready, spawnOperator, terminate, waitFor, waitForReady,
} from './harness.js';

const MiB = 1024 * 1024;
/** The Deployment's memory limit, and the old space the image gives V8 under it (Dockerfile: 60%). */
const LIMIT_MIB = 256;
const HEAP_MIB = Math.floor(LIMIT_MIB * 0.6);

function peakRssMiB(pid: number): number {
  const kb = Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

async function vaultWrite(env: Record<string, string>, path: string, data: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${env.VAULT_ADDR}/v1/secret/data/${path}`, { method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN! }, body: JSON.stringify({ data }) });
  expect(res.status).toBe(200);
}

describe('size bombs from providers', () => {
  it('a 50 MB value, a 6 MB value and a 100,000-key map are refused; the Secret, the other keys and the memory limit hold', async () => {
    const env = providerEnv();
    const ns = await newNamespace();
    const { SecretsManagerClient, CreateSecretCommand, PutSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
    const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint: env.AWS_ENDPOINT_URL, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } });
    await sm.send(new CreateSecretCommand({ Name: `${ns}/bomb`, SecretString: 'small-aws-value' }));
    await sm.send(new CreateSecretCommand({ Name: `${ns}/map`, SecretString: JSON.stringify({ a: '1' }) }));
    await vaultWrite(env, `${ns}/bomb`, { v: 'small-vault-value' });
    await vaultWrite(env, `${ns}/fine`, { v: 'still-synced' });
    await createCredentialSecret(ns, 'creds', { vault: env.VAULT_TOKEN!, awsId: 'testing', awsSecret: 'testing' });
    await createStore(ns, 'vault', { provider: { vault: { server: env.VAULT_ADDR!, auth: { tokenSecretRef: { name: 'creds', key: 'vault' } } } } });
    await createStore(ns, 'aws', {
      provider: { aws: { service: 'SecretsManager', region: 'us-east-1', endpoint: env.AWS_ENDPOINT_URL, auth: { secretRef: { accessKeyIDSecretRef: { name: 'creds', key: 'awsId' }, secretAccessKeySecretRef: { name: 'creds', key: 'awsSecret' } } } } },
    });
    // Short refresh intervals so the bombs are fetched soon after they are planted.
    await createExternalSecret(ns, 'aws-bomb', { refreshInterval: '2s', secretStoreRef: { name: 'aws' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/bomb` } }] });
    await createExternalSecret(ns, 'vault-bomb', { refreshInterval: '2s', secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/bomb`, property: 'v' } }] });
    await createExternalSecret(ns, 'aws-map', { refreshInterval: '2s', secretStoreRef: { name: 'aws' }, dataFrom: [{ extract: { key: `${ns}/map` } }] });
    await createExternalSecret(ns, 'fine', { refreshInterval: '2s', secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'v', remoteRef: { key: `${ns}/fine`, property: 'v' } }] });

    // As the image runs it (Dockerfile: NODE_OPTIONS and ENTRYPOINT), with the heap the 256 MiB limit gives.
    const op = spawnOperator(['--watch-namespace', ns, '--workers', '2'], {}, [`--max-old-space-size=${HEAP_MIB}`, '--optimize-for-size']);
    onTestFailed(() => console.log(op.output.slice(-40).join('\n')));
    for (const name of ['aws-bomb', 'vault-bomb', 'aws-map', 'fine']) await waitForReady(ns, name, 'True', undefined, 30_000);
    const before = new Map<string, string | undefined>();
    for (const n of ['aws-bomb', 'vault-bomb', 'aws-map']) before.set(n, (await getSecret(ns, n))!.metadata.resourceVersion);

    // The bombs: 50 MB and a 100,000-key map through moto (OpenBao refuses JSON objects of over
    // 10,000 entries on write), 6 MB through OpenBao (past the 4 MiB read limit, under its 32 MB request limit).
    await sm.send(new PutSecretValueCommand({ SecretId: `${ns}/bomb`, SecretString: 'x'.repeat(50 * MiB) }));
    await sm.send(new PutSecretValueCommand({ SecretId: `${ns}/map`, SecretString: JSON.stringify(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`k${i}`, 'v']))) }));
    await vaultWrite(env, `${ns}/bomb`, { v: 'y'.repeat(6 * MiB) });
    await vaultWrite(env, `${ns}/fine`, { v: 'synced-after-the-bombs' });

    for (const name of ['aws-bomb', 'vault-bomb', 'aws-map']) {
      const es = await waitFor(`${name} refused`, async () => {
        const got = await getES(ns, name);
        return ready(got)?.status === 'False' ? got : undefined;
      }, 60_000, 200);
      expect(ready(es)!.reason).toBe('SecretTooLarge');
    }
    expect(ready(await getES(ns, 'aws-bomb'))!.message).toMatch(new RegExp(`answer for "${ns}/bomb" is larger than 4 MiB`));
    expect(ready(await getES(ns, 'vault-bomb'))!.message).toMatch(new RegExp(`answer for "${ns}/bomb" is larger than 4 MiB`));
    expect(ready(await getES(ns, 'aws-map'))!.message).toContain(`remote secret "${ns}/map" has 100000 keys`);
    expect((await events(ns, 'aws-map')).some((e) => e.type === 'Warning' && e.reason === 'SecretTooLarge')).toBe(true);
    // The other ExternalSecret kept syncing beside them.
    await waitFor('the unaffected ExternalSecret synced its new value', async () => decoded(await getSecret(ns, 'fine')).v === 'synced-after-the-bombs', 30_000, 200);

    const peak = peakRssMiB(op.child.pid!);
    expect(op.child.exitCode).toBeNull(); // still running: no heap crash
    expect(peak).toBeLessThan(LIMIT_MIB);
    console.log(`size bombs: operator peak RSS ${peak.toFixed(0)} MiB (limit ${LIMIT_MIB} MiB, old space ${HEAP_MIB} MiB)`);

    // Nothing was written to the Secrets the bombs would have replaced.
    for (const [name, rv] of before) expect((await getSecret(ns, name))!.metadata.resourceVersion).toBe(rv);
    expect(decoded(await getSecret(ns, 'aws-bomb')).v).toBe('small-aws-value');
    expect(decoded(await getSecret(ns, 'vault-bomb')).v).toBe('small-vault-value');
    expect(decoded(await getSecret(ns, 'aws-map'))).toEqual({ a: '1' });
    expect((await terminate(op)).code).toBe(0);
  }, 180_000);
});
