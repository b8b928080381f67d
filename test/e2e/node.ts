// Helpers for the tests that run the operator as Pods on the node cluster
// (scripts/node-cluster.sh): its workloads, its containers as the kernel sees
// them, and the provider servers beside it. The integration harness's helpers
// (kube(), kubectl, waitFor, ...) talk to the same cluster.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { Resources, WORKLOADS, type ResourceType } from '../../src/kube/types.js';
import { createCredentialSecret, createStore, kube, kubectl, waitFor } from '../integration/harness.js';
import { readEnvFile } from '../support/env-file.js';
export { helm } from '../integration/harness.js';

const exec = promisify(execFile);
const root = join(import.meta.dirname, '../..');
export const chart = join(root, 'deploy/charts/secretsync');

export const Workloads = {
  Pod: Resources.Pod,
  Deployment: WORKLOADS.Deployment,
  PodDisruptionBudget: { group: 'policy', version: 'v1', plural: 'poddisruptionbudgets', kind: 'PodDisruptionBudget', namespaced: true },
  NetworkPolicy: { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', kind: 'NetworkPolicy', namespaced: true },
} as const satisfies Record<string, ResourceType>;

/** The node cluster's env file: provider addresses, containerd's socket, runc's root. */
export function nodeEnv(): Record<string, string> {
  return readEnvFile(join(inject('nodeState'), 'env'));
}

export interface Pod {
  metadata: { name: string; namespace: string; uid: string; deletionTimestamp?: string; labels?: Record<string, string> };
  spec: {
    nodeName?: string;
    volumes?: Array<{ name: string; projected?: { sources: Array<Record<string, unknown>> } }>;
    containers: Array<{ name: string; env?: Array<{ name: string }>; resources?: { limits?: Record<string, string> } }>;
  };
  status: {
    phase: string;
    podIP?: string;
    conditions?: Array<{ type: string; status: string }>;
    containerStatuses?: Array<{ containerID?: string; ready: boolean; restartCount: number; state: Record<string, unknown>; lastState: Record<string, { reason?: string }> }>;
  };
}

export async function pods(namespace: string, selector: string): Promise<Pod[]> {
  const list = await kube().list<Pod>(Workloads.Pod, { namespace, labelSelector: selector });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const isReady = (p: Pod) => p.status.phase === 'Running' && p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

/** Waits until exactly `count` Pods of the selector are Running and Ready, and returns them. */
export async function readyPods(namespace: string, selector: string, count: number, timeoutMs = 150_000): Promise<Pod[]> {
  return waitFor(`${count} Ready Pods ${selector} in ${namespace}`, async () => {
    const all = await kube().list<Pod>(Workloads.Pod, { namespace, labelSelector: selector });
    const ready = all.items.filter(isReady);
    return ready.length === count && all.items.length === count ? ready : false;
  }, timeoutMs, 500);
}

export interface LeaseState { holder?: string; renewTime?: string; durationSeconds?: number; transitions?: number }

export async function lease(namespace: string, name: string): Promise<LeaseState> {
  const l = await kube().getOrUndefined<{ metadata: { name: string }; spec?: Record<string, unknown> }>(Resources.Lease, namespace, name);
  const spec = (l?.spec ?? {}) as { holderIdentity?: string; renewTime?: string; leaseDurationSeconds?: number; leaseTransitions?: number };
  return { holder: spec.holderIdentity, renewTime: spec.renewTime, durationSeconds: spec.leaseDurationSeconds, transitions: spec.leaseTransitions };
}

/** The Pod whose name the Lease's holder identity starts with (identity: `<pod>_<random>`). */
export const holderPod = (l: LeaseState, candidates: Pod[]) => candidates.find((p) => l.holder?.startsWith(`${p.metadata.name}_`));

/** The operator's JSON log lines of a Pod's container. */
export async function podLog(namespace: string, pod: string, previous = false): Promise<Array<Record<string, unknown>>> {
  const out = await kubectl(['logs', '-n', namespace, pod, ...(previous ? ['--previous'] : [])]);
  if (out.code !== 0) throw new Error(`kubectl logs ${pod}: ${out.stderr}`);
  return out.stdout.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** The container's first process as the kernel sees it (runc's state, then /proc). */
export async function containerProcess(pod: Pod): Promise<{ pid: number; status: string; mountinfo: string; cgroup: string }> {
  const id = pod.status.containerStatuses![0]!.containerID!.replace(/^containerd:\/\//, '');
  const { stdout } = await exec('runc', ['--root', `${nodeEnv().RUNC_ROOT}/k8s.io`, 'state', id]);
  const pid = (JSON.parse(stdout) as { pid: number }).pid;
  const read = (file: string) => readFileSync(`/proc/${pid}/${file}`, 'utf8');
  return { pid, status: read('status'), mountinfo: read('mountinfo'), cgroup: read('cgroup') };
}

/** A KV v2 secret in the node cluster's OpenBao. */
export async function writeVault(path: string, data: Record<string, string>): Promise<void> {
  const env = nodeEnv();
  const res = await fetch(`${env.VAULT_ADDR}/v1/secret/data/${path}`, {
    method: 'POST', headers: { 'X-Vault-Token': env.VAULT_TOKEN!, 'Content-Type': 'application/json' }, body: JSON.stringify({ data }),
  });
  if (!res.ok) throw new Error(`OpenBao write ${path}: ${res.status} ${await res.text()}`);
}

/** A SecretStore for the node cluster's OpenBao (token auth), reached from the Pods at the node address. */
export async function vaultStore(namespace: string, name = 'vault'): Promise<void> {
  await createCredentialSecret(namespace, `${name}-token`, { token: nodeEnv().VAULT_TOKEN! });
  await createStore(namespace, name, {
    provider: { vault: { server: nodeEnv().VAULT_ADDR!, path: 'secret', version: 'v2', auth: { tokenSecretRef: { name: `${name}-token`, key: 'token' } } } },
  });
}

/** Waits until the named Secret holds the wanted decoded data. */
export async function waitForSecretData(namespace: string, name: string, want: Record<string, string>, timeoutMs = 60_000): Promise<void> {
  await waitFor(`Secret ${namespace}/${name} = ${Object.keys(want).join(',')}`, async () => {
    const s = await kube().getOrUndefined<{ metadata: { name: string }; data?: Record<string, string> }>(Resources.Secret, namespace, name);
    if (!s?.data) return false;
    return Object.entries(want).every(([k, v]) => Buffer.from(s.data![k] ?? '', 'base64').toString('utf8') === v);
  }, timeoutMs, 250);
}

/**
 * Samples the leader Lease every 200 ms until stopped, and returns the longest
 * stretch with no valid leader: no holder, or a holder whose last renewal is
 * older than the lease duration (what a candidate waits for before taking over).
 */
export function watchLeadership(namespace: string, name: string): { stop: () => Promise<{ longestLeaderlessMs: number; holders: string[] }> } {
  let running = true;
  let leaderlessSince: number | undefined;
  let longest = 0;
  const holders: string[] = [];
  const loop = (async () => {
    while (running) {
      const l: LeaseState = await lease(namespace, name).catch(() => ({}));
      const now = Date.now();
      const valid = l.holder && l.renewTime && now - Date.parse(l.renewTime) < (l.durationSeconds ?? 15) * 1000;
      if (l.holder && holders[holders.length - 1] !== l.holder) holders.push(l.holder);
      if (valid) {
        if (leaderlessSince !== undefined) longest = Math.max(longest, now - leaderlessSince);
        leaderlessSince = undefined;
      } else leaderlessSince ??= now;
      await new Promise((r) => setTimeout(r, 200));
    }
    if (leaderlessSince !== undefined) longest = Math.max(longest, Date.now() - leaderlessSince);
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { longestLeaderlessMs: longest, holders };
    },
  };
}
