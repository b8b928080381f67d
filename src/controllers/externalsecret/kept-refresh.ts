// A due refresh that keeps the Secret as it is, without reading a value:
// leases recorded on the Secret are renewed in place, or the provider confirms
// the versions the last sync recorded are still current. Status records the
// refresh and the next one; anything else falls through to a full sync.
import type { ExternalSecret, ExternalSecretStatus } from '../../api/types.js';
import { Reason } from '../../api/reasons.js';
import { OWNER_ANNOTATION } from '../../api/names.js';
import type { KubeObject } from '../../kube/types.js';
import type { SourceInfo } from '../../providers/provider.js';
import type { ReadOptions, StoreClient } from '../../providers/store-client.js';
import type { ReconcileContext, ReconcileResult } from '../../runtime/controller.js';
import type { Metrics } from '../../runtime/metrics.js';
import { dateOf, recordSource } from '../../secrets/status-sources.js';
import { recordedLeases } from './leases.js';
import { recordedVersions } from './recorded-versions.js';
import type { RefreshBeats } from './refresh-beat.js';
import { nextRefresh, requeueAtNextRefresh } from './refresh-schedule.js';
import type { StatusWriter } from './status-writer.js';
import { syncedCondition } from './synced-condition.js';

export class KeptRefresh {
  constructor(
    private readonly status: StatusWriter,
    private readonly beats: RefreshBeats,
    private readonly metrics: Metrics,
  ) {}

  /** The refresh's outcome when the Secret can stay as it is; undefined when a full sync must follow. */
  async attempt(es: ExternalSecret, cached: KubeObject | undefined, client: StoreClient, intervalMs: number, now: number, readOptions: ReadOptions, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    return (await this.renewInPlace(es, cached, client, intervalMs, now, ctx)) ?? (await this.confirmUnchanged(es, cached, client, intervalMs, now, readOptions, ctx));
  }

  /**
   * A due refresh of an ExternalSecret whose every source is a lease recorded
   * on its Secret (by this process or an earlier one): renew the leases and
   * keep the Secret as it is, instead of minting new credentials. Undefined
   * when that does not apply or a lease cannot be renewed (a full sync follows).
   */
  private async renewInPlace(es: ExternalSecret, cached: KubeObject | undefined, client: StoreClient, intervalMs: number, now: number, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    const recorded = cached?.metadata.annotations?.[OWNER_ANNOTATION] === es.metadata.name ? recordedLeases(cached) : [];
    const sources = es.status?.sources ?? [];
    const onlyLeases = sources.length > 0 && sources.every((s) => recorded.some((l) => l.key === s.key));
    // Templates may read ConfigMaps and Secrets that changed since: those ExternalSecrets render again.
    if (!onlyLeases || (es.spec.target?.template?.templateFrom?.length ?? 0) > 0) return undefined;
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    const ends = await client.renewLeases(recorded, { signal: ctx.signal, log: ctx.log, consumer: key });
    if (ends.some((end) => end === undefined)) return undefined;
    const endOf = new Map(recorded.map((l, i) => [l.key, ends[i]!]));
    const renewed: SourceInfo[] = sources.map((s) => ({ key: s.key, version: s.version, leaseEndsAt: endOf.get(s.key), rotatesAt: dateOf(s.rotatesAt) }));
    ctx.log.debug({ leases: recorded.length }, 'renewed the recorded leases; the Secret stays as it is');
    return this.keepSecret(es, renewed, client, intervalMs, now);
  }

  /**
   * A due refresh whose remote secrets the provider confirms, without reading
   * values, are still at the versions the last sync recorded, and whose
   * Secret is as that sync left it: the Secret stays and only the schedule
   * moves. Undefined when that cannot be confirmed (a full sync follows,
   * which also reports any error the confirmation met).
   */
  private async confirmUnchanged(es: ExternalSecret, cached: KubeObject | undefined, client: StoreClient, intervalMs: number, now: number, readOptions: ReadOptions, ctx: ReconcileContext): Promise<ReconcileResult | undefined> {
    if (!client.knowsVersions) return undefined;
    const recorded = recordedVersions(es, cached);
    if (!recorded) return undefined;
    const checks = [...recorded].map(([key, version]) => client.currentVersion(key, readOptions).then((current) => current === version, () => false));
    if (!(await Promise.all(checks)).every(Boolean)) return undefined;
    ctx.log.debug({ sources: recorded.size }, 'remote versions unchanged; the Secret stays as it is');
    // As recorded (recordedVersions allows no expiry dates).
    const sources = (es.status?.sources ?? []).map((s) => ({ key: s.key, version: s.version, rotatesAt: dateOf(s.rotatesAt) }));
    return this.keepSecret(es, sources, client, intervalMs, now);
  }

  /** The refresh keeps the Secret as it is: status records the refresh and the next one. */
  private async keepSecret(es: ExternalSecret, sources: SourceInfo[], client: StoreClient, intervalMs: number, now: number): Promise<ReconcileResult> {
    const schedule = nextRefresh(intervalMs, sources, now, Math.random, this.beats.dueFor(client, intervalMs, now));
    const status: ExternalSecretStatus = {
      ...es.status,
      refreshTime: new Date(now).toISOString(),
      nextRefreshTime: schedule.delayMs !== undefined ? new Date(now + schedule.delayMs).toISOString() : undefined,
      sources: sources.map(recordSource),
      conditions: [syncedCondition(es, [], now)],
    };
    await this.status.write(es, status);
    this.metrics.syncs.inc({ reason: Reason.Synced });
    return requeueAtNextRefresh({ ...es, status }, now) ?? {};
  }
}
