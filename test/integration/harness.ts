// Helpers for tests against the real control plane: a namespace per test, an
// in-process operator whose log output is captured (to check that no secret
// value is ever logged), and poll-until waits instead of sleeps.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { readEnvFile } from '../support/env-file.js';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, expect, inject, onTestFinished } from 'vitest';
import type { ExternalSecret, ExternalSecretSpec, SecretStore, SecretStoreSpec } from '../../src/api/types.js';
import { KubeClient } from '../../src/kube/client.js';
import { API_VERSION, Resources, type Condition, type KubeObject, type Secret } from '../../src/kube/types.js';
import { createLogger } from '../../src/runtime/log.js';
import { Operator, type OperatorOptions } from '../../src/operator.js';

export const stateDir = () => inject('controlPlaneState');

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(join(stateDir(), 'kubeconfig'));
  return kc;
}

let sharedClient: KubeClient | undefined;
export function kube(): KubeClient {
  return (sharedClient ??= new KubeClient(kubeConfig()));
}

export async function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = join(process.env.HOME ?? '', '.cache/secretsync/kubernetes-1.34.4/kubectl');
  return new Promise((resolve) => {
    const child = execFile(bin, ['--kubeconfig', join(stateDir(), 'kubeconfig'), ...args], (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

export const run = promisify(execFile);

const helmBin = join(process.env.HOME ?? '', '.cache/secretsync/helm-3.22.0/helm');

/** helm against the test control plane; never throws, a failure is its exit code and output. */
export async function helm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(helmBin, [...args, '--kubeconfig', join(stateDir(), 'kubeconfig')], { maxBuffer: 32 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/** A fresh namespace, deleted when the test finishes. */
export async function newNamespace(labels: Record<string, string> = {}): Promise<string> {
  const name = `t-${randomBytes(4).toString('hex')}`;
  await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  onTestFinished(() => kube().delete(Resources.Namespace, undefined, name));
  return name;
}

/** Polls until fn returns a value that is not undefined/false, or fails with the last state. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, pollMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
}

export interface TestOperator {
  operator: Operator;
  logs: LogCapture;
  stop(): Promise<void>;
}

/** Runs the operator in-process against the test control plane until the test (or file) ends. */
export async function startOperator(opts: Partial<OperatorOptions> = {}): Promise<TestOperator> {
  const logs = new LogCapture();
  const operator = new Operator({
    kubeConfig: kubeConfig(),
    namespace: 'secretsync-system',
    log: createLogger('debug', logs),
    workers: 8,
    ...opts,
  });
  await operator.start();
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await operator.stop();
  };
  return { operator, logs, stop };
}

export function fakeStoreSpec(data: Array<{ key: string; value: string; version?: string; expiresAt?: string }>): SecretStoreSpec {
  return { provider: { fake: { data } } };
}

export async function createStore(namespace: string, name: string, spec: SecretStoreSpec): Promise<SecretStore> {
  return kube().create<SecretStore>(Resources.SecretStore, { apiVersion: API_VERSION, kind: 'SecretStore', metadata: { name, namespace }, spec });
}

export async function createExternalSecret(namespace: string, name: string, spec: ExternalSecretSpec, annotations?: Record<string, string>): Promise<ExternalSecret> {
  return kube().create<ExternalSecret>(Resources.ExternalSecret, {
    apiVersion: API_VERSION,
    kind: 'ExternalSecret',
    metadata: { name, namespace, annotations },
    spec,
  });
}

export const getES = (namespace: string, name: string) => kube().get<ExternalSecret>(Resources.ExternalSecret, namespace, name);
export const getSecret = (namespace: string, name: string) => kube().getOrUndefined<Secret>(Resources.Secret, namespace, name);

export function ready(obj: { status?: { conditions?: Condition[] } }): Condition | undefined {
  return obj.status?.conditions?.find((c) => c.type === 'Ready');
}

/** Waits until the ExternalSecret's Ready condition has this status (and reason, if given). */
export async function waitForReady(namespace: string, name: string, status: 'True' | 'False' = 'True', reason?: string, timeoutMs?: number): Promise<ExternalSecret> {
  return waitFor(`ExternalSecret ${namespace}/${name} Ready=${status}${reason ? ` ${reason}` : ''}`, async () => {
    const es = await getES(namespace, name);
    const c = ready(es);
    if (c?.status === status && (!reason || c.reason === reason) && es.status?.observedGeneration === es.metadata.generation) return es;
    throw new Error(`Ready=${c?.status} ${c?.reason}: ${c?.message}`);
  }, timeoutMs);
}

export async function waitForStoreReady(namespace: string, name: string): Promise<void> {
  await waitFor(`SecretStore ${namespace}/${name} Ready`, async () => ready(await kube().get<SecretStore>(Resources.SecretStore, namespace, name))?.status === 'True');
}

export function decoded(secret: Secret | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret?.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  return out;
}

export async function events(namespace: string, name: string): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await kube().list<KubeObject & { type: string; reason: string; message: string; involvedObject: { name: string } }>(Resources.Event, { namespace });
  return list.items.filter((e) => e.involvedObject.name === name);
}

/** Addresses of the provider servers started beside the control plane (from its env file). */
export function providerEnv(): Record<string, string> {
  return readEnvFile(join(stateDir(), 'env'));
}

/** A Secret holding credentials for a store. */
export async function createCredentialSecret(namespace: string, name: string, data: Record<string, string>): Promise<void> {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  await kube().create<Secret>(Resources.Secret, { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace }, data: encoded });
}

/**
 * Credentials of the operator's own ServiceAccount, bound to the shipped
 * ClusterRole (config/rbac/rbac.yaml, applied as is), instead of system:masters:
 * a permission the operator needs and the ClusterRole lacks fails the tests.
 */
export async function operatorServiceAccountConfig(): Promise<KubeConfig> {
  const applied = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', join(import.meta.dirname, '../../config/rbac/rbac.yaml')]);
  if (applied.code !== 0) throw new Error(`applying config/rbac/rbac.yaml failed: ${applied.stderr}`);
  const { token } = await kube().createToken('secretsync-system', 'secretsync', [], 3600);
  const cluster = kubeConfig().getCurrentCluster()!;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'secretsync', token }],
    contexts: [{ name: 'secretsync', cluster: cluster.name, user: 'secretsync' }],
    currentContext: 'secretsync',
  });
  return kc;
}

/**
 * One operator for the enclosing file or describe block, stopped at its end.
 * Its logs must not contain any of `secretValues` (plain or base64). With
 * `asServiceAccount` it runs with the shipped RBAC, not as an admin.
 */
export function useOperator(secretValues: string[] = [], opts: { asServiceAccount?: boolean } = {}): () => TestOperator {
  let op: TestOperator | undefined;
  beforeAll(async () => {
    op = await startOperator(opts.asServiceAccount ? { kubeConfig: await operatorServiceAccountConfig() } : {});
  });
  afterAll(async () => {
    await op?.stop();
    // The check below means something only if the logs were captured at all.
    if (secretValues.length > 0) expect(op!.logs.lines.length).toBeGreaterThan(0);
    for (const value of secretValues) {
      expect(op!.logs.text).not.toContain(value);
      expect(op!.logs.text).not.toContain(Buffer.from(value).toString('base64'));
    }
  });
  return () => op!;
}

/** A namespace for the enclosing describe block (a conformance suite), holding one credential Secret. */
export function useNamespaceWithSecret(prefix: string, secretName: string, data: () => Record<string, string>): () => string {
  let name = '';
  beforeAll(async () => {
    name = `${prefix}-${Date.now().toString(36)}`;
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    await createCredentialSecret(name, secretName, data());
  });
  afterAll(() => kube().delete(Resources.Namespace, undefined, name));
  return () => name;
}

const bundle = join(import.meta.dirname, '../../dist/bundle/main.mjs');

export interface OperatorProcess {
  child: ChildProcess;
  /** Everything it wrote (JSON log lines), for leak checks and diagnosis. */
  output: string[];
  /** Resolves with the exit code (or the signal's name) and how long after `since` it came. */
  exited: Promise<{ code: number | string; at: number }>;
}

/** The shipped bundle (make build) as its own process, against the test control plane. */
export function spawnOperator(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []): OperatorProcess {
  const child = spawn(process.execPath, [...nodeArgs, bundle, '--metrics-port', '0', ...args], {
    env: { ...process.env, KUBECONFIG: join(stateDir(), 'kubeconfig'), LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  const exited = new Promise<{ code: number | string; at: number }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code: code ?? signal ?? 'unknown', at: Date.now() })),
  );
  onTestFinished(() => void child.kill('SIGKILL'));
  return { child, output, exited };
}

/** Sends SIGTERM and returns the exit code and how many ms it took to exit. */
export async function terminate(proc: OperatorProcess): Promise<{ code: number | string; ms: number }> {
  const sent = Date.now();
  proc.child.kill('SIGTERM');
  const { code, at } = await proc.exited;
  return { code, ms: at - sent };
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** One metric's value from a Prometheus text scrape, summed over the series matching `labels`. */
export async function scrapeMetric(port: number, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/**
 * Deletes a namespace and waits until it is gone, for tests that fill one with
 * thousands of objects: their clean-up must not slow the tests after them.
 */
export async function removeNamespace(name: string, timeoutMs = 180_000): Promise<void> {
  await kube().delete(Resources.Namespace, undefined, name).catch(() => undefined);
  await waitFor(`namespace ${name} gone`, async () => (await kube().getOrUndefined(Resources.Namespace, undefined, name)) === undefined, timeoutMs, 250);
}
