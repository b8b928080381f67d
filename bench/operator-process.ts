// The operator bundle as the Deployment runs it: the image's node flags and
// NODE_OPTIONS (heap sized from the memory limit) inside a memory cgroup of the
// Deployment's limit, so the heap really follows the limit as in a Pod. Where
// no memory cgroup can be made (not root, no controller), the same heap size
// is given as an explicit flag instead, and the result says so.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { cpuSeconds, peakRssMiB, rssNowMiB } from './cluster.js';

const root = join(import.meta.dirname, '..');

/** Node flags the image's ENTRYPOINT passes before the bundle (Dockerfile). */
export function imageNodeFlags(): string[] {
  const m = /^ENTRYPOINT (\[.*\])$/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  const argv = m ? (JSON.parse(m[1]!) as string[]) : [];
  return argv.slice(1).filter((a) => a.startsWith('--'));
}

/** NODE_OPTIONS the image sets (Dockerfile ENV). */
export function imageNodeOptions(): string {
  const m = /^ENV NODE_OPTIONS="([^"]*)"/m.exec(readFileSync(join(root, 'Dockerfile'), 'utf8'));
  return m?.[1] ?? '';
}

/** The Deployment's memory limit in bytes. */
export function deploymentMemoryLimit(): number {
  for (const doc of parseAllDocuments(readFileSync(join(root, 'config/manager/deployment.yaml'), 'utf8'))) {
    const obj = doc.toJS() as { kind?: string; spec?: { template: { spec: { containers: Array<{ resources?: { limits?: { memory?: string } } }> } } } };
    if (obj.kind !== 'Deployment') continue;
    const limit = obj.spec!.template.spec.containers[0]!.resources?.limits?.memory ?? '';
    const m = /^(\d+)(Mi|Gi)$/.exec(limit);
    if (!m) throw new Error(`unexpected memory limit "${limit}" in config/manager/deployment.yaml`);
    return Number(m[1]) * (m[2] === 'Gi' ? 2 ** 30 : 2 ** 20);
  }
  throw new Error('no Deployment in config/manager/deployment.yaml');
}

function memoryCgroup(name: string, limitBytes: number): { procs: string; remove(): void } | undefined {
  const v1 = '/sys/fs/cgroup/memory';
  const v2 = '/sys/fs/cgroup';
  try {
    if (existsSync(join(v1, 'memory.limit_in_bytes'))) {
      const dir = join(v1, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.limit_in_bytes'), String(limitBytes));
      return { procs: join(dir, 'cgroup.procs'), remove: () => rmdirSync(dir) };
    }
    if (readFileSync(join(v2, 'cgroup.subtree_control'), 'utf8').includes('memory')) {
      const dir = join(v2, name);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'memory.max'), String(limitBytes));
      return { procs: join(dir, 'cgroup.procs'), remove: () => rmdirSync(dir) };
    }
  } catch {
    // Not root, or no memory controller here.
  }
  return undefined;
}

export interface OperatorProcess {
  pid: number;
  metricsPort: number;
  /** How the memory limit was applied: "cgroup 256 MiB" or "emulated: --max-old-space-size=N". */
  memory: string;
  child: ChildProcess;
  cpuSeconds(): number;
  peakRssMiB(): number;
  rssNowMiB(): { anon: number; file: number };
  exited: Promise<void>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StartOptions {
  kubeconfig: string;
  args: string[];
  /** Extra node flags (e.g. --cpu-prof). */
  nodeFlags?: string[];
  name: string;
  /** The memory limit; the Deployment's when unset. */
  memoryLimitBytes?: number;
  /** Extra environment (e.g. POD_NAME, a replica's identity). */
  env?: Record<string, string>;
}

export async function startOperator(opts: StartOptions): Promise<OperatorProcess> {
  const metricsPort = 18000 + Math.floor(Math.random() * 1000);
  const limit = opts.memoryLimitBytes ?? deploymentMemoryLimit();
  let nodeOptions = process.env.BENCH_NODE_OPTIONS ?? imageNodeOptions();
  const cgroup = memoryCgroup(`secretsync-bench-${opts.name}`, limit);
  let memory = `cgroup ${limit / 2 ** 20} MiB`;
  if (!cgroup) {
    const percentage = Number(/--max-old-space-size-percentage=(\d+)/.exec(nodeOptions)?.[1] ?? 0);
    if (percentage > 0) {
      const size = Math.floor((limit * percentage) / 100 / 2 ** 20);
      nodeOptions = nodeOptions.replace(/--max-old-space-size-percentage=\d+/, `--max-old-space-size=${size}`);
      memory = `emulated: --max-old-space-size=${size}`;
    }
  }
  // The image's own flags, or BENCH_NODE_FLAGS instead (to try others).
  const flags = process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : imageNodeFlags();
  const node = [process.execPath, ...flags, ...(opts.nodeFlags ?? []), join(root, 'dist/bundle/main.mjs'), '--metrics-port', String(metricsPort), '--metrics-bind-address', '127.0.0.1', '--log-level', 'warn', ...opts.args];
  const quoted = node.map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  // exec keeps the pid: the process in the cgroup is the operator itself.
  const script = cgroup ? `echo $$ > '${cgroup.procs}' && exec ${quoted}` : `exec ${quoted}`;
  const child = spawn('bash', ['-c', script], {
    env: { ...process.env, ...opts.env, KUBECONFIG: opts.kubeconfig, NODE_OPTIONS: nodeOptions },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => {
    try {
      cgroup?.remove();
    } catch {
      // Still busy for a moment; a later run reuses or removes it.
    }
  });
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then((r) => r.ok).catch(() => false);
    if (ok) break;
    if (i > 1200 || child.exitCode !== null) throw new Error('operator did not become ready');
    await new Promise((r) => setTimeout(r, 50));
  }
  const pid = child.pid!;
  let lastCpu = 0;
  let lastRss = 0;
  return {
    pid,
    metricsPort,
    memory,
    child,
    exited,
    cpuSeconds: () => (child.exitCode === null && child.signalCode === null ? (lastCpu = cpuSeconds(pid)) : lastCpu),
    peakRssMiB: () => (child.exitCode === null && child.signalCode === null ? (lastRss = peakRssMiB(pid)) : lastRss),
    rssNowMiB: () => rssNowMiB(pid),
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** The operator's /metrics, summed by metric name over all labels. */
export async function scrape(port: number): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const totals = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m) continue;
    totals.set(m[1]!, (totals.get(m[1]!) ?? 0) + Number(m[3]));
  }
  return totals;
}

/** A counter of the operator's /metrics, summed by a key made of its labels. */
async function countsBy(port: number, metric: string, keyOf: (labels: Record<string, string>) => string): Promise<Map<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    const key = keyOf(labels);
    counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return counts;
}

/** The operator's own count of its API requests (secretsync_kube_requests_total), by "VERB resource[ CODE]". */
export function operatorKubeRequests(port: number): Promise<Map<string, number>> {
  return countsBy(port, 'secretsync_kube_requests_total', (l) => `${l.verb} ${l.resource}${l.code?.startsWith('2') ? '' : ` ${l.code}`}`);
}

/** The operator's provider requests (secretsync_provider_calls_total), by call ("getSecret", "currentVersion", ...). */
export function providerCallsByCall(port: number): Promise<Map<string, number>> {
  return countsBy(port, 'secretsync_provider_calls_total', (l) => l.call ?? '');
}
