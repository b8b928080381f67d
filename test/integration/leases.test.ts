// Dynamic Vault leases survive the operator: their ids are recorded on the
// managed Secret, so an operator killed between issuing credentials and
// renewing them is followed by one that renews the same lease (the Secret and
// the database login stay as they are), and an ExternalSecret deleted while
// no operator runs is held by its finalizer until the next one revokes its
// lease. Real OpenBao, real PostgreSQL, the shipped bundle killed with SIGKILL.
import NodeVault from 'node-vault';
import { describe, expect, it } from 'vitest';
import { LEASES_ANNOTATION, LEASES_FINALIZER } from '../../src/api/names.js';
import { Resources } from '../../src/kube/types.js';
import {
  createCredentialSecret, createExternalSecret, createStore, decoded, getES, getSecret, kube, newNamespace, providerEnv, ready, run, spawnOperator, terminate, waitFor, waitForReady,
} from './harness.js';

describe('vault leases across operator restarts', () => {
  it('a restarted operator renews the recorded lease instead of leaking it, and revokes the lease of an ExternalSecret deleted while it was down', async () => {
    const env = providerEnv();
    const root = NodeVault({ endpoint: env.VAULT_ADDR, token: env.VAULT_TOKEN });
    const ns = await newNamespace();
    const role = `lease-${ns}`;
    await root.write(`database/roles/${role}`, {
      db_name: 'pg', default_ttl: '20s', max_ttl: '10m',
      creation_statements: `CREATE ROLE "{{name}}" WITH LOGIN PASSWORD '{{password}}' VALID UNTIL '{{expiration}}';`,
    });
    await root.write('sys/policies/acl/lease-reader', { policy: 'path "database/creds/*" { capabilities = ["read"] }\npath "sys/leases/*" { capabilities = ["update"] }' });
    const token = ((await root.write('auth/token/create', { policies: ['lease-reader'], ttl: '1h' })) as { auth: { client_token: string } }).auth.client_token;
    await createCredentialSecret(ns, 'vault-token', { token });
    await createStore(ns, 'vault', { provider: { vault: { server: env.VAULT_ADDR!, auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } });
    await createExternalSecret(ns, 'db', { secretStoreRef: { name: 'vault' }, refreshInterval: '1h', dataFrom: [{ extract: { key: `/database/creds/${role}` } }] });

    // Leases Vault holds for this role (root may list them), and when one ends.
    const leasesHeld = async () => {
      const listed = (await root.list(`sys/leases/lookup/database/creds/${role}`).catch(() => ({ data: { keys: [] } }))) as { data: { keys?: string[] } };
      return (listed.data.keys ?? []).length;
    };
    const leaseEnds = async (id: string) => Date.parse(((await root.write('sys/leases/lookup', { lease_id: id })) as { data: { expire_time: string } }).data.expire_time);
    const roleExists = async (user: string) => {
      const pgPort = Number(new URL(env.VAULT_ADDR!).port) + 1;
      const out = await run('psql', ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'postgres', '-d', 'postgres', '-tAc', `select count(*) from pg_roles where rolname = '${user}'`]);
      return out.stdout.trim() === '1';
    };

    const args = ['--watch-namespace', ns, '--workers', '2'];
    const first = spawnOperator(args);
    const synced = await waitForReady(ns, 'db', 'True', undefined, 30_000);
    const secret = (await getSecret(ns, 'db'))!;
    const creds = decoded(secret);
    const recorded = JSON.parse(secret.metadata.annotations![LEASES_ANNOTATION]!) as Array<[string, string, number]>;
    expect(recorded).toHaveLength(1);
    const [[key, leaseId, ttl]] = recorded as [[string, string, number]];
    expect(key).toBe(`/database/creds/${role}`);
    expect(leaseId).toMatch(new RegExp(`^database/creds/${role}/`));
    expect(ttl).toBe(20);
    // The annotation holds the lease id, never the credentials.
    expect(secret.metadata.annotations![LEASES_ANNOTATION]).not.toContain(creds.password!);
    expect((await getES(ns, 'db')).metadata.finalizers).toContain(LEASES_FINALIZER);
    const issuedEnd = await leaseEnds(leaseId);
    expect(await roleExists(creds.username!)).toBe(true);

    // Killed after issuing, before the renewal at about 2/3 of the 20 s TTL.
    first.child.kill('SIGKILL');
    await first.exited;
    expect(Date.now()).toBeLessThan(Date.parse(synced.status!.nextRefreshTime!));

    const second = spawnOperator(args);
    const renewed = await waitFor('the recorded lease renewed by the new operator', async () => {
      const es = await getES(ns, 'db');
      return Date.parse(es.status!.sources![0]!.expiresAt!) > Date.parse(synced.status!.sources![0]!.expiresAt!) ? es : undefined;
    }, 40_000, 200);
    expect(ready(renewed)?.status).toBe('True');
    const renewedEnd = await leaseEnds(leaseId);
    expect(renewedEnd).toBeGreaterThan(issuedEnd);
    // Same credentials, same lease, no second lease issued, the Secret not rewritten.
    const after = (await getSecret(ns, 'db'))!;
    expect(decoded(after)).toEqual(creds);
    expect(after.metadata.resourceVersion).toBe(secret.metadata.resourceVersion);
    expect(await leasesHeld()).toBe(1);
    second.child.kill('SIGKILL');
    await second.exited;

    // Deleted while no operator runs: the finalizer holds it (and so its Secret) for the next one.
    await kube().delete(Resources.ExternalSecret, ns, 'db');
    const held = await getES(ns, 'db');
    expect(held.metadata.deletionTimestamp).toBeDefined();
    const third = spawnOperator(args);
    await waitFor('the ExternalSecret released', async () => (await kube().getOrUndefined(Resources.ExternalSecret, ns, 'db')) === undefined, 30_000, 200);
    // Revoked, not left to expire: before the lease's own end, Vault holds no lease for the role
    // and the database login is gone.
    expect(await leasesHeld()).toBe(0);
    expect(Date.now()).toBeLessThan(renewedEnd);
    await waitFor('the database role dropped', async () => !(await roleExists(creds.username!)), 20_000, 200);
    expect((await terminate(third)).code).toBe(0);
  }, 150_000);
});
