// The shared provider conformance suite: the same cases, run against every
// provider's real server through a tiny adapter that can write remote
// secrets. One suite, many providers.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../../src/providers/errors.js';
import type { RemoteRef } from '../../src/api/types.js';
import type { ProviderClient } from '../../src/providers/provider.js';

export interface ConformanceAdapter {
  name: string;
  /** Writes a remote secret (a new version if it exists); returns its version id if the provider has one. */
  put(key: string, value: string): Promise<string | undefined>;
  /** A client for a store pointing at the server (after the puts so far). */
  client(): Promise<ProviderClient>;
  supportsVersions: boolean;
  supportsFind: boolean;
  /** How a plain (non-JSON) value written by put() is referenced (e.g. Vault keeps it under a property). */
  plainRef?(key: string): RemoteRef;
  /** Every remote secret is a map (Vault), so extracting a plain value is not an error. */
  valuesAreMaps?: boolean;
}

const text = (v: Uint8Array) => Buffer.from(v).toString('utf8');

export function providerConformance(adapter: ConformanceAdapter): void {
  const unique = (name: string) => `conf-${randomBytes(3).toString('hex')}-${name}`;
  const plain = (key: string): RemoteRef => adapter.plainRef?.(key) ?? { key };

  describe(`provider conformance: ${adapter.name}`, () => {
    it('reads a plain value exactly, and reports its key', async () => {
      const key = unique('plain');
      await adapter.put(key, 'plain value with spaces & ünïcode');
      const client = await adapter.client();
      const got = await client.getSecret(plain(key));
      expect(text(got.value)).toBe('plain value with spaces & ünïcode');
      expect(got.source.key).toBe(key);
    });

    it('picks a property out of a JSON value, nested paths included', async () => {
      const key = unique('json');
      await adapter.put(key, JSON.stringify({ user: 'u', db: { port: 5432, host: 'h' } }));
      const client = await adapter.client();
      expect(text((await client.getSecret({ key, property: 'user' })).value)).toBe('u');
      expect(text((await client.getSecret({ key, property: 'db.host' })).value)).toBe('h');
      expect(text((await client.getSecret({ key, property: 'db.port' })).value)).toBe('5432');
      expect(JSON.parse(text((await client.getSecret({ key, property: 'db' })).value))).toEqual({ port: 5432, host: 'h' });
    });

    it('extracts a JSON object into keys', async () => {
      const key = unique('map');
      await adapter.put(key, JSON.stringify({ a: '1', b: { c: 2 } }));
      const client = await adapter.client();
      const map = await client.getSecretMap({ key });
      expect(Object.fromEntries(Object.entries(map.values).map(([k, v]) => [k, text(v)]))).toEqual({ a: '1', b: '{"c":2}' });
      expect(map.sources.map((s) => s.key)).toEqual([key]);
    });

    it('a missing key, property or non-JSON value is a typed NotFoundError that carries no value', async () => {
      const key = unique('notjson');
      await adapter.put(key, 'not-json-secret-value');
      const client = await adapter.client();
      await expect(client.getSecret(plain(unique('missing')))).rejects.toBeInstanceOf(NotFoundError);
      const err = await client.getSecret({ key, property: 'x' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as Error).message).not.toContain('not-json-secret-value');
      if (!adapter.valuesAreMaps) await expect(client.getSecretMap({ key })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('a new value is read after it is written', async () => {
      const key = unique('rotate');
      await adapter.put(key, 'one');
      const client = await adapter.client();
      expect(text((await client.getSecret(plain(key))).value)).toBe('one');
      await adapter.put(key, 'two');
      expect(text((await client.getSecret(plain(key))).value)).toBe('two');
    });

    it.runIf(adapter.supportsVersions)('reads an older version by id, and reports versions', async () => {
      const key = unique('versions');
      const v1 = await adapter.put(key, 'first');
      const v2 = await adapter.put(key, 'second');
      const client = await adapter.client();
      const current = await client.getSecret(plain(key));
      expect(text(current.value)).toBe('second');
      expect(current.source.version).toBe(v2);
      expect(text((await client.getSecret({ ...plain(key), version: v1 })).value)).toBe('first');
      await expect(client.getSecret({ ...plain(key), version: 'no-such-version' })).rejects.toBeInstanceOf(NotFoundError);
    });

    it.runIf(adapter.supportsFind)('finds secrets by name pattern', async () => {
      const prefix = unique('find');
      await adapter.put(`${prefix}-feature-a`, JSON.stringify({ x: 'A' }));
      await adapter.put(`${prefix}-feature-b`, JSON.stringify({ x: 'B' }));
      await adapter.put(`${prefix}-other`, JSON.stringify({ x: 'O' }));
      const client = await adapter.client();
      const found = await client.findSecrets!({ name: { regexp: `^${prefix}-feature-` } });
      const names = Object.keys(found.values).sort();
      expect(names.map((n) => n.slice(n.indexOf(prefix)))).toEqual([`${prefix}-feature-a`, `${prefix}-feature-b`]);
      expect(Object.values(found.values).map((v) => JSON.parse(text(v)) as unknown)).toEqual(expect.arrayContaining([{ x: 'A' }, { x: 'B' }]));
      expect(found.sources).toHaveLength(2);
    });

    it('reads several values in one go where the provider batches', async () => {
      const a = unique('batch-a');
      const b = unique('batch-b');
      await adapter.put(a, 'A');
      await adapter.put(b, 'B');
      const client = await adapter.client();
      const refs = [plain(a), plain(b), plain(unique('batch-missing'))];
      const results = client.getSecrets
        ? await client.getSecrets(refs)
        : await Promise.all(refs.map((r) => client.getSecret(r).catch((e: Error) => e)));
      expect(text((results[0] as { value: Uint8Array }).value)).toBe('A');
      expect(text((results[1] as { value: Uint8Array }).value)).toBe('B');
      expect(results[2]).toBeInstanceOf(NotFoundError);
    });

    it('validates its store', async () => {
      await expect((await adapter.client()).validate()).resolves.toBeUndefined();
    });
  });
}
