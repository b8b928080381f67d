// Which generated values an ExternalSecret or PushSecret uses now: the ones
// recorded in its state while they stand (same generator, same spec, not yet
// due), otherwise new ones. The state goes back with the Secret it is kept in.
import { Reason } from '../api/reasons.js';
import type { Generator, GeneratorRef } from '../api/types.js';
import { decodeSecretData, encodeSecretData } from '../secrets/data-hash.js';
import { SyncError } from '../secrets/sync-error.js';
import { KubeApiError, type KubeClient } from '../kube/client.js';
import { Resources } from '../kube/types.js';
import { parseDuration } from '../util/duration.js';
import { errorMessage } from '../util/errors.js';
import type { Logger } from 'pino';
import { ConnectGuard } from '../providers/connect-guard.js';
import { providerFailure } from '../providers/errors.js';
import { checkGeneratorHosts, type HostPolicy } from '../providers/host-policy.js';
import { generatorEndpoints, revokeGeneratorLease, runGenerator } from './generators.js';
import type { GeneratedValues, GeneratorUse } from '../secrets/generated-values.js';
import type { GeneratedEntry, GeneratorState } from './state.js';

/** A token is replaced at this share of its life. */
const TOKEN_LIFE_USED = 0.8;

export interface GenerateOptions {
  namespace: string;
  kube: KubeClient;
  previous: GeneratorState;
  now: number;
  signal: AbortSignal;
  log: Logger;
  /** Ignore the state: every generator makes a new value (force-sync). */
  regenerate?: boolean;
  /** The operator's --deny-store-hosts, applied to generator endpoints too. */
  hostPolicy?: HostPolicy;
}

/** Generators are namespaced, so tenant-controlled: their connections are guarded whenever there is a policy. */
const generatorGuard = (policy: HostPolicy | undefined) => (policy ? new ConnectGuard(policy, 'generators') : undefined);

export async function generate(uses: GeneratorUse[], opts: GenerateOptions): Promise<{ bySlot: Map<string, GeneratedValues>; state: GeneratorState }> {
  const bySlot = new Map<string, GeneratedValues>();
  const state: GeneratorState = {};
  for (const { slot, ref } of uses) {
    const generator = await readGenerator(opts.kube, opts.namespace, ref);
    const source = `${ref.kind}/${ref.name}@${generator.metadata.uid ?? ''}:${generator.metadata.generation ?? 0}`;
    const kept = opts.previous[slot];
    if (kept && kept.source === source && !opts.regenerate && (kept.renewAt === undefined || opts.now < kept.renewAt)) {
      state[slot] = kept;
      bySlot.set(slot, { values: decodeSecretData(kept.values), renewAt: kept.renewAt, fresh: false });
      continue;
    }
    let made;
    try {
      await checkGeneratorHosts(generatorEndpoints(generator), opts.hostPolicy);
      made = await runGenerator(generator, { namespace: opts.namespace, kube: opts.kube, signal: opts.signal, log: opts.log, connectGuard: generatorGuard(opts.hostPolicy) });
    } catch (err) {
      if (err instanceof SyncError) throw err;
      // The connect-time guard's refusal keeps its own reason, as a store's does.
      const reason = providerFailure(err).reason === Reason.HostNotAllowed ? Reason.HostNotAllowed : Reason.GeneratorError;
      throw new SyncError(reason, `${ref.kind} "${ref.name}": ${errorMessage(err)}`, true, { cause: err });
    }
    const entry: GeneratedEntry = {
      source, at: opts.now, renewAt: renewAt(generator, made.expiresAt, opts.now),
      leaseId: made.leaseId, leaseEndsAt: made.leaseId ? made.expiresAt?.getTime() : undefined,
      values: encodeSecretData(made.values),
    };
    state[slot] = entry;
    bySlot.set(slot, { values: made.values, renewAt: entry.renewAt, fresh: true });
  }
  return { bySlot, state };
}

export interface RevokeOptions {
  namespace: string;
  kube: KubeClient;
  signal: AbortSignal;
  log: Logger;
  hostPolicy?: HostPolicy;
}

/** The entries of a state whose values hold a lease that can still be in force. */
export function leasedEntries(state: GeneratorState, now: number): GeneratedEntry[] {
  return Object.values(state).filter((e) => e.leaseId && (e.leaseEndsAt === undefined || now < e.leaseEndsAt));
}

/** Leased values in the state before that the state now no longer holds (replaced, or their entry removed). */
export function replacedLeases(before: GeneratorState, now: GeneratorState, at: number): GeneratedEntry[] {
  const kept = new Set(Object.values(now).map((e) => e.leaseId));
  return leasedEntries(before, at).filter((e) => !kept.has(e.leaseId));
}

/**
 * Revokes the leases behind generated values nothing uses any more, through
 * the generator that made them (its connection and credentials). A generator
 * that is gone cannot revoke: its leases are returned, to be reported, and end
 * at their TTL. A failed revocation throws.
 */
export async function revokeGeneratedLeases(entries: GeneratedEntry[], opts: RevokeOptions): Promise<GeneratedEntry[]> {
  const orphaned: GeneratedEntry[] = [];
  for (const entry of entries) {
    if (!entry.leaseId) continue;
    // source is "Kind/name@uid:generation".
    const [kind, name] = entry.source.slice(0, entry.source.indexOf('@')).split('/') as [GeneratorRef['kind'], string];
    let generator: Generator;
    try {
      generator = await readGenerator(opts.kube, opts.namespace, { kind, name });
    } catch (err) {
      if (err instanceof SyncError && err.reason === Reason.GeneratorNotFound) {
        orphaned.push(entry);
        continue;
      }
      throw err;
    }
    await checkGeneratorHosts(generatorEndpoints(generator), opts.hostPolicy);
    await revokeGeneratorLease(generator, { ...opts, connectGuard: generatorGuard(opts.hostPolicy) }, entry.leaseId);
  }
  return orphaned;
}

/**
 * What uses the values is being deleted: revokes their leases; `warn` is told
 * how many end at their TTL because their generator is gone. A failed
 * revocation throws (the caller retries while a lease is in force).
 */
export async function revokeAtDeletion(entries: GeneratedEntry[], opts: RevokeOptions, warn: (message: string) => void): Promise<void> {
  if (entries.length === 0) return;
  const orphaned = await revokeGeneratedLeases(entries, opts);
  if (orphaned.length > 0) warn(`${orphaned.length} lease(s) of generated values cannot be revoked and end at their TTL: their generator is gone`);
  opts.log.info({ leases: entries.length - orphaned.length }, 'leases of generated values revoked');
}

/** Best effort, after the new values are in place: a lease that cannot be revoked ends at its TTL. */
export async function revokeReplacedGenerated(entries: GeneratedEntry[], opts: RevokeOptions): Promise<void> {
  if (entries.length === 0) return;
  try {
    const orphaned = await revokeGeneratedLeases(entries, opts);
    if (orphaned.length > 0) opts.log.info({ leases: orphaned.length }, 'the generator of replaced values is gone: their leases end at their TTL');
  } catch (err) {
    opts.log.info({ err: errorMessage(err), leases: entries.length }, 'could not revoke the leases of replaced generated values; they end at their TTL');
  }
}

async function readGenerator(kube: KubeClient, namespace: string, ref: GeneratorRef): Promise<Generator> {
  const resource = Resources[ref.kind];
  let found: Generator | undefined;
  try {
    found = await kube.getOrUndefined<Generator>(resource, namespace, ref.name);
  } catch (err) {
    const status = err instanceof KubeApiError ? err.status : undefined;
    throw new SyncError(Reason.KubernetesError, `reading ${ref.kind} "${ref.name}" failed: ${errorMessage(err)}${status === 403 ? ' (the operator\'s RBAC lacks get on this generator kind)' : ''}`, true, { cause: err });
  }
  if (!found) throw new SyncError(Reason.GeneratorNotFound, `${ref.kind} "${ref.name}" not found in namespace "${namespace}"`, true);
  return { ...found, kind: ref.kind };
}

function renewAt(generator: Generator, expiresAt: Date | undefined, now: number): number | undefined {
  const interval = parseDuration((generator.spec).refreshInterval ?? '0');
  const byInterval = interval > 0 ? now + interval : undefined;
  const byExpiry = expiresAt ? now + Math.max(1000, (expiresAt.getTime() - now) * TOKEN_LIFE_USED) : undefined;
  if (byInterval === undefined) return byExpiry;
  return byExpiry === undefined ? byInterval : Math.min(byInterval, byExpiry);
}
