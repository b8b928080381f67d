// `make bench`: N ExternalSecrets on the fake provider against the local
// control plane, measured side by side with a plain client applying the same
// N Secrets at the same concurrency (the ceiling for "all Ready").
//
// Two scenarios, one after the other in fresh namespaces: plain, and with a
// template on every ExternalSecret. Each reports time until all Ready (next
// to its own ceiling), Secret writes, provider calls, operator peak RSS; then
// a second full refresh (nothing changed): its Secret writes and provider
// calls. Prints a table and writes JSON to bench/results/.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Command } from 'commander';
import { parseAllDocuments } from 'yaml';
import type { ExternalSecret, ExternalSecretSpec } from '../src/api/types.js';
import { KubeClient } from '../src/kube/client.js';
import { API_VERSION, Resources, type Secret } from '../src/kube/types.js';
import { createLogger } from '../src/log.js';
import { Informer } from '../src/runtime/informer.js';
import { startAwsProxy, type AwsProxy } from '../test/support/aws-proxy.js';
import { openbaoRequests } from '../test/support/openbao-audit.js';

const root = join(import.meta.dirname, '..');
const opts = new Command()
  .option('-n, --count <n>', 'ExternalSecrets', (v) => Number(v), 1000)
  .option('-k, --keys <n>', 'distinct remote keys they read', (v) => Number(v), 100)
  .option('-c, --concurrency <n>', 'operator workers and ceiling client concurrency', (v) => Number(v), 16)
  .option('--refresh <duration>', 'refreshInterval of every ExternalSecret', '30s')
  .option('--scenarios <list>', 'which scenarios, in order: fake, fake-templated, vault, aws', 'fake,fake-templated,vault,aws')
  .parse()
  .opts<{ count: number; keys: number; concurrency: number; refresh: string; scenarios: string }>();

type Kind = 'fake' | 'fake-templated' | 'vault' | 'aws';
const STATE = process.env.SECRETSYNC_STATE ?? join(root, '.dev');

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

function esSpec(i: number, templated: boolean, keyPrefix: string): ExternalSecretSpec {
  const spec: ExternalSecretSpec = {
    secretStoreRef: { name: 'bench', kind: 'SecretStore' },
    refreshInterval: opts.refresh,
    target: { name: `s-${i}` },
    data: [{ secretKey: 'password', remoteRef: { key: `${keyPrefix}key-${i % opts.keys}`, property: 'password' } }],
  };
  if (templated) {
    spec.target!.template = {
      metadata: { labels: { app: `bench-{{ "x" | upcase }}` } },
      data: { 'config.yaml': 'user: {{ password | default: "none" }}\nurl: postgres://db-{{ password | size }}' },
    };
  }
  return spec;
}

interface Scenario {
  label: string;
  templated: boolean;
  /** Requests the provider's server received during the second full refresh (OpenBao's audit log; moto through a counting proxy). */
  providerServerRequests2ndRefresh?: number;
  ceilingMs: number;
  allReadyMs: number;
  readyVsCeiling: number;
  firstSync: { secretWrites: number; providerCalls: number; sharedReads: number };
  secondRefresh: { waitedMs: number; secretWrites: number; providerCalls: number };
  operatorPeakRssMiB: number;
  operatorHeapUsedMiB: number;
}

/** Deletes a namespace and waits until it is gone, so its cleanup does not load the next scenario. */
async function removeNamespace(name: string): Promise<void> {
  await kube.delete(Resources.Namespace, undefined, name).catch(() => undefined);
  const deadline = Date.now() + 300_000;
  while (Date.now() < deadline && (await kube.getOrUndefined(Resources.Namespace, undefined, name))) {
    await new Promise((r) => setTimeout(r, 250));
  }
}


let awsProxy: AwsProxy | undefined;

/** The store for a scenario; for vault and aws, the remote keys are written to the server first. */
async function createStore(kind: Kind, ns: string): Promise<string> {
  if (kind === 'aws') return createAwsStore(ns);
  if (kind !== 'vault') {
    await kube.create(Resources.SecretStore, {
      apiVersion: API_VERSION,
      kind: 'SecretStore',
      metadata: { name: 'bench', namespace: ns },
      spec: { provider: { fake: { data: Array.from({ length: opts.keys }, (_, i) => ({ key: `key-${i}`, value: secretValue(i), version: '1' })) } } },
    });
    return '';
  }
  const addr = process.env.VAULT_ADDR ?? `http://127.0.0.1:${16440 + 10}`;
  const token = process.env.VAULT_TOKEN ?? 'root';
  const prefix = `bench-${stamp}/`;
  await pool([...Array(opts.keys).keys()], 8, async (i) => {
    const res = await fetch(`${addr}/v1/secret/data/${prefix}key-${i}`, { method: 'POST', headers: { 'X-Vault-Token': token }, body: JSON.stringify({ data: JSON.parse(secretValue(i)) as object }) });
    if (!res.ok) throw new Error(`writing to OpenBao failed: HTTP ${res.status}`);
  });
  await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'vault-token', namespace: ns }, data: { token: Buffer.from(token).toString('base64') } });
  await kube.create(Resources.SecretStore, {
    apiVersion: API_VERSION,
    kind: 'SecretStore',
    metadata: { name: 'bench', namespace: ns },
    spec: { provider: { vault: { server: addr, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: 'vault-token', key: 'token' } } } } },
  });
  return prefix;
}

async function createAwsStore(ns: string): Promise<string> {
  const endpoint = process.env.AWS_ENDPOINT_URL ?? `http://127.0.0.1:${16440 + 12}`;
  const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
  const sm = new SecretsManagerClient({ region: 'us-east-1', endpoint, credentials });
  const prefix = `bench-${stamp}/`;
  await pool([...Array(opts.keys).keys()], 8, (i) => sm.send(new CreateSecretCommand({ Name: `${prefix}key-${i}`, SecretString: secretValue(i) })));
  awsProxy = await startAwsProxy(endpoint);
  const b64 = (v: string) => Buffer.from(v).toString('base64');
  await kube.create(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'aws-creds', namespace: ns }, data: { id: b64('testing'), secret: b64('testing') } });
  await kube.create(Resources.SecretStore, {
    apiVersion: API_VERSION,
    kind: 'SecretStore',
    metadata: { name: 'bench', namespace: ns },
    spec: {
      provider: {
        aws: {
          service: 'SecretsManager', region: 'us-east-1', endpoint: awsProxy.url,
          auth: { secretRef: { accessKeyIDSecretRef: { name: 'aws-creds', key: 'id' }, secretAccessKeySecretRef: { name: 'aws-creds', key: 'secret' } } },
        },
      },
    },
  });
  return prefix;
}

/** Requests the scenario's provider server has received so far. */
function serverRequests(kind: Kind): number {
  if (kind === 'vault') return openbaoRequests(STATE);
  if (kind === 'aws') return awsProxy?.total() ?? 0;
  return 0;
}

async function scenario(kind: Kind): Promise<Scenario> {
  const templated = kind === 'fake-templated';
  const id = `${stamp}-${kind}`;
  const ceilingNs = await namespace(`bench-ceiling-${id}`);
  const ns = await namespace(`bench-${id}`);
  const metricsPort = 18000 + Math.floor(Math.random() * 1000);
  let operator: ReturnType<typeof spawn> | undefined;
  try {
    const label = kind;
    process.stdout.write(`[${label}] ceiling: a plain client applies ${opts.count} Secrets at concurrency ${opts.concurrency}\n`);
    const ceilingMs = await ceiling(ceilingNs);
    await removeNamespace(ceilingNs);

    const keyPrefix = await createStore(kind, ns);
    operator = spawn(process.execPath, [join(root, 'dist/bundle/main.mjs'), '--watch-namespace', ns, '--workers', String(opts.concurrency),
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

    process.stdout.write(`[${label}] operator: ${opts.count} ExternalSecrets reading ${opts.keys} distinct keys\n`);
    const started = performance.now();
    await pool([...Array(opts.count).keys()], opts.concurrency, (i) =>
      kube.create(Resources.ExternalSecret, { apiVersion: API_VERSION, kind: 'ExternalSecret', metadata: { name: `es-${i}`, namespace: ns }, spec: esSpec(i, templated, keyPrefix) }),
    );
    await waitUntil('all Ready', () => readyAt.size === opts.count, 600_000);
    const allReadyMs = Math.max(...readyAt.values()) - started;
    const afterSync = await scrape(metricsPort);

    process.stdout.write(`[${label}] refresh: waiting for one more full refresh (refreshInterval ${opts.refresh})\n`);
    const refreshStarted = performance.now();
    const serverRequestsBefore = serverRequests(kind);
    await waitUntil('second full refresh', () => {
      for (const es of watcher.values()) {
        if (es.status?.refreshTime === refreshedAfter.get(es.metadata.name)) return false;
      }
      return true;
    }, 900_000);
    const refreshMs = performance.now() - refreshStarted;
    const afterRefresh = await scrape(metricsPort);
    const refreshRequests = serverRequests(kind) - serverRequestsBefore;
    await watcher.stop();

    const metric = (m: Map<string, number>, name: string) => m.get(name) ?? 0;
    return {
      label,
      templated,
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
      providerServerRequests2ndRefresh: kind === 'vault' || kind === 'aws' ? refreshRequests : undefined,
      operatorPeakRssMiB: Number(peakRssMiB(op.pid!).toFixed(1)),
      operatorHeapUsedMiB: Number((metric(afterRefresh, 'nodejs_heap_size_used_bytes') / 2 ** 20).toFixed(1)),
    };
  } finally {
    operator?.kill('SIGTERM');
    await awsProxy?.close();
    awsProxy = undefined;
    await removeNamespace(ns);
    await removeNamespace(ceilingNs);
  }
}

function table(results: Scenario[]): string {
  const rows: Array<[string, ...string[]]> = [
    ['', ...results.map((r) => r.label)],
    ['ceiling: plain client applies N Secrets', ...results.map((r) => `${r.ceilingMs} ms`)],
    ['time until all Ready', ...results.map((r) => `${r.allReadyMs} ms`)],
    ['  ratio to ceiling (target <= 2)', ...results.map((r) => `x${r.readyVsCeiling}`)],
    ['Secret writes, first sync', ...results.map((r) => String(r.firstSync.secretWrites))],
    ['provider calls, first sync', ...results.map((r) => String(r.firstSync.providerCalls))],
    ['  reads shared instead of called', ...results.map((r) => String(r.firstSync.sharedReads))],
    ['Secret writes, 2nd full refresh (target 0)', ...results.map((r) => String(r.secondRefresh.secretWrites))],
    ['provider calls, 2nd full refresh', ...results.map((r) => String(r.secondRefresh.providerCalls))],
    ['  requests the server received, 2nd refresh', ...results.map((r) => (r.providerServerRequests2ndRefresh === undefined ? '-' : String(r.providerServerRequests2ndRefresh)))],
    ['operator peak RSS (target < 150 MiB)', ...results.map((r) => `${r.operatorPeakRssMiB} MiB`)],
    ['operator heap in use at the end', ...results.map((r) => `${r.operatorHeapUsedMiB} MiB`)],
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('   ')).join('\n');
}

async function main(): Promise<void> {
  const results: Scenario[] = [];
  for (const kind of opts.scenarios.split(',').map((k) => k.trim()) as Kind[]) results.push(await scenario(kind));
  const plain = results.find((r) => r.label === 'fake');
  const templatedRun = results.find((r) => r.label === 'fake-templated');
  const summary = {
    count: opts.count,
    distinctKeys: opts.keys,
    concurrency: opts.concurrency,
    refreshInterval: opts.refresh,
    nodeOptions: process.env.BENCH_NODE_OPTIONS ?? deploymentNodeOptions(),
    scenarios: results,
    templatedVsPlain: plain && templatedRun ? Number((templatedRun.allReadyMs / plain.allReadyMs).toFixed(3)) : undefined,
  };
  process.stdout.write(`\nsecretsync bench: ${opts.count} ExternalSecrets per scenario, ${opts.keys} distinct remote keys, concurrency ${opts.concurrency}\n\n`);
  process.stdout.write(`${table(results)}\n`);
  if (summary.templatedVsPlain !== undefined) {
    process.stdout.write(`\nfake-templated / fake time until all Ready: x${summary.templatedVsPlain} (target <= x1.10)\n`);
  }
  mkdirSync(join(root, 'bench/results'), { recursive: true });
  const file = join(root, 'bench/results', `${stamp}.json`);
  writeFileSync(file, JSON.stringify(summary, null, 2));
  process.stdout.write(`JSON: ${file}\n`);
}

await main();
process.exit(0);
