// `make bench`: N ExternalSecrets on the fake provider against the local
// control plane, measured side by side with a plain client applying the same
// N Secrets at the same concurrency (the ceiling for "all Ready").
//
// Reports: time until all Ready, Secret writes, provider calls, operator peak
// RSS; then a second full refresh (nothing changed): its Secret writes and
// provider calls. Prints a table and writes JSON to bench/results/.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import type { ExternalSecret, ExternalSecretSpec } from '../src/api/types.js';
import { KubeClient } from '../src/kube/client.js';
import { API_VERSION, Resources, type Secret } from '../src/kube/types.js';
import { createLogger } from '../src/log.js';
import { Informer } from '../src/runtime/informer.js';

const root = join(import.meta.dirname, '..');
const opts = new Command()
  .option('-n, --count <n>', 'ExternalSecrets', (v) => Number(v), 1000)
  .option('-k, --keys <n>', 'distinct remote keys they read', (v) => Number(v), 100)
  .option('-c, --concurrency <n>', 'operator workers and ceiling client concurrency', (v) => Number(v), 16)
  .option('--refresh <duration>', 'refreshInterval of every ExternalSecret', '30s')
  .option('--template', 'give every ExternalSecret a template')
  .option('--label <name>', 'name of this run in the results', 'default')
  .parse()
  .opts<{ count: number; keys: number; concurrency: number; refresh: string; template?: boolean; label: string }>();

/** NODE_OPTIONS exactly as the shipped Deployment sets them, so the bench measures what runs in production. */
function deploymentNodeOptions(): string {
  for (const doc of parseAllDocuments(readFileSync(join(root, 'config/deployment.yaml'), 'utf8'))) {
    const obj = doc.toJS() as { kind?: string; spec?: { template: { spec: { containers: Array<{ env?: Array<{ name: string; value?: string }> }> } } } };
    if (obj.kind !== 'Deployment') continue;
    const env = obj.spec!.template.spec.containers[0]!.env ?? [];
    return env.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  }
  return '';
}

const kubeconfigPath = process.env.KUBECONFIG ?? join(root, '.dev/kubeconfig');
const kc = new KubeConfig();
kc.loadFromFile(kubeconfigPath);
const kube = new KubeClient(kc);
const log = createLogger('warn');
const stamp = Date.now().toString(36);

async function pool<T>(items: T[], concurrency: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

async function namespace(name: string): Promise<string> {
  await kube.create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  return name;
}

function secretValue(i: number): string {
  return JSON.stringify({ username: `user-${i}`, password: `pw-${i}-${'x'.repeat(24)}` });
}

/** The ceiling: a plain client applies the N Secrets the operator would write. */
async function ceiling(ns: string): Promise<number> {
  const started = performance.now();
  await pool([...Array(opts.count).keys()], opts.concurrency, (i) =>
    kube.apply<Secret>(Resources.Secret, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `s-${i}`, namespace: ns, labels: { 'secretsync.dev/managed': 'true' } },
      type: 'Opaque',
      data: { password: Buffer.from(`pw-${i % opts.keys}`).toString('base64') },
    }),
  );
  return performance.now() - started;
}

async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (m) totals.set(m[1]!, (totals.get(m[1]!) ?? 0) + Number(m[2]));
  }
  return totals;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

async function waitUntil(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function esSpec(i: number): ExternalSecretSpec {
  const spec: ExternalSecretSpec = {
    secretStoreRef: { name: 'bench', kind: 'SecretStore' },
    refreshInterval: opts.refresh,
    target: { name: `s-${i}` },
    data: [{ secretKey: 'password', remoteRef: { key: `key-${i % opts.keys}`, property: 'password' } }],
  };
  if (opts.template) {
    spec.target!.template = {
      metadata: { labels: { app: `bench-{{ "x" | upcase }}` } },
      data: { 'config.yaml': 'user: {{ password | default: "none" }}\nurl: postgres://db-{{ password | size }}' },
    };
  }
  return spec;
}

async function main(): Promise<void> {
  const ceilingNs = await namespace(`bench-ceiling-${stamp}`);
  const ns = await namespace(`bench-${stamp}`);
  const metricsPort = 18000 + Math.floor(Math.random() * 1000);
  let operator: ReturnType<typeof spawn> | undefined;
  try {
    process.stdout.write(`ceiling: applying ${opts.count} Secrets at concurrency ${opts.concurrency}...\n`);
    const ceilingMs = await ceiling(ceilingNs);

    await kube.create(Resources.SecretStore, {
      apiVersion: API_VERSION,
      kind: 'SecretStore',
      metadata: { name: 'bench', namespace: ns },
      spec: { provider: { fake: { data: Array.from({ length: opts.keys }, (_, i) => ({ key: `key-${i}`, value: secretValue(i), version: '1' })) } } },
    });

    operator = spawn(process.execPath, [join(root, 'dist/main.js'), '--watch-namespace', ns, '--workers', String(opts.concurrency),
      '--metrics-port', String(metricsPort), '--metrics-bind-address', '127.0.0.1', '--log-level', 'warn'], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath, NODE_OPTIONS: process.env.BENCH_NODE_OPTIONS ?? deploymentNodeOptions() },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const op = operator;
    for (let i = 0; ; i++) {
      const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.ok).catch(() => false);
      if (ok) break;
      if (i > 600) throw new Error('operator did not become ready');
      await new Promise((r) => setTimeout(r, 50));
    }

    const watcher = new Informer<ExternalSecret>(kube, Resources.ExternalSecret, { namespace: ns, log });
    await watcher.start();
    const readyAt = new Map<string, number>();
    const refreshedAfter = new Map<string, string>();
    const onChange = (es: ExternalSecret) => {
      const ready = es.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      if (ready && !readyAt.has(es.metadata.name)) {
        readyAt.set(es.metadata.name, performance.now());
        refreshedAfter.set(es.metadata.name, es.status!.refreshTime!);
      }
    };
    watcher.addHandlers({ onAdd: onChange, onUpdate: (_, es) => onChange(es) });

    process.stdout.write(`operator: creating ${opts.count} ExternalSecrets reading ${opts.keys} distinct keys...\n`);
    const started = performance.now();
    await pool([...Array(opts.count).keys()], opts.concurrency, (i) =>
      kube.create(Resources.ExternalSecret, { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: `es-${i}`, namespace: ns }, spec: esSpec(i) }),
    );
    await waitUntil('all Ready', () => readyAt.size === opts.count, 600_000);
    const allReadyMs = Math.max(...readyAt.values()) - started;
    const afterSync = await scrape(metricsPort);

    process.stdout.write(`refresh: waiting for one more full refresh (refreshInterval ${opts.refresh})...\n`);
    const refreshStarted = performance.now();
    await waitUntil('second full refresh', () => {
      for (const es of watcher.values()) {
        if (es.status?.refreshTime === refreshedAfter.get(es.metadata.name)) return false;
      }
      return true;
    }, 900_000);
    const refreshMs = performance.now() - refreshStarted;
    const afterRefresh = await scrape(metricsPort);
    await watcher.stop();

    const metric = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
    const result = {
      label: opts.label,
      count: opts.count,
      distinctKeys: opts.keys,
      concurrency: opts.concurrency,
      templated: Boolean(opts.template),
      ceilingMs: Math.round(ceilingMs),
      allReadyMs: Math.round(allReadyMs),
      readyVsCeiling: Number((allReadyMs / ceilingMs).toFixed(2)),
      firstSync: {
        secretWrites: metric(afterSync, 'secretsync_secret_writes_total'),
        providerCalls: metric(afterSync, 'secretsync_provider_calls_total'),
        sharedReads: metric(afterSync, 'secretsync_provider_cache_hits_total'),
      },
      secondRefresh: {
        waitedMs: Math.round(refreshMs),
        secretWrites: metric(afterRefresh, 'secretsync_secret_writes_total') - metric(afterSync, 'secretsync_secret_writes_total'),
        providerCalls: metric(afterRefresh, 'secretsync_provider_calls_total') - metric(afterSync, 'secretsync_provider_calls_total'),
      },
      operatorPeakRssMiB: Number(peakRssMiB(op.pid!).toFixed(1)),
      operatorHeapUsedMiB: Number((metric(afterRefresh, 'nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1)),
    };

    const rows: Array<[string, string, string]> = [
      ['time until all Ready', `${result.allReadyMs} ms`, `ceiling ${result.ceilingMs} ms (x${result.readyVsCeiling}, target <= x2)`],
      ['Secret writes (first sync)', String(result.firstSync.secretWrites), `${opts.count} Secrets`],
      ['provider calls (first sync)', String(result.firstSync.providerCalls), `${opts.keys} distinct keys, ${result.firstSync.sharedReads} shared reads`],
      ['Secret writes (2nd refresh)', String(result.secondRefresh.secretWrites), 'target 0'],
      ['provider calls (2nd refresh)', String(result.secondRefresh.providerCalls), `${opts.count} ExternalSecrets`],
      ['operator peak RSS', `${result.operatorPeakRssMiB} MiB`, `target < 150 MiB (heap in use at the end: ${result.operatorHeapUsedMiB} MiB)`],
    ];
    const width = Math.max(...rows.map((r) => r[0].length));
    process.stdout.write(`\nsecretsync bench (${opts.label}): ${opts.count} ExternalSecrets, fake provider\n`);
    for (const [k, v, note] of rows) process.stdout.write(`  ${k.padEnd(width)}  ${v.padStart(10)}  ${note}\n`);
    mkdirSync(join(root, 'bench/results'), { recursive: true });
    const file = join(root, 'bench/results', `${opts.label}-${stamp}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2));
    process.stdout.write(`\nJSON: ${file}\n`);
  } finally {
    operator?.kill('SIGTERM');
    await kube.delete(Resources.Namespace, undefined, ns).catch(() => undefined);
    await kube.delete(Resources.Namespace, undefined, ceilingNs).catch(() => undefined);
  }
}

await main();
process.exit(0);
