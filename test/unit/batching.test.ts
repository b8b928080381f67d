// Plain reads of different ExternalSecrets that fall due together go out as
// one batch call, and AWS falls back to one read a request when the store's
// policy does not allow BatchGetSecretValue.
import { BatchGetSecretValueCommand, DescribeSecretCommand, GetSecretValueCommand, ListSecretsCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/runtime/metrics.js';
import { AwsClient } from '../../src/providers/aws/client.js';
import { NotFoundError, ThrottledError } from '../../src/providers/errors.js';
import type { CallContext, ProviderClient, RemoteValue } from '../../src/providers/provider.js';
import { StoreClient } from '../../src/providers/store-client.js';
import type { RemoteRef } from '../../src/api/types.js';
import { callContext } from '../support/call-context.js';

const opts = (consumer: string) => ({ signal: new AbortController().signal, log: pino({ level: 'silent' }), consumer, maxAgeMs: 30_000 });

/** A provider that answers batch calls (20 secrets a request) and records the keys of each and when it was sent. */
function batchingProvider(answer: (key: string) => RemoteValue | Error = (key) => ({ value: Buffer.from(key), source: { key } })) {
  const batches: string[][] = [];
  const sentAt: number[] = [];
  const provider: ProviderClient = {
    getSecret: () => Promise.reject(new Error('single reads are not expected')),
    getSecretMap: () => Promise.reject(new Error('unused')),
    batchSize: 20,
    getSecrets: async (refs: RemoteRef[], ctx: CallContext) => {
      await ctx.request();
      batches.push(refs.map((r) => r.key));
      sentAt.push(Date.now());
      return refs.map((r) => answer(r.key));
    },
    validate: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return { batches, sentAt, provider };
}

describe('batched reads across ExternalSecrets', () => {
  it('reads arriving together share one batch call; each reader gets its own answer, a missing one its own error', async () => {
    const { batches, provider } = batchingProvider((key) => (key === 'gone' ? new NotFoundError(key) : { value: Buffer.from(`v-${key}`), source: { key } }));
    const store = new StoreClient('aws', 'SecretStore/ns/s', provider, new Metrics(), undefined, 5_000);
    // 30 ExternalSecrets reading 10 distinct keys, plus one missing key, all due at once.
    const reads = Array.from({ length: 30 }, (_, i) => store.getSecret({ key: `k${i % 10}` }, opts(`ns/es-${i}`)));
    const missing = store.getSecret({ key: 'gone' }, opts('ns/other'));
    const values = await Promise.all(reads);
    await expect(missing).rejects.toBeInstanceOf(NotFoundError);
    expect(values.map((v) => Buffer.from(v.value).toString())).toEqual(Array.from({ length: 30 }, (_, i) => `v-k${i % 10}`));
    expect(batches).toEqual([['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7', 'k8', 'k9', 'gone']]);
    // A read within maxAge afterwards is shared, not fetched.
    await store.getSecret({ key: 'k3' }, opts('ns/late'));
    expect(batches).toHaveLength(1);
    // Versioned reads are not batched.
    await expect(store.getSecret({ key: 'k1', version: '2' }, opts('ns/v'))).rejects.toThrow('single reads are not expected');
  });
});

describe('refresh batches and reads someone waits for', () => {
  function recording() {
    const { batches, sentAt, provider } = batchingProvider();
    return { batches, sentAt, store: new StoreClient('aws', 'SecretStore/ns/s', provider, new Metrics(), undefined, 5_000) };
  }
  const refresh = (consumer: string) => ({ ...opts(consumer), batchWindowMs: 300 });

  it('a first sync goes out in its own short batch and leaves the refresh batch to fill', async () => {
    const { batches, sentAt, store } = recording();
    const start = Date.now();
    const refreshes = ['r1', 'r2'].map((key) => store.getSecret({ key }, refresh(`ns/${key}`)));
    await store.getSecret({ key: 'new' }, opts('ns/new'));
    expect(Date.now() - start).toBeLessThan(200);
    const late = store.getSecret({ key: 'r3' }, refresh('ns/r3'));
    await Promise.all([...refreshes, late]);
    expect(batches).toEqual([['new'], ['r1', 'r2', 'r3']]);
    expect(sentAt[1]! - start).toBeGreaterThanOrEqual(250);
  });

  it('a first sync of a key already waiting in a refresh batch sends that batch at once', async () => {
    const { batches, store } = recording();
    const start = Date.now();
    const refreshing = store.getSecret({ key: 'k' }, refresh('ns/old'));
    await store.getSecret({ key: 'k' }, opts('ns/new'));
    expect(Date.now() - start).toBeLessThan(200);
    await refreshing;
    expect(batches).toEqual([['k']]);
  });
});

describe('throttling inside a batch', () => {
  it('fails the whole call, so every reader sees ProviderThrottled and the store holds its calls', async () => {
    // One secret of the batch is throttled.
    const { provider } = batchingProvider((key) => (key === 'a' ? new ThrottledError('slow down', 60_000) : { value: Buffer.from('v'), source: { key } }));
    const metrics = new Metrics();
    const store = new StoreClient('aws', 'SecretStore/ns/s', provider, metrics, undefined, 5_000);
    const reads = ['a', 'b'].map((key) => store.getSecret({ key }, opts(`ns/${key}`)));
    for (const read of reads) await expect(read).rejects.toBeInstanceOf(ThrottledError);
    expect(await metrics.total(metrics.providerCalls, { provider: 'aws', status: 'throttled' })).toBe(1);
  });
});

describe('AWS without BatchGetSecretValue permission', () => {
  it('falls back to GetSecretValue, once told, and keeps doing so', async () => {
    const sent: string[] = [];
    const sm = {
      send: (command: object) => {
        sent.push(command.constructor.name);
        if (command instanceof BatchGetSecretValueCommand) return Promise.reject(Object.assign(new Error('not authorized to perform: secretsmanager:BatchGetSecretValue'), { name: 'AccessDeniedException' }));
        if (command instanceof GetSecretValueCommand) return Promise.resolve({ Name: command.input.SecretId, SecretString: `v-${command.input.SecretId}`, VersionId: '1' });
        if (command instanceof DescribeSecretCommand) return Promise.resolve({});
        return Promise.reject(new Error(`unexpected ${command.constructor.name}`));
      },
    } as unknown as SecretsManagerClient;
    const client = new AwsClient(sm, {} as STSClient);
    const first = await client.getSecrets([{ key: 'a' }, { key: 'b' }, { key: 'c' }], callContext());
    expect(first.map((r) => (r instanceof Error ? r.message : Buffer.from(r.value).toString()))).toEqual(['v-a', 'v-b', 'v-c']);
    expect(sent.filter((n) => n === 'BatchGetSecretValueCommand')).toHaveLength(1);
    sent.length = 0;
    await client.getSecrets([{ key: 'd' }, { key: 'e' }], callContext());
    expect(sent.filter((n) => n.startsWith('Get') || n.startsWith('Batch'))).toEqual(['GetSecretValueCommand', 'GetSecretValueCommand']);
  });
});

describe('AWS rotation dates of a batch', () => {
  function sdk(opts: { listDenied?: boolean } = {}) {
    const sent: Array<{ command: string; names?: string[] }> = [];
    const current = { version: '1' };
    const rotatesAt = new Date(Date.now() + 86_400_000);
    const sm = {
      send: (command: object) => {
        if (command instanceof BatchGetSecretValueCommand) {
          sent.push({ command: 'BatchGet' });
          return Promise.resolve({ SecretValues: command.input.SecretIdList!.map((id) => ({ Name: id, SecretString: `v-${id}`, VersionId: current.version })) });
        }
        if (command instanceof ListSecretsCommand) {
          const names = command.input.Filters![0]!.Values!;
          sent.push({ command: 'List', names });
          if (opts.listDenied) return Promise.reject(Object.assign(new Error('not authorized to perform: secretsmanager:ListSecrets'), { name: 'AccessDeniedException' }));
          // The name filter matches prefixes: "s1" also lists "s10"; "s7" is left out (as if listed on a later page).
          const listed = names.filter((n) => n !== 's7').flatMap((n) => [n, `${n}0`]);
          return Promise.resolve({ SecretList: listed.map((n) => ({ Name: n, RotationEnabled: n === 's3', NextRotationDate: rotatesAt })) });
        }
        if (command instanceof DescribeSecretCommand) {
          sent.push({ command: 'Describe', names: [command.input.SecretId!] });
          return Promise.resolve({});
        }
        return Promise.reject(new Error(`unexpected ${command.constructor.name}`));
      },
    } as unknown as SecretsManagerClient;
    return { sent, rotatesAt, current, client: new AwsClient(sm, {} as STSClient) };
  }
  const keys = Array.from({ length: 20 }, (_, i) => ({ key: `s${i}` }));

  it('come from ListSecrets, 10 names a request, and DescribeSecret only for a name it does not list; then from the cache', async () => {
    const { sent, rotatesAt, client } = sdk();
    const results = await client.getSecrets(keys, callContext());
    const rotation = results.map((r) => (r instanceof Error ? r : r.source.rotatesAt));
    expect(rotation[3]).toEqual(rotatesAt);
    expect(rotation.filter((r) => r !== undefined)).toHaveLength(1);
    expect(sent.map((s) => s.command)).toEqual(['BatchGet', 'List', 'List', 'Describe']);
    expect(sent[1]!.names).toHaveLength(10);
    expect(sent[3]!.names).toEqual(['s7']);
    sent.length = 0;
    await client.getSecrets(keys, callContext());
    expect(sent.map((s) => s.command)).toEqual(['BatchGet']);
  });

  it('are looked up again when a read returns another version (a rotation happened)', async () => {
    const { sent, current, client } = sdk();
    await client.getSecrets(keys, callContext());
    current.version = '2';
    sent.length = 0;
    await client.getSecrets(keys, callContext());
    expect(sent.map((s) => s.command)).toEqual(['BatchGet', 'List', 'List', 'Describe']);
  });

  it('recorded in status, serve a restarted operator while reads return the recorded version and the record is under a day old', async () => {
    const { sent, client } = sdk();
    const recorded = new Date(Date.now() + 3_600_000);
    const record = (version: string, at = Date.now()) => keys.map(({ key }) => ({ key, version, rotatesAt: key === 's3' ? recorded : undefined, at }));
    client.recall(record('1'));
    const results = await client.getSecrets(keys, callContext());
    expect(sent.map((s) => s.command)).toEqual(['BatchGet']);
    expect(results.map((r) => (r instanceof Error ? r : r.source.rotatesAt)).filter((r) => r !== undefined)).toEqual([recorded]);

    // What the client already holds is not replaced by a later record.
    client.recall(record('1', Date.now() - 25 * 3_600_000));
    sent.length = 0;
    await client.getSecrets(keys, callContext());
    expect(sent.map((s) => s.command)).toEqual(['BatchGet']);

    // Another version than recorded, or a record a day old: looked up again.
    const moved = sdk();
    moved.client.recall(record('0'));
    await moved.client.getSecrets(keys, callContext());
    expect(moved.sent.map((s) => s.command)).toEqual(['BatchGet', 'List', 'List', 'Describe']);
    const old = sdk();
    old.client.recall(record('1', Date.now() - 25 * 3_600_000));
    await old.client.getSecrets(keys, callContext());
    expect(old.sent.map((s) => s.command)).toEqual(['BatchGet', 'List', 'List', 'Describe']);
  });

  it('a policy without ListSecrets: DescribeSecret for each, once told', async () => {
    const { sent, client } = sdk({ listDenied: true });
    await client.getSecrets(keys.slice(0, 5), callContext());
    expect(sent.map((s) => s.command)).toEqual(['BatchGet', 'List', 'Describe', 'Describe', 'Describe', 'Describe', 'Describe']);
    sent.length = 0;
    await client.getSecrets(keys.slice(5, 10), callContext());
    expect(sent.filter((s) => s.command === 'List')).toHaveLength(0);
  });
});

describe('reads made since a refresh fell due', () => {
  it('serve that refresh however old they are; older ones only within maxAge; per-reader ones never', async () => {
    let calls = 0;
    const provider: ProviderClient = {
      getSecret: async (ref: RemoteRef, ctx: CallContext) => {
        await ctx.request();
        calls++;
        return { value: Buffer.from(`v${calls}`), source: { key: ref.key } };
      },
      getSecretMap: () => Promise.reject(new Error('unused')),
      isShareable: (ref: RemoteRef) => ref.key !== 'dynamic',
      validate: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const store = new StoreClient('vault', 'SecretStore/ns/s', provider, new Metrics(), undefined, 5_000);
    const noAge = (consumer: string, fetchedSince?: number) => ({ ...opts(consumer), maxAgeMs: 0, fetchedSince });
    const due = Date.now();
    await store.getSecret({ key: 'a' }, noAge('ns/first'));
    await new Promise((r) => setTimeout(r, 20));
    // Called at or after the due time: shared, though older than maxAge (0 here).
    expect(Buffer.from((await store.getSecret({ key: 'a' }, noAge('ns/second', due))).value).toString()).toBe('v1');
    // Due after that call was made: fetched again.
    expect(Buffer.from((await store.getSecret({ key: 'a' }, noAge('ns/third', Date.now()))).value).toString()).toBe('v2');
    await store.getSecret({ key: 'dynamic' }, noAge('ns/one'));
    await store.getSecret({ key: 'dynamic' }, noAge('ns/two', due));
    expect(calls).toBe(4);
  });
});

describe('version checks', () => {
  it('are shared as reads are, and say undefined when the provider cannot tell', async () => {
    const asked: string[] = [];
    const provider: ProviderClient = {
      getSecret: () => Promise.reject(new Error('values are not read')),
      getSecretMap: () => Promise.reject(new Error('unused')),
      currentVersion: async (key: string, ctx: CallContext) => {
        await ctx.request();
        asked.push(key);
        return key === 'unversioned' ? undefined : '7';
      },
      validate: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const store = new StoreClient('vault', 'SecretStore/ns/s', provider, new Metrics(), undefined, 5_000);
    expect(store.knowsVersions).toBe(true);
    const due = Date.now();
    const checks = ['ns/a', 'ns/b', 'ns/c'].map((c) => store.currentVersion('k', { ...opts(c), maxAgeMs: 0, fetchedSince: due }));
    expect(await Promise.all(checks)).toEqual(['7', '7', '7']);
    expect(await store.currentVersion('k', { ...opts('ns/d'), maxAgeMs: 0, fetchedSince: due })).toBe('7');
    expect(await store.currentVersion('unversioned', opts('ns/e'))).toBeUndefined();
    expect(asked).toEqual(['k', 'unversioned']);
    const plain = new StoreClient('fake', 'SecretStore/ns/f', { ...provider, currentVersion: undefined }, new Metrics(), undefined, 5_000);
    expect(plain.knowsVersions).toBe(false);
    expect(await plain.currentVersion('k', opts('ns/a'))).toBeUndefined();
  });
});

describe('prefetch for refreshes due together', () => {
  it('asks for each distinct secret once, in full batches sent at once, and the readers join them', async () => {
    const { batches, provider } = batchingProvider();
    const store = new StoreClient('aws', 'SecretStore/ns/s', provider, new Metrics(), undefined, 5_000);
    const due = Date.now();
    const refresh = { ...opts('ns/es-0'), maxAgeMs: 0, batchWindowMs: 1000, fetchedSince: due };
    const started = Date.now();
    // 100 ExternalSecrets over 37 keys, one of them versioned (never batched).
    store.prefetch([...Array.from({ length: 100 }, (_, i) => ({ key: `k${i % 37}` })), { key: 'k1', version: '3' }], refresh);
    const values = await Promise.all(Array.from({ length: 100 }, (_, i) => store.getSecret({ key: `k${i % 37}` }, { ...refresh, consumer: `ns/es-${i}` })));
    expect(Date.now() - started).toBeLessThan(500);
    expect(batches.map((b) => b.length)).toEqual([20, 17]);
    expect(values.map((v) => Buffer.from(v.value).toString())).toEqual(Array.from({ length: 100 }, (_, i) => `k${i % 37}`));
  });
});
