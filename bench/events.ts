// `make bench-events`: rotation that reaches the workload, measured on a
// control plane of its own (scripts/bench.sh) with OpenBao, the operator run
// as the Deployment runs it (operator-process.ts) with the signed webhook and
// rollout restarts on. Side by side in one run:
//
//   with events     a value changes in OpenBao and a signed event is sent:
//                   time until each Secret that reads it holds the new value
//                   (p50, p99 over every Secret of every round);
//   without events  the same change with no event: time until the scheduled
//                   refresh (refreshInterval --refresh) brings it;
//   event storm     1,000 events over 10 keys, all changed: OpenBao requests
//                   for those keys (one read of a changed KV v2 value is a
//                   version check and the value: 2 requests);
//   restart         time from the change (and its event) until the
//                   Deployment's Pod template carries the new restarted-for
//                   value (includes --restart-debounce).
// Prints a table and writes JSON to bench/results/.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { RESTARTED_FOR_ANNOTATION } from '../src/api/names.js';
import type { ExternalSecret } from '../src/api/types.js';
import { KubeClient } from '../src/kube/client.js';
import { findReady } from '../src/kube/status.js';
import { API_VERSION, Resources, WORKLOADS, type KubeObject, type Secret } from '../src/kube/types.js';
import { signRefresh } from '../src/refresh-events/webhook.js';
import { readEnvFile } from '../test/support/env-file.js';
import { openbaoRequestPaths } from '../test/support/openbao-audit.js';
import { pool } from './baselines.js';
import { startOperator } from './operator-process.js';

const root = join(import.meta.dirname, '..');
const opts = new Command()
  .option('-k, --keys <n>', 'remote keys', (v) => Number(v), 10)
  .option('-r, --readers <n>', 'ExternalSecrets reading each key', (v) => Number(v), 10)
  .option('--rounds <n>', 'changes with an event, one key each', (v) => Number(v), 20)
  .option('--refresh <duration>', 'refreshInterval of every ExternalSecret (what the baseline waits for)', '60s')
  .option('--storm <n>', 'events in the storm', (v) => Number(v), 1000)
  .option('--restart-debounce <duration>', "the operator's --restart-debounce", '1s')
  .parse()
  .opts<{ keys: number; readers: number; rounds: number; refresh: string; storm: number; restartDebounce: string }>();

const STATE = process.env.SECRETSYNC_STATE ?? join(root, '.dev');
const kubeconfig = join(STATE, 'kubeconfig');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const kube = new KubeClient(kc);
const env = readEnvFile(join(STATE, 'env'));
const ns = `bench-events-${Date.now().toString(36)}`;
const prefix = `${ns}/`;
const hookKey = randomBytes(32);
const say = (s: string) => process.stdout.write(`${s}\n`);
const b64 = (v: string) => Buffer.from(v).toString('base64');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function writeKey(k: number, value: string): Promise<void> {
  const res = await fetch(`${env.VAULT_ADDR}/v1/secret/data/${prefix}key-${k}`, { method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN! }, body: JSON.stringify({ data: { password: value } }) });
  if (!res.ok) throw new Error(`OpenBao write: HTTP ${res.status}`);
}

async function sendEvent(port: number, k: number): Promise<void> {
  const body = JSON.stringify({ id: randomUUID(), namespace: ns, store: 'vault', key: `${prefix}key-${k}` });
  const ts = Math.floor(Date.now() / 1000);
  const res = await fetch(`http://127.0.0.1:${port}/hooks/refresh`, {
    method: 'POST', body, headers: { 'X-Secretsync-Timestamp': String(ts), 'X-Secretsync-Signature': signRefresh(hookKey, ts, body) },
  });
  if (res.status !== 202) throw new Error(`webhook: HTTP ${res.status} ${await res.text()}`);
}

const secretOf = (k: number, r: number) => `s-${k}-${r}`;
const valueOf = async (name: string) => {
  const s = await kube.getOrUndefined<Secret>(Resources.Secret, ns, name);
  return s?.data?.password ? Buffer.from(s.data.password, 'base64').toString() : undefined;
};

/** ms from t0 until each named Secret holds `value` (polled every 25 ms). */
async function timesUntil(names: string[], value: string, t0: number, timeoutMs: number): Promise<number[]> {
  const done = new Map<string, number>();
  while (done.size < names.length) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`${names.length - done.size} Secrets without the new value after ${timeoutMs} ms`);
    await Promise.all(names.filter((n) => !done.has(n)).map(async (n) => {
      if ((await valueOf(n)) === value) done.set(n, Date.now() - t0);
    }));
    await sleep(25);
  }
  return [...done.values()];
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
/** OpenBao read requests for the keys: value reads (data) and version checks (metadata). */
function kvRequests(keys: number): { values: number; checks: number } {
  const paths = openbaoRequestPaths(STATE, 'read');
  const count = (kind: string) => paths.filter((p) => p.startsWith(`secret/${kind}/${prefix}key-`) && Number(p.slice(`secret/${kind}/${prefix}key-`.length)) < keys).length;
  return { values: count('data'), checks: count('metadata') };
}
const debounceMs = Number(/^(\d+)s$/.exec(opts.restartDebounce)?.[1] ?? 5) * 1000;

async function main(): Promise<void> {
  const webhookPort = 19000 + Math.floor(Math.random() * 1000);
  await kube.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: `hook-${ns}`, namespace: 'secretsync-system' }, data: { key: hookKey.toString('base64') } });
  await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: ns }, data: { token: b64(env.VAULT_TOKEN!) } });
  await kube.create(Resources.SecretStore, { apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name: 'vault', namespace: ns }, spec: { provider: { vault: { server: env.VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } } } as never);
  for (let k = 0; k < opts.keys; k++) await writeKey(k, 'v0');
  await kube.create(WORKLOADS.Deployment, {
    apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'app', namespace: ns },
    spec: { selector: { matchLabels: { app: 'app' } }, template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] } } },
  } as KubeObject);
  const operator = await startOperator({
    kubeconfig, name: 'events',
    args: ['--workers', '16', '--watch-namespace', ns, '--webhook-port', String(webhookPort), '--webhook-bind-address', '127.0.0.1', '--webhook-secret', `secretsync-system/hook-${ns}`,
      '--rollout-restart', '--restart-debounce', opts.restartDebounce],
  });
  try {
    await pool([...Array(opts.keys * opts.readers).keys()], 16, (i) => {
      const k = Math.floor(i / opts.readers);
      const r = i % opts.readers;
      return kube.create(Resources.ExternalSecret, {
        apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: secretOf(k, r), namespace: ns },
        spec: {
          refreshInterval: opts.refresh, secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'password', remoteRef: { key: `${prefix}key-${k}`, property: 'password' } }],
          ...(k === 0 && r === 0 ? { target: { rolloutRestart: [{ kind: 'Deployment', name: 'app' }] } } : {}),
        },
      });
    });
    const all = [...Array(opts.keys).keys()].flatMap((k) => [...Array(opts.readers).keys()].map((r) => secretOf(k, r)));
    await timesUntil(all, 'v0', Date.now(), 120_000);
    // Every ExternalSecret Ready before anything is measured.
    for (;;) {
      const list = await kube.list<ExternalSecret>(Resources.ExternalSecret, { namespace: ns });
      if (list.items.every((es) => findReady(es.status)?.status === 'True')) break;
      await sleep(200);
    }

    // With events: one key per round.
    const withEvents: number[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const k = round % opts.keys;
      const value = `e${round}`;
      await writeKey(k, value);
      const t0 = Date.now();
      await sendEvent(webhookPort, k);
      withEvents.push(...(await timesUntil([...Array(opts.readers).keys()].map((r) => secretOf(k, r)), value, t0, 30_000)));
    }

    // Restart: a change of key 0 restarts the Deployment. The rounds changed key 0 too: their
    // restart must have landed first (it waits out the debounce).
    await sleep(2 * debounceMs + 1000);
    const before = (await kube.get<KubeObject & { spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>(WORKLOADS.Deployment, ns, 'app')).spec.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION];
    await writeKey(0, 'restart');
    const tr = Date.now();
    await sendEvent(webhookPort, 0);
    let restartMs = 0;
    for (;;) {
      const d = await kube.get<KubeObject & { spec: { template: { metadata?: { annotations?: Record<string, string> } } } }>(WORKLOADS.Deployment, ns, 'app');
      if (d.spec.template.metadata?.annotations?.[RESTARTED_FOR_ANNOTATION] !== before) {
        restartMs = Date.now() - tr;
        break;
      }
      if (Date.now() - tr > 60_000) throw new Error('the Deployment was not restarted within 60 s');
      await sleep(25);
    }

    // Storm: every key changed, then `storm` events spread over the keys, all at once.
    const stormBefore = kvRequests(opts.keys);
    for (let k = 0; k < opts.keys; k++) await writeKey(k, 'storm');
    const ts = Date.now();
    await pool([...Array(opts.storm).keys()], 64, (i) => sendEvent(webhookPort, i % opts.keys));
    const stormMs = Date.now() - ts;
    await timesUntil(all, 'storm', ts, 60_000);
    await sleep(2000); // a late refresh would show in the count
    const stormAfter = kvRequests(opts.keys);
    const storm = { values: stormAfter.values - stormBefore.values, checks: stormAfter.checks - stormBefore.checks };

    // Without events: every key changed, nothing sent; the schedule brings it.
    const t0 = Date.now();
    for (let k = 0; k < opts.keys; k++) await writeKey(k, 'quiet');
    const withoutEvents = await timesUntil(all, 'quiet', t0, 10 * 60_000);

    const result = {
      date: new Date().toISOString(),
      keys: opts.keys, readers: opts.readers, rounds: opts.rounds, refresh: opts.refresh, restartDebounce: opts.restartDebounce, memory: operator.memory,
      withEventsMs: { p50: pct(withEvents, 50), p99: pct(withEvents, 99), max: Math.max(...withEvents), n: withEvents.length },
      withoutEventsMs: { p50: pct(withoutEvents, 50), p99: pct(withoutEvents, 99), max: Math.max(...withoutEvents), n: withoutEvents.length },
      storm: { events: opts.storm, keys: opts.keys, sentInMs: stormMs, valueReads: storm.values, versionChecks: storm.checks },
      restartMs,
    };
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    const file = join(root, `bench/results/events-${Date.now().toString(36)}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    say(`\nsecretsync bench-events: ${opts.keys} keys x ${opts.readers} ExternalSecrets, refreshInterval ${opts.refresh}, ${result.memory}`);
    say('| | p50 | p99 | max | Secrets |');
    say('|---|---:|---:|---:|---:|');
    say(`| remote change -> Secret, with an event | ${result.withEventsMs.p50} ms | ${result.withEventsMs.p99} ms | ${result.withEventsMs.max} ms | ${withEvents.length} |`);
    say(`| remote change -> Secret, schedule only (baseline) | ${result.withoutEventsMs.p50} ms | ${result.withoutEventsMs.p99} ms | ${result.withoutEventsMs.max} ms | ${withoutEvents.length} |`);
    say(`storm: ${opts.storm} events over ${opts.keys} changed keys, sent in ${stormMs} ms -> ${storm.values} value reads (target ${opts.keys}) and ${storm.checks} version checks at OpenBao`);
    say(`remote change + event -> Deployment template restarted: ${restartMs} ms (--restart-debounce ${opts.restartDebounce})`);
    say(`-> ${file}`);
  } finally {
    await operator.stop();
    await kube.delete(Resources.Namespace, undefined, ns);
    await kube.delete(Resources.Secret, 'secretsync-system', `hook-${ns}`);
    await kube.close();
  }
}

await main();
