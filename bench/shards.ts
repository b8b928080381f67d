// The sharded bench (make bench-shards): N ExternalSecrets spread over many
// namespaces (the fake provider), first synced by one replica holding all of
// them, then handed to R replicas running with --shards, side by side in the
// same run:
// - memory per replica against the one replica holding all;
// - a replica joining the R: the buckets and ExternalSecrets it takes (moved);
// - then a replica (not the leader) killed with SIGKILL: the time until the
//   survivors hold every bucket, and until ExternalSecrets changed in its
//   namespaces right after the kill have their Secrets rewritten (nothing
//   left stale);
// - every replica's --reconcile-journal, checked for a key reconciled by two
//   replicas at once (test/support/reconcile-journal.ts).
// Results go to bench/results/<stamp>-shards-n<N>.json.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import type { ExternalSecret } from '../src/api/types.js';
import { KubeClient } from '../src/kube/client.js';
import { findReady } from '../src/kube/status.js';
import { API_VERSION, Resources, type KubeObject, type Secret } from '../src/kube/types.js';
import { Informer } from '../src/runtime/informer.js';
import { createLogger } from '../src/runtime/log.js';
import { BUCKET_COUNT, bucketOf } from '../src/runtime/sharding/buckets.js';
import { settledAmong } from '../test/support/shard-ring.js';
import { checkJournals } from '../test/support/reconcile-journal.js';
import { pool } from './baselines.js';
import { scrape, startOperator, type OperatorProcess } from './operator-process.js';

const root = join(import.meta.dirname, '..');
const opts = new Command()
  .option('-n, --count <n>', 'ExternalSecrets', (v) => Number(v), 10_000)
  .option('--namespaces <n>', 'namespaces they are spread over (default: one per 100)', (v) => Number(v))
  .option('--replicas <n>', 'replicas sharing the work', (v) => Number(v), 3)
  .option('--memory-limit <MiB>', "each replica's memory limit (cgroup); default the Deployment's", (v) => Number(v))
  .option('--changed <n>', 'ExternalSecrets changed in the killed replica\'s namespaces right after the kill', (v) => Number(v), 50)
  .option('-c, --concurrency <n>', 'workers per replica and client concurrency', (v) => Number(v), 16)
  .option('--sharded-first-sync', 'no replica holding all first: the R replicas run from the start and the ExternalSecrets are created under them (each labelled by its holder as it comes); for sizes where the one-replica sync and the labelling of every object would not fit the time')
  .parse()
  .opts<{ count: number; namespaces?: number; replicas: number; memoryLimit?: number; changed: number; concurrency: number; shardedFirstSync?: boolean }>();

const STATE = process.env.SECRETSYNC_STATE ?? join(root, '.dev');
const kubeconfig = join(STATE, 'kubeconfig');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const kube = new KubeClient(kc);
const stamp = Date.now().toString(36);
const say = (text: string) => process.stdout.write(`${text}\n`);
const namespaces = Array.from({ length: opts.namespaces ?? Math.max(1, Math.ceil(opts.count / 100)) }, (_, i) => `shard-${stamp}-${i}`);
const KEYS = 10;
const OPERATOR_NS = `shard-${stamp}-operator`;
const RING = 'secretsync-bench';
const journals = mkdtempSync(join(tmpdir(), 'secretsync-journals-'));
const memoryLimitBytes = opts.memoryLimit ? opts.memoryLimit * 2 ** 20 : undefined;
const LEASE = { duration: '15s', renew: '10s', retry: '2s' };

const nsOf = (i: number) => namespaces[i % namespaces.length]!;
const valueOf = (ns: string, key: number) => `${ns}-value-${key}`;

async function waitUntil<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs: number, pollMs = 100, progress?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let nextReport = Date.now() + 15_000;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}${progress ? ` (${progress()})` : ''}`);
    if (progress && Date.now() > nextReport) {
      say(`  ... ${what}: ${progress()}`);
      nextReport = Date.now() + 15_000;
    }
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function setup(): Promise<void> {
  say(`[setup] ${namespaces.length} namespaces with a fake store each`);
  await pool([OPERATOR_NS, ...namespaces], 8, (name) => kube.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
  await pool(namespaces, 8, (ns) => kube.create(Resources.SecretStore, {
    apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name: 'bench', namespace: ns },
    spec: { provider: { fake: { data: Array.from({ length: KEYS }, (_, k) => ({ key: `key-${k}`, value: valueOf(ns, k) })) } } },
  } as never));
}

async function createExternalSecrets(): Promise<void> {
  await pool([...Array(opts.count).keys()], opts.concurrency, (i) => kube.create(Resources.ExternalSecret, {
    apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: `es-${i}`, namespace: nsOf(i) },
    spec: { secretStoreRef: { name: 'bench' }, refreshInterval: '1h', target: { name: `s-${i}` }, data: [{ secretKey: 'v', remoteRef: { key: `key-${i % KEYS}` } }] },
  } as never));
}

const settled = (names: string[]) => settledAmong(kube, OPERATOR_NS, RING, names);

interface Replica {
  name: string;
  op: OperatorProcess;
}

async function replica(name: string): Promise<Replica> {
  const op = await startOperator({
    kubeconfig, name: `${stamp}-${name}`, memoryLimitBytes, env: { POD_NAME: name },
    args: [
      '--namespace', OPERATOR_NS, '--workers', String(opts.concurrency), '--leader-elect', '--leader-elect-id', RING, '--shards',
      '--leader-elect-lease-duration', LEASE.duration, '--leader-elect-renew-deadline', LEASE.renew, '--leader-elect-retry-period', LEASE.retry,
      '--reconcile-journal', join(journals, name),
    ],
  });
  return { name, op };
}

async function memoryOf(op: OperatorProcess): Promise<{ peakRssMiB: number; rssMiB: number; heapUsedMiB: number; cachedExternalSecrets: number }> {
  const m = await scrape(op.metricsPort);
  const rss = op.rssNowMiB();
  return {
    peakRssMiB: op.peakRssMiB(),
    rssMiB: Number((rss.anon + rss.file).toFixed(1)),
    heapUsedMiB: Number(((m.get('nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20).toFixed(1)),
    cachedExternalSecrets: m.get('secretsync_externalsecret_ready') ?? 0,
  };
}

const cached = async (r: Replica) => (await scrape(r.op.metricsPort)).get('secretsync_externalsecret_ready') ?? 0;
const sumOf = async (rs: Replica[], metric: string) => (await Promise.all(rs.map(async (r) => (await scrape(r.op.metricsPort)).get(metric) ?? 0))).reduce((a, b) => a + b, 0);

async function main(): Promise<void> {
  const started = Date.now();
  await setup();
  const ready = new Informer<ExternalSecret>(kube, Resources.ExternalSecret, { log: createLogger('warn') });
  await ready.start();
  const readyCount = () => [...ready.values()].filter((es) => es.metadata.namespace?.startsWith(`shard-${stamp}-`) && findReady(es.status)?.status === 'True').length;
  const names = Array.from({ length: opts.replicas }, (_, i) => `replica-${String.fromCharCode(97 + i)}`);
  const replicas: Replica[] = [];
  let held: Map<string, Set<number>>;
  let oneSyncMs: number | undefined;
  let oneMemory: Awaited<ReturnType<typeof memoryOf>> | undefined;
  let shardSettledMs: number;
  let shardedFirstSyncMs: number | undefined;

  if (opts.shardedFirstSync) {
    // 1-2. The R replicas from the start; the ExternalSecrets come under them.
    say(`[shards] ${names.length} replicas with --shards; then ${opts.count} ExternalSecrets created under them`);
    for (const name of names) replicas.push(await replica(name));
    held = await waitUntil('the replicas share the buckets', () => settled(names), 600_000, 200);
    const syncStarted = Date.now();
    await createExternalSecrets();
    await waitUntil('all Ready (sharded)', () => (readyCount() >= opts.count ? true : undefined), 3_600_000, 500, () => `${readyCount()}/${opts.count}`);
    await waitUntil('every ExternalSecret cached by its holder', async () => ((await sumOf(replicas, 'secretsync_externalsecret_ready')) >= opts.count ? true : undefined), 1_800_000, 1000);
    shardedFirstSyncMs = Date.now() - syncStarted;
    shardSettledMs = shardedFirstSyncMs;
  } else {
    await createExternalSecrets();
    // 1. One replica holding all: the first sync, and its memory.
    say(`[one] one replica (no sharding) syncs all ${opts.count}`);
    const oneStarted = Date.now();
    const one = await startOperator({ kubeconfig, name: `${stamp}-one`, memoryLimitBytes, args: ['--namespace', OPERATOR_NS, '--workers', String(opts.concurrency)] });
    await waitUntil('all Ready (one replica)', () => (readyCount() >= opts.count ? true : undefined), 3_600_000, 500, () => `${readyCount()}/${opts.count}`);
    oneSyncMs = Date.now() - oneStarted;
    // Settle: the last status writes come back through its watch.
    await new Promise((r) => setTimeout(r, 5000));
    oneMemory = await memoryOf(one);
    await one.stop();
    say(`  all Ready in ${oneSyncMs} ms; one replica: ${JSON.stringify(oneMemory)}`);

    // 2. R replicas share the same ExternalSecrets (each labelled once by its holder).
    say(`[shards] ${names.length} replicas with --shards take over`);
    const shardStarted = Date.now();
    for (const name of names) replicas.push(await replica(name));
    held = await waitUntil('the replicas share the buckets', () => settled(names), 600_000, 200);
    await waitUntil('every ExternalSecret cached by its holder', async () => ((await sumOf(replicas, 'secretsync_externalsecret_ready')) >= opts.count ? true : undefined), 1_800_000, 1000,
      () => 'labelling and caching');
    shardSettledMs = Date.now() - shardStarted;
  }
  await new Promise((r) => setTimeout(r, 5000));
  const shardMemory = await Promise.all(replicas.map(async (r) => ({ replica: r.name, ...(await memoryOf(r.op)) })));
  const takeoverWrites = {
    secretWrites: await sumOf(replicas, 'secretsync_secret_writes_total'),
    labelled: await sumOf(replicas, 'secretsync_shard_labelled_total'),
  };
  say(`  settled in ${shardSettledMs} ms; ${JSON.stringify(shardMemory)}; ${JSON.stringify(takeoverWrites)}`);

  // 3. A replica joins the R.
  const joiner = await replica(`replica-${String.fromCharCode(97 + names.length)}`);
  const joinedAt = Date.now();
  const members = [...replicas, joiner];
  held = await waitUntil('the joiner holds its share', () => settled(members.map((r) => r.name)), 300_000, 200);
  await waitUntil('the joiner caches its share', async () => ((await sumOf(members, 'secretsync_externalsecret_ready')) >= opts.count ? true : undefined), 600_000, 500);
  const joinMs = Date.now() - joinedAt;
  const movedBuckets = held.get(joiner.name)!.size;
  const movedExternalSecrets = await cached(joiner);
  say(`  ${joiner.name} took ${movedBuckets}/${BUCKET_COUNT} buckets, ${movedExternalSecrets}/${opts.count} ExternalSecrets, settled in ${joinMs} ms`);

  // 4. SIGKILL a replica (not the leader); change ExternalSecrets in its namespaces at once.
  const leader = (await kube.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.Lease, OPERATOR_NS, RING)).spec?.holderIdentity?.replace(/_[0-9a-f]+$/, '');
  const victim = members.find((r) => r.name !== leader) ?? members[0]!;
  const victimBuckets = held.get(victim.name)!.size;
  const victimNamespaces = new Set(namespaces.filter((ns) => held.get(victim.name)!.has(bucketOf(ns))));
  const changed = [...Array(opts.count).keys()].filter((i) => victimNamespaces.has(nsOf(i))).slice(0, opts.changed);
  say(`[kill] SIGKILL ${victim.name} (not the leader ${leader}), holding ${held.get(victim.name)!.size} buckets, ${victimNamespaces.size} namespaces; ${changed.length} of its ExternalSecrets changed right after`);
  await victim.op.stop('SIGKILL');
  const killedAt = Date.now();
  await pool(changed, 8, (i) => kube.mergePatch(Resources.ExternalSecret, nsOf(i), `es-${i}`, { spec: { data: [{ secretKey: 'v', remoteRef: { key: `key-${(i + 1) % KEYS}` } }] } }));
  const survivors = members.filter((r) => r !== victim);
  held = await waitUntil('the survivors hold every bucket', () => settled(survivors.map((r) => r.name)), 120_000, 50);
  const takeoverMs = Date.now() - killedAt;
  const pending = new Set(changed);
  await waitUntil('the changes reach their Secrets', async () => {
    await pool([...pending], 8, async (i) => {
      const s = await kube.getOrUndefined<Secret>(Resources.Secret, nsOf(i), `s-${i}`);
      if (s?.data?.v && Buffer.from(s.data.v, 'base64').toString() === valueOf(nsOf(i), (i + 1) % KEYS)) pending.delete(i);
    });
    return pending.size === 0 ? true : undefined;
  }, 300_000, 200);
  const changesLandedMs = Date.now() - killedAt;
  say(`  survivors hold every bucket ${takeoverMs} ms after the kill; the ${changed.length} changes landed after ${changesLandedMs} ms`);

  for (const r of survivors) await r.op.stop();
  await ready.stop();
  const journal = checkJournals([...names, joiner.name].map((n) => join(journals, n)));
  const result = {
    count: opts.count,
    namespaces: namespaces.length,
    replicas: opts.replicas,
    memoryLimitMiB: opts.memoryLimit,
    lease: LEASE,
    minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
    oneReplica: oneMemory ? { firstSyncMs: oneSyncMs, ...oneMemory } : undefined,
    sharded: { settledMs: shardSettledMs, firstSyncMs: shardedFirstSyncMs, replicas: shardMemory, takeoverWrites },
    kill: { victim: victim.name, leader, buckets: victimBuckets, takeoverMs, changed: changed.length, changesLandedMs },
    join: { buckets: movedBuckets, externalSecrets: movedExternalSecrets, settledMs: joinMs },
    journal: { reconcilesByReplica: Object.fromEntries(journal.reconciles), reconciledTwiceAtOnce: journal.overlaps.length, examples: journal.overlaps.slice(0, 5) },
  };
  const perReplica = shardMemory.map((m) => `${m.replica}: ${m.peakRssMiB} MiB peak, ${m.heapUsedMiB} MiB heap, ${m.cachedExternalSecrets} cached`).join('; ');
  say(`\nsecretsync sharded bench: ${opts.count} ExternalSecrets in ${namespaces.length} namespaces, ${opts.replicas} replicas, ${result.minutes} min`);
  if (oneMemory) say(`| one replica holding all | peak RSS ${oneMemory.peakRssMiB} MiB, heap ${oneMemory.heapUsedMiB} MiB, first sync ${oneSyncMs} ms |`);
  else say(`| first sync under ${opts.replicas} replicas | ${shardedFirstSyncMs} ms |`);
  say(`| ${opts.replicas} replicas | ${perReplica} |`);
  say(`| SIGKILL of ${victim.name} | survivors hold every bucket after ${takeoverMs} ms; ${changed.length} changes made meanwhile landed after ${changesLandedMs} ms |`);
  say(`| a replica joins | took ${movedBuckets}/${BUCKET_COUNT} buckets and ${movedExternalSecrets} ExternalSecrets in ${joinMs} ms |`);
  say(`| reconciled by two replicas at once | ${journal.overlaps.length} (of ${[...journal.reconciles.values()].reduce((a, b) => a + b, 0)} reconciles) |`);
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `${stamp}-shards-n${opts.count}.json`);
  writeFileSync(file, JSON.stringify(result, null, 2));
  say(`JSON: ${file}`);
  if (journal.overlaps.length > 0) process.exitCode = 1;
}

await main();
