// Provider change events under --shards. An event is received once, by the
// leader (it runs the queue pollers and answers the webhook), but the
// ExternalSecrets that read the changed key may be held by any replica, and
// only their holder knows them. So the leader does not look the key up: each
// event window's (store, key) pairs go out as one entry on the ring's change
// Lease (`<ring>-changes`, annotation secretsync.dev/changes), and every
// replica, the leader too, watches that Lease and refreshes the readers it
// holds. One write per window, whatever the storm; entries carry a sequence
// number, so a replica whose watch missed an update (a relist) still sees
// each entry the Lease kept. Entries stay for RETAIN_MS, which also lets a
// replica that takes buckets over replay what it received lately for them:
// the previous holder may have stopped before working on it.
import type { Logger } from 'pino';
import { SHARD_CHANGES_ANNOTATION } from '../../api/names.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { Resources } from '../../kube/types.js';
import { errorMessage } from '../../util/errors.js';
import { Informer, type InformerOptions } from '../informer.js';
import type { Lifecycle } from '../lifecycle.js';
import { Coalesced } from './coalesced.js';
import { writeAnnotatedLease, type Lease } from './lease.js';

/** A changed remote key of a store (StoreKey, remote key). */
export type Change = [store: string, key: string];

export interface ChangeEntry {
  seq: number;
  /** When the leader wrote it (its clock): for how long the Lease keeps it. */
  at: number;
  changes: Change[];
}

export const changesLeaseName = (ring: string) => `${ring}-changes`;

/** How long the Lease keeps an entry, and a replica what it received (for a replay on taking buckets over). */
export const RETAIN_MS = 60_000;
/** The annotation's budget (an object's annotations may hold 256 KiB in all). */
export const MAX_ANNOTATION_BYTES = 96 * 1024;
/** Changes one entry carries; more wait for the next write. */
export const MAX_CHANGES_PER_ENTRY = 1000;

/** The entries of the annotation; a hand-edited one that is not ours reads as none. */
export function parseEntries(text: string | undefined): ChangeEntry[] {
  if (!text) return [];
  try {
    const parsed = JSON.parse(text) as unknown;
    if (!Array.isArray(parsed)) return [];
    const isChange = (c: unknown): c is Change => Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && typeof c[1] === 'string';
    return (parsed as unknown[]).filter((e): e is ChangeEntry => {
      const entry = e as Partial<Record<keyof ChangeEntry, unknown>> | null;
      return typeof entry === 'object' && entry !== null && Number.isInteger(entry.seq) && typeof entry.at === 'number' && Array.isArray(entry.changes) && (entry.changes as unknown[]).every(isChange);
    });
  } catch {
    return [];
  }
}

/** The highest sequence number among entries (0 for none). */
const topSeq = (entries: ChangeEntry[]) => Math.max(0, ...entries.map((e) => e.seq));

/** The entries a change Lease carries. */
const entriesOf = (lease: Lease | undefined) => parseEntries(lease?.metadata.annotations?.[SHARD_CHANGES_ANNOTATION]);

/** The annotation after appending `changes` at `now`: entries older than RETAIN_MS go, then the oldest until it fits. */
export function appendEntry(current: string | undefined, changes: Change[], now: number): { text: string; seq: number } {
  const entries = parseEntries(current);
  const seq = topSeq(entries) + 1;
  const kept = entries.filter((e) => now - e.at < RETAIN_MS);
  kept.push({ seq, at: now, changes });
  let text = JSON.stringify(kept);
  while (kept.length > 1 && Buffer.byteLength(text) > MAX_ANNOTATION_BYTES) {
    kept.shift();
    text = JSON.stringify(kept);
  }
  return { text, seq };
}

export interface ChangeRelayOptions {
  namespace: string;
  ring: string;
  log: Logger;
  informer?: Partial<InformerOptions>;
  /** Refreshes the readers of these changes that this replica holds (with reads made at or after `since`); `only` narrows to some ExternalSecret keys. */
  deliver: (changes: Change[], since: number, only?: (esKey: string) => boolean) => void;
  /** Entries that went before this replica saw them (its watch fell behind by more than the Lease keeps). */
  onMissed?: (entries: number) => void;
}

export class ChangeRelay implements Lifecycle {
  private readonly lease: Informer<Lease>;
  /** The highest sequence number delivered; undefined until the Lease was first seen (older entries are not replayed then). */
  private lastSeq?: number;
  /** What was delivered lately, with when it was received here. */
  private recent: Array<{ receivedAt: number; changes: Change[] }> = [];
  private outgoing = new Map<string, Change>();
  /** The Lease as our last write left it: newer than the watch's copy until the watch catches up. */
  private written?: Lease;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private readonly publishing = new Coalesced(
    () => this.write(),
    (err) => this.opts.log.error({ err: errorMessage(err) }, 'could not relay provider change events; retrying'),
    () => this.stopped,
  );

  constructor(private readonly kube: KubeClient, private readonly opts: ChangeRelayOptions) {
    this.lease = new Informer<Lease>(kube, Resources.Lease, {
      ...opts.informer,
      log: opts.log,
      namespace: opts.namespace,
      fieldSelector: `metadata.name=${changesLeaseName(opts.ring)}`,
    });
    const seen = (lease: Lease) => this.received(lease);
    this.lease.addHandlers({ onAdd: seen, onUpdate: (_, after) => seen(after) });
  }

  async start(): Promise<void> {
    await this.lease.start();
    // What the Lease holds from before this replica joined was for the replicas of then.
    this.lastSeq = topSeq(entriesOf(this.current()));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.publishing.settled();
    await this.lease.stop();
  }

  /** The leader: sends these changes to every replica (one write at a time; what comes meanwhile goes in the next). */
  publish(changes: Change[]): void {
    for (const c of changes) this.outgoing.set(`${c[0]}\0${c[1]}`, c);
    this.publishing.ask();
  }

  /** Buckets taken over: what was received lately is delivered again, to the ExternalSecrets `only` picks. */
  replay(only: (esKey: string) => boolean): void {
    const now = Date.now();
    this.recent = this.recent.filter((r) => now - r.receivedAt < RETAIN_MS);
    for (const r of this.recent) this.opts.deliver(r.changes, r.receivedAt, only);
  }

  private current(): Lease | undefined {
    return this.lease.get(`${this.opts.namespace}/${changesLeaseName(this.opts.ring)}`);
  }

  /** The newer of the watch's copy and our last write, so that writes in a row need not wait for the watch. */
  private latest(): Lease | undefined {
    const watched = this.current();
    return this.written && topSeq(entriesOf(this.written)) > topSeq(entriesOf(watched)) ? this.written : watched;
  }

  private received(lease: Lease): void {
    if (this.lastSeq === undefined) return;
    const all = entriesOf(lease);
    // The Lease was deleted and made again: its numbering starts over.
    if (all.length > 0 && topSeq(all) < this.lastSeq) this.lastSeq = 0;
    const entries = all.filter((e) => e.seq > this.lastSeq!).sort((a, b) => a.seq - b.seq);
    if (entries.length === 0) return;
    const missed = entries[0]!.seq - this.lastSeq - 1;
    if (missed > 0) {
      this.opts.log.warn({ missed }, 'provider change events relayed while this replica was not watching are gone; their ExternalSecrets refresh on schedule');
      this.opts.onMissed?.(missed);
    }
    this.lastSeq = entries.at(-1)!.seq;
    const now = Date.now();
    // Received now, after the leader's window closed: reads made from now on see the changes.
    const changes = entries.flatMap((e) => e.changes);
    this.recent.push({ receivedAt: now, changes });
    this.recent = this.recent.filter((r) => now - r.receivedAt < RETAIN_MS);
    this.opts.deliver(changes, now);
  }

  private async write(): Promise<void> {
    if (this.outgoing.size === 0) return;
    const batch = [...this.outgoing.values()].slice(0, MAX_CHANGES_PER_ENTRY);
    const current = this.latest();
    const { text, seq } = appendEntry(current?.metadata.annotations?.[SHARD_CHANGES_ANNOTATION], batch, Date.now());
    const { namespace, ring } = this.opts;
    try {
      // Not labelled as the ring's: the ring's view (membership) need not wake for each write.
      this.written = await writeAnnotatedLease(this.kube, { namespace, name: changesLeaseName(ring) }, { [SHARD_CHANGES_ANNOTATION]: text }, current);
    } catch (err) {
      this.written = undefined;
      // A conflict (another leader wrote, or our copy was behind): the watch brings the newer one, then we write again.
      if (!(err instanceof KubeApiError && (err.status === 409 || err.status === 404))) this.opts.log.warn({ err: errorMessage(err) }, 'could not relay provider change events; retrying');
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.publishing.ask(), 200);
      return;
    }
    for (const c of batch) this.outgoing.delete(`${c[0]}\0${c[1]}`);
    this.opts.log.debug({ seq, changes: batch.length }, 'provider change events relayed to the ring');
    if (this.outgoing.size > 0) this.publishing.ask();
  }
}
