// The shared provider conformance suite: the same cases, run against every
// provider's real server through a small adapter that can write remote
// secrets and count the requests the server received. One suite, many
// providers. What a provider cannot do it must say in `supports`, with the
// reason, so nothing is skipped silently.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RemoteRef } from '../../src/api/types.js';
import { ConflictError, NotFoundError, PermissionDeniedError, ThrottledError } from '../../src/providers/errors.js';
import type { ProviderClient, RemoteValue } from '../../src/providers/provider.js';
import { callContext } from '../support/call-context.js';

export interface PutOptions {
  tags?: Record<string, string>;
  /** The value's own expiry date, where the provider stores one. */
  expiresAt?: Date;
  /** Turn on scheduled rotation, where the provider has it. */
  rotation?: boolean;
}

/** true, or why not: a provider states every capability. */
type Support = true | { no: string };

export interface ConformanceAdapter {
  name: string;
  /** Writes a remote secret (a new version if it exists); returns its version id if the provider has one. */
  put(key: string, value: string, opts?: PutOptions): Promise<string | undefined>;
  /** A client for a store pointing at the server (after the puts so far). */
  client(): Promise<ProviderClient>;
  /** A client whose credentials may write (the writes section); client() when omitted. */
  writerClient?(): Promise<ProviderClient>;
  /** A client whose credentials may read nothing (for PermissionDenied). */
  deniedClient?(): Promise<ProviderClient>;
  /** Requests the server has received so far, counted at the server. */
  serverRequests(): Promise<number>;
  /** Makes the server refuse requests as throttled for a while; returns a cleanup. */
  throttle?(): Promise<() => Promise<void>>;
  /** Requests the server may receive for one batch read of n plain values. */
  batchCost(n: number): number;
  supports: {
    versions: Support;
    /** currentVersion(): the latest version's id in a request that leaves the value out. */
    versionChecks: Support;
    findByName: Support;
    findByPath: Support;
    findByTags: Support;
    /** getSecretMetadata(): the tags put() wrote (remoteRef.metadataPolicy Fetch). */
    metadata: Support;
    expiryDates: Support;
    rotationDates: Support;
    permissions: Support;
    throttling: Support;
    /** client.writer: write, conditional write, delete and ownership (PushSecret). */
    writes: Support;
  };
  /** How a plain (non-JSON) value written by put() is referenced (e.g. Vault keeps it under a property). */
  plainRef?(key: string): RemoteRef;
  /** Every remote secret is a map (Vault), so extracting a plain value is not an error. */
  valuesAreMaps?: boolean;
  /** The metadata object a secret with these tags has, when it is not the tags themselves. */
  metadataOf?(tags: Record<string, string>): Record<string, unknown>;
}

const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');
const can = (s: Support) => s === true;

export function providerConformance(adapter: ConformanceAdapter): void {
  const unique = (name: string) => `conf-${randomBytes(3).toString('hex')}-${name}`;
  const plain = (key: string): RemoteRef => adapter.plainRef?.(key) ?? { key };
  const ctx = () => callContext();
  const { supports } = adapter;

  describe(`provider conformance: ${adapter.name}`, () => {
    it('states why it lacks any capability it lacks', () => {
      for (const [what, s] of Object.entries(supports)) if (s !== true) expect(s.no.length, what).toBeGreaterThan(15);
      if (can(supports.permissions)) expect('deniedClient' in adapter).toBe(true);
      if (can(supports.throttling)) expect('throttle' in adapter).toBe(true);
    });

    it('reads a plain value exactly, and reports its key', async () => {
      const key = unique('plain');
      await adapter.put(key, 'plain value with spaces & ünïcode');
      const client = await adapter.client();
      const got = await client.getSecret(plain(key), ctx());
      expect(text(got.value)).toBe('plain value with spaces & ünïcode');
      expect(got.source.key).toBe(key);
    });

    it('picks a property out of a JSON value, nested paths included', async () => {
      const key = unique('json');
      await adapter.put(key, JSON.stringify({ user: 'u', db: { port: 5432, host: 'h' } }));
      const client = await adapter.client();
      expect(text((await client.getSecret({ key, property: 'user' }, ctx())).value)).toBe('u');
      expect(text((await client.getSecret({ key, property: 'db.host' }, ctx())).value)).toBe('h');
      expect(text((await client.getSecret({ key, property: 'db.port' }, ctx())).value)).toBe('5432');
      expect(JSON.parse(text((await client.getSecret({ key, property: 'db' }, ctx())).value))).toEqual({ port: 5432, host: 'h' });
    });

    it('extracts a JSON object into keys, whole or at a property', async () => {
      const key = unique('map');
      await adapter.put(key, JSON.stringify({ a: '1', b: { c: 2, d: 'x' } }));
      const client = await adapter.client();
      const map = await client.getSecretMap({ key }, ctx());
      expect(Object.fromEntries(Object.entries(map.values).map(([k, v]) => [k, text(v)]))).toEqual({ a: '1', b: '{"c":2,"d":"x"}' });
      expect(map.sources.map((s) => s.key)).toEqual([key]);
      const inner = await client.getSecretMap({ key, property: 'b' }, ctx());
      expect(Object.fromEntries(Object.entries(inner.values).map(([k, v]) => [k, text(v)]))).toEqual({ c: '2', d: 'x' });
      await expect(client.getSecretMap({ key, property: 'a' }, ctx())).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a missing key, property or non-JSON value is a typed NotFoundError that carries no value', async () => {
      const key = unique('notjson');
      await adapter.put(key, 'not-json-secret-value');
      const client = await adapter.client();
      await expect(client.getSecret(plain(unique('missing')), ctx())).rejects.toBeInstanceOf(NotFoundError);
      const err = await client.getSecret({ key, property: 'x' }, ctx()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).not.toContain('not-json-secret-value');
      if (!adapter.valuesAreMaps) await expect(client.getSecretMap({ key }, ctx())).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a new value is read after it is written', async () => {
      const key = unique('rotate');
      await adapter.put(key, 'one');
      const client = await adapter.client();
      expect(text((await client.getSecret(plain(key), ctx())).value)).toBe('one');
      await adapter.put(key, 'two');
      expect(text((await client.getSecret(plain(key), ctx())).value)).toBe('two');
    });

    it.runIf(can(supports.versions))('reads an older version by id, reports versions, and asks the server for a missing one', async () => {
      const key = unique('versions');
      const v1 = await adapter.put(key, 'first');
      const v2 = await adapter.put(key, 'second');
      const client = await adapter.client();
      const current = await client.getSecret(plain(key), ctx());
      expect(text(current.value)).toBe('second');
      expect(current.source.version).toBe(v2);
      expect(text((await client.getSecret({ ...plain(key), version: v1 }, ctx())).value)).toBe('first');
      // A well-formed version the server does not have: the server must be asked, and say no.
      const before = await adapter.serverRequests();
      const missingVersion = /^\d+$/.test(v2 ?? '') ? '999' : '00000000-0000-4000-8000-000000000000';
      const err = await client.getSecret({ ...plain(key), version: missingVersion }, ctx()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).toContain(`version "${missingVersion}"`);
      expect(await adapter.serverRequests()).toBeGreaterThan(before);
    });

    it.runIf(can(supports.versionChecks))('tells the current version in one request that leaves the value out', async () => {
      const key = unique('check');
      const v1 = await adapter.put(key, 'first');
      const client = await adapter.client();
      const before = await adapter.serverRequests();
      expect(await client.currentVersion!(key, ctx())).toBe(v1);
      expect(await adapter.serverRequests()).toBe(before + 1);
      const v2 = await adapter.put(key, 'second');
      expect(await client.currentVersion!(key, ctx())).toBe(v2);
      expect((await client.getSecret(plain(key), ctx())).source.version).toBe(v2);
      await expect(client.currentVersion!(unique('missing'), ctx())).rejects.toBeInstanceOf(NotFoundError);
    });

    it.runIf(can(supports.findByName))('finds secrets by name pattern', async () => {
      const prefix = unique('find');
      await adapter.put(`${prefix}-feature-a`, JSON.stringify({ x: 'A' }));
      await adapter.put(`${prefix}-feature-b`, JSON.stringify({ x: 'B' }));
      await adapter.put(`${prefix}-other`, JSON.stringify({ x: 'O' }));
      const client = await adapter.client();
      const found = await client.findSecrets!({ name: { regexp: `^${prefix}-feature-` } }, ctx());
      const names = Object.keys(found.values).sort();
      expect(names.map((n) => n.slice(n.indexOf(prefix)))).toEqual([`${prefix}-feature-a`, `${prefix}-feature-b`]);
      expect(Object.values(found.values).map((v) => JSON.parse(text(v)) as unknown)).toEqual(expect.arrayContaining([{ x: 'A' }, { x: 'B' }]));
      expect(found.sources).toHaveLength(2);
    });

    it.runIf(can(supports.findByPath))('finds secrets by path', async () => {
      const dir = unique('dir');
      await adapter.put(`${dir}/one`, JSON.stringify({ n: 1 }));
      await adapter.put(`${dir}/two`, JSON.stringify({ n: 2 }));
      await adapter.put(`${dir}-sibling`, JSON.stringify({ n: 3 }));
      const client = await adapter.client();
      const found = await client.findSecrets!({ path: dir }, ctx());
      expect(Object.keys(found.values).map((n) => n.slice(n.indexOf(dir))).sort()).toEqual([`${dir}/one`, `${dir}/two`]);
    });

    it.runIf(can(supports.findByTags))('finds secrets by tags, every pair matching', async () => {
      const prefix = unique('tags');
      const env = `env-${prefix}`;
      await adapter.put(`${prefix}-prod-a`, '{"t":"a"}', { tags: { env, tier: 'gold' } });
      await adapter.put(`${prefix}-prod-b`, '{"t":"b"}', { tags: { env, tier: 'silver' } });
      await adapter.put(`${prefix}-dev`, '{"t":"c"}', { tags: { env: `${env}-dev`, tier: 'gold' } });
      const client = await adapter.client();
      const found = await client.findSecrets!({ tags: { env, tier: 'gold' } }, ctx());
      expect(Object.keys(found.values).map((n) => n.slice(n.indexOf(prefix)))).toEqual([`${prefix}-prod-a`]);
    });

    it.runIf(can(supports.metadata))('reads a secret\'s tags (metadataPolicy Fetch) without its value; a missing one is RemoteNotFound', async () => {
      const key = unique('meta');
      const tags = { owner: 'team-a', tier: 'gold' };
      await adapter.put(key, 'value-never-in-metadata', { tags });
      const client = await adapter.client();
      const got = await client.getSecretMetadata!(key, ctx());
      expect(got.metadata).toEqual(adapter.metadataOf?.(tags) ?? tags);
      expect(got.source.key).toBe(key);
      expect(JSON.stringify(got)).not.toContain('value-never-in-metadata');
      await expect(client.getSecretMetadata!(unique('missing'), ctx())).rejects.toBeInstanceOf(NotFoundError);
    });

    it.runIf(can(supports.expiryDates))('reports a value\'s own expiry date', async () => {
      const key = unique('expiring');
      const expiresAt = new Date(Math.floor(Date.now() / 1000) * 1000 + 3_600_000);
      await adapter.put(key, 'soon stale', { expiresAt });
      const got = await (await adapter.client()).getSecret(plain(key), ctx());
      expect(got.source.expiresAt?.getTime()).toBe(expiresAt.getTime());
      expect(got.source.leaseEndsAt).toBeUndefined();
    });

    it.runIf(can(supports.rotationDates))('reports the next scheduled rotation', async () => {
      const key = unique('rotating');
      await adapter.put(key, 'rotates', { rotation: true });
      const got = await (await adapter.client()).getSecret(plain(key), ctx());
      expect(got.source.rotatesAt).toBeInstanceOf(Date);
      expect(got.source.rotatesAt!.getTime()).toBeGreaterThan(Date.now());
    });

    it.runIf(can(supports.permissions))('credentials that may not read get a typed PermissionDeniedError', async () => {
      const key = unique('denied');
      await adapter.put(key, 'not for you');
      const err = await (await adapter.deniedClient!()).getSecret(plain(key), ctx()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PermissionDeniedError);
      expect((err as Error).message).not.toContain('not for you');
    });

    it.runIf(can(supports.throttling))('a server that throttles gets a typed ThrottledError', async () => {
      const key = unique('throttled');
      await adapter.put(key, 'slow down');
      const client = await adapter.client();
      const cleanup = await adapter.throttle!();
      try {
        const results = await Promise.all(Array.from({ length: 5 }, () => client.getSecret(plain(key), ctx()).catch((e: unknown) => e)));
        expect(results.some((r) => r instanceof ThrottledError)).toBe(true);
      } finally {
        await cleanup();
      }
    });

    it('reads several values in one go, at the cost the provider promises (counted at the server)', async () => {
      const keys = Array.from({ length: 6 }, (_, i) => unique(`batch-${i}`));
      for (const [i, k] of keys.entries()) await adapter.put(k, `V${i}`);
      const client = await adapter.client();
      const refs = [...keys.map(plain), plain(unique('batch-missing'))];
      await client.validate(ctx());
      const before = await adapter.serverRequests();
      const counted = ctx();
      const results: Array<RemoteValue | Error> = client.getSecrets
        ? await client.getSecrets(refs, counted)
        : await Promise.all(refs.map((r) => client.getSecret(r, counted).catch((e: Error) => e)));
      const received = (await adapter.serverRequests()) - before;
      keys.forEach((_, i) => expect(text((results[i] as RemoteValue).value)).toBe(`V${i}`));
      expect(results[keys.length]).toBeInstanceOf(NotFoundError);
      expect(received).toBeGreaterThan(0);
      expect(received).toBeLessThanOrEqual(adapter.batchCost(refs.length));
      // The provider reports exactly the requests it made, so budgets and metrics are true.
      expect(counted.requests).toBe(received);
    });

    describe.runIf(can(supports.writes))('writes (PushSecret)', () => {
      const owner = 'conformance/push';
      const json = (v: string) => new TextEncoder().encode(JSON.stringify({ v }));
      const writerClient = () => adapter.writerClient?.() ?? adapter.client();
      const readV = async (client: ProviderClient, key: string) => text((await client.getSecret({ key, property: 'v' }, ctx())).value);

      it('creates a remote secret that records its owner, and reads back exactly', async () => {
        const key = unique('push');
        const client = await writerClient();
        const writer = client.writer!;
        expect(await writer.inspect(key, ctx())).toEqual({ exists: false });
        await writer.write(key, json('first ünïcode'), { owner, create: true }, ctx());
        expect(await readV(client, key)).toBe('first ünïcode');
        const state = await writer.inspect(key, ctx());
        expect(state.exists).toBe(true);
        if (writer.ownership === 'remote') expect(state.owner).toBe(owner);
      });

      it('replaces its own secret with a new version; a conditional write on a stale version is a ConflictError', async () => {
        const key = unique('replace');
        const client = await writerClient();
        const writer = client.writer!;
        await writer.write(key, json('one'), { owner, create: true }, ctx());
        const before = await writer.inspect(key, ctx());
        const written = await writer.write(key, json('two'), { owner, create: false, ifVersion: writer.conditional ? before.version : undefined }, ctx());
        expect(await readV(client, key)).toBe('two');
        const after = await writer.inspect(key, ctx());
        if (before.version !== undefined) {
          expect(after.version).not.toBe(before.version);
          expect(written.version).toBe(after.version);
        }
        if (writer.conditional) {
          await expect(writer.write(key, json('three'), { owner, create: false, ifVersion: before.version }, ctx())).rejects.toBeInstanceOf(ConflictError);
          expect(await readV(client, key)).toBe('two');
        }
      });

      it('a create that finds the secret already there is a ConflictError and changes nothing (where the provider can create exclusively)', async () => {
        const key = unique('race');
        await adapter.put(key, JSON.stringify({ v: 'theirs' }));
        const client = await writerClient();
        // A provider without a create-only write says so (RemoteWriter.exclusiveCreate): Key Vault.
        if (!client.writer!.exclusiveCreate) return;
        await expect(client.writer!.write(key, json('ours'), { owner, create: true }, ctx())).rejects.toBeInstanceOf(ConflictError);
        expect(await readV(client, key)).toBe('theirs');
      });

      it('a secret written by hand has no owner recorded', async () => {
        const key = unique('foreign');
        await adapter.put(key, JSON.stringify({ v: 'by hand' }));
        const client = await writerClient();
        const state = await client.writer!.inspect(key, ctx());
        expect(state.exists).toBe(true);
        expect(state.owner).toBeUndefined();
      });

      it('a secret External Secrets Operator pushed shows its marker, and a write that adopts it records our owner', async () => {
        const key = unique('eso');
        await adapter.put(key, JSON.stringify({ v: 'from eso' }), { tags: { 'managed-by': 'external-secrets' } });
        const client = await writerClient();
        const writer = client.writer!;
        const before = await writer.inspect(key, ctx());
        if (writer.ownership !== 'remote') return void expect(before.managedBy).toBeUndefined();
        expect(before).toMatchObject({ exists: true, managedBy: 'external-secrets' });
        expect(before.owner).toBeUndefined();
        await writer.write(key, json('adopted'), { owner, create: false, adopt: true, ifVersion: writer.conditional ? before.version : undefined }, ctx());
        expect(await readV(client, key)).toBe('adopted');
        expect(await writer.inspect(key, ctx())).toMatchObject({ owner, managedBy: 'secretsync' });
      });

      it('deletes a secret (a second delete is no error), and a new push brings it back', async () => {
        const key = unique('delete');
        const client = await writerClient();
        const writer = client.writer!;
        await writer.write(key, json('doomed'), { owner, create: true }, ctx());
        await writer.remove(key, ctx());
        await expect(client.getSecret({ key, property: 'v' }, ctx())).rejects.toBeInstanceOf(NotFoundError);
        await writer.remove(key, ctx());
        const state = await writer.inspect(key, ctx());
        // Soft-deleting providers (AWS, Key Vault) keep the name, and its owner, until it is purged.
        await writer.write(key, json('back'), { owner, create: !state.exists }, ctx());
        expect(await readV(client, key)).toBe('back');
      });
    });

    it('validates its store', async () => {
      await expect((await adapter.client()).validate(ctx())).resolves.toBeUndefined();
    });
  });
}
