// The target Secret: whether it still holds what we wrote, and writing it
// with as few requests as the safety rules allow.
//
// - A Secret that is not in our cache (it holds only managed Secrets) is
//   created with one POST; a 409 says it exists and is not ours (or our cache
//   lags), and only then is it read to find out which.
// - A create records our fields as an Update by manager `secretsync`;
//   server-side apply only removes fields it owns as Apply. So before the
//   first apply to such a Secret its entry is turned into an Apply entry (one
//   conditional JSON patch, once per Secret), and a key that goes away later
//   really goes.
// - Whether the data is intact is free when the Secret's resourceVersion is
//   the one we last wrote or verified (remembered here, and in the
//   ExternalSecret's status so a restart knows it too); otherwise one GET.
// - The watch brings our own writes back, often before the write's answer:
//   those need no reconcile; any other version seen meanwhile queues one.
// - A Secret External Secrets Operator wrote is taken over in place when the
//   ExternalSecret asks for it (eso-takeover.ts); ESO writing it back later
//   is taken over again only after a growing wait (eso-retakes.ts).
import { FIELD_MANAGER, isConflict, KubeApiError, type KubeClient } from '../../kube/client.js';
import { Reason } from '../../api/reasons.js';
import { carriesEsoMarks, ESO_MANAGED_LABEL } from '../../api/eso.js';
import { ADOPT_ESO_ANNOTATION, HASH_ANNOTATION, MANAGED_LABEL, OWNER_ANNOTATION } from '../../api/names.js';
import type { ExternalSecret } from '../../api/types.js';
import { Resources, type KubeObject, type Secret } from '../../kube/types.js';
import { dataHash, decodeSecretData, sameHash, type HmacKey } from '../../secrets/data-hash.js';
import { creationPolicy, mergeRefusedFor, metadataMatches, type DesiredSecret } from '../../secrets/desired-secret.js';
import { kubeStep } from '../../secrets/errors.js';
import { EsoRetakes } from './eso-retakes.js';
import { takeoverPatch, takeoverRefusal } from './eso-takeover.js';
import { SyncError } from '../../secrets/sync-error.js';

export interface WriteResult {
  operation?: 'create' | 'update' | 'adopt';
  /** The Secret's resourceVersion after the write or check. */
  resourceVersion?: string;
  /** A takeover from External Secrets Operator: who it was taken from, and whether the data changed. */
  adopted?: { from: string[]; dataChanged: boolean };
}

export class TargetSecrets {
  /** Secret key -> the resourceVersion whose data we wrote or verified. */
  private readonly verified = new Map<string, string>();
  /** Secret key -> the resourceVersions its events brought while our write to it was in flight. */
  private readonly writing = new Map<string, Array<string | undefined>>();

  constructor(
    private readonly kube: KubeClient,
    private readonly hmacKey: HmacKey,
    /** Queues a reconcile for a change to the Secret that was not ours. */
    private readonly changedElsewhere: (secretKey: string) => void,
    private readonly retakes = new EsoRetakes(),
  ) {}

  /**
   * True when an event brings nothing to reconcile: the Secret is at a
   * resourceVersion we wrote or verified, or our write to it is in flight
   * (it decides when it returns: any other version queues a reconcile).
   */
  holdsOurs(secretKey: string, resourceVersion: string | undefined): boolean {
    const seen = this.writing.get(secretKey);
    if (seen) {
      seen.push(resourceVersion);
      return true;
    }
    return resourceVersion !== undefined && this.verified.get(secretKey) === resourceVersion;
  }

  /** A managed Secret is gone: nothing about it needs remembering. */
  forget(secretKey: string): void {
    this.verified.delete(secretKey);
    this.retakes.forget(secretKey);
  }

  /**
   * Whether the Secret still holds what we wrote: free when its
   * resourceVersion is one we wrote or checked; otherwise one GET. With
   * `desired` the comparison is on our keys only (Merge: others may add keys).
   */
  async intact(es: ExternalSecret, cached: KubeObject, desired?: DesiredSecret): Promise<boolean> {
    const policy = creationPolicy(es);
    const { namespace, name, resourceVersion } = cached.metadata;
    const secretKey = `${namespace}/${name}`;
    if (resourceVersion && (this.verified.get(secretKey) === resourceVersion || es.status?.binding?.resourceVersion === resourceVersion)) return true;
    if (policy === 'Merge' && !desired) return false;
    const full = await kubeStep(`reading Secret "${name}" to check it for changes`, () => this.kube.getOrUndefined<Secret>(Resources.Secret, namespace, name));
    if (!full) return false;
    let ok: boolean;
    if (desired) {
      ok = (policy === 'Merge' || (full.type ?? 'Opaque') === desired.body.type) &&
        Object.entries(desired.body.data ?? {}).every(([k, v]) => full.data?.[k] === v);
    } else {
      ok = sameHash(cached.metadata.annotations?.[HASH_ANNOTATION], dataHash(this.hmacKey, full.type ?? 'Opaque', decodeSecretData(full.data)));
    }
    if (ok && full.metadata.resourceVersion) this.verified.set(secretKey, full.metadata.resourceVersion);
    return ok;
  }

  /** Writes the Secret unless it already holds what is desired. */
  async write(es: ExternalSecret, desired: DesiredSecret, cached: KubeObject | undefined): Promise<WriteResult> {
    const secretKey = `${desired.body.metadata.namespace}/${desired.body.metadata.name}`;
    const seen: Array<string | undefined> = [];
    this.writing.set(secretKey, seen);
    let written: WriteResult | undefined;
    try {
      written = await this.writeNow(es, desired, cached, secretKey);
      return written;
    } finally {
      if (this.writing.get(secretKey) === seen) this.writing.delete(secretKey);
      if (seen.some((rv) => rv === undefined || rv !== written?.resourceVersion)) this.changedElsewhere(secretKey);
    }
  }

  private async writeNow(es: ExternalSecret, desired: DesiredSecret, cached: KubeObject | undefined, secretKey: string): Promise<WriteResult> {
    const policy = creationPolicy(es);
    const { name, namespace } = desired.body.metadata;
    let current: KubeObject | undefined = cached;
    if (!current && policy !== 'Merge') {
      const created = await this.createIfAbsent(desired);
      if (created) return this.remember(secretKey, 'create', created);
    }
    current ??= await kubeStep(`reading Secret "${name}"`, () => this.kube.getOrUndefined<Secret>(Resources.Secret, namespace, name));
    if (!current) {
      if (policy === 'Merge') throw new SyncError(Reason.SecretMissing, `creationPolicy Merge needs an existing Secret "${name}"`, true);
      // Deleted between our create and read: create on the next try.
      throw new SyncError(Reason.SyncedError, `Secret "${name}" disappeared while it was being written`, true);
    }
    const managed = current.metadata.labels?.[MANAGED_LABEL] === 'true';
    const owner = current.metadata.annotations?.[OWNER_ANNOTATION];
    if (managed && owner !== es.metadata.name) {
      throw new SyncError(Reason.SecretNotOwned, `Secret "${name}" is managed by ExternalSecret "${owner ?? 'unknown'}"`, false);
    }
    const type = (current as Secret).type;
    if (policy === 'Merge' && mergeRefusedFor(type)) {
      throw new SyncError(Reason.SecretNotOwned, `Secret "${name}" is of type ${type}, which secretsync never merges keys into`, false);
    }
    if (!managed && policy !== 'Merge') {
      if (current.metadata.labels?.[ESO_MANAGED_LABEL] === 'true') return this.takeOver(es, desired, current, secretKey);
      throw new SyncError(Reason.SecretNotOwned, `Secret "${name}" already exists and is not managed by secretsync; use creationPolicy Merge to add keys to it, or another target name`, false);
    }
    if (policy !== 'Merge' && carriesEsoMarks(current)) return this.retake(desired, secretKey);
    const unchanged = managed && sameHash(current.metadata.annotations?.[HASH_ANNOTATION], desired.hash) && metadataMatches(current.metadata, desired.body);
    if (unchanged && (await this.intact(es, current, desired))) return { resourceVersion: current.metadata.resourceVersion };
    await this.upgradeOwnership(current);
    const result = await kubeStep(`writing Secret "${name}"`, () => this.kube.apply(Resources.Secret, desired.body), Reason.SyncedError);
    return this.remember(secretKey, 'update', result);
  }

  /**
   * The first takeover of a Secret External Secrets Operator wrote: refused
   * without the ExternalSecret's consent (the annotation), or when something
   * other than ESO controls the Secret; otherwise one conditional patch.
   */
  private async takeOver(es: ExternalSecret, desired: DesiredSecret, current: Secret, secretKey: string): Promise<WriteResult> {
    const name = current.metadata.name;
    const refusal = takeoverRefusal(current, es.metadata.annotations?.[ADOPT_ESO_ANNOTATION] === 'true');
    if (refusal) throw refusal;
    const type = current.type ?? 'Opaque';
    if (desired.body.type !== undefined && desired.body.type !== type) {
      throw new SyncError(
        Reason.SecretNotOwned,
        `Secret "${name}" is of type ${type} and this ExternalSecret writes type ${desired.body.type}; a Secret's type cannot change in place, so it is not taken over: set spec.target.template.type to ${type}`,
        false,
      );
    }
    const takeover = takeoverPatch(current, desired.body);
    const result = await kubeStep(`taking over Secret "${name}" from External Secrets Operator`, () =>
      this.kube.jsonPatch<Secret>(Resources.Secret, current.metadata.namespace, name, takeover.ops), Reason.SyncedError);
    return { ...this.remember(secretKey, 'adopt', result), adopted: { from: takeover.from, dataChanged: takeover.dataChanged } };
  }

  /**
   * ESO wrote a Secret we took over back: it still runs. Taken over again,
   * but only once the wait since the last time has passed; until then the
   * Secret is left as it is, the ExternalSecret says why, and it is
   * reconciled again when the wait ends.
   */
  private async retake(desired: DesiredSecret, secretKey: string): Promise<WriteResult> {
    const { name, namespace } = desired.body.metadata;
    const now = Date.now();
    const gate = this.retakes.check(secretKey, now);
    const stop = 'stop External Secrets Operator or delete its ExternalSecret with --cascade=orphan';
    if (!gate.due) {
      throw new SyncError(Reason.EsoRunning, `External Secrets Operator wrote Secret "${name}" back after secretsync took it over, so it is still running; ${stop}. secretsync takes it over again at ${new Date(gate.at).toISOString()}`, true, { retryAfterMs: gate.at - now });
    }
    const full = await kubeStep(`reading Secret "${name}"`, () => this.kube.getOrUndefined<Secret>(Resources.Secret, namespace, name));
    if (!full) throw new SyncError(Reason.SyncedError, `Secret "${name}" disappeared while it was being written`, true);
    const takeover = takeoverPatch(full, desired.body);
    const result = await kubeStep(`taking over Secret "${name}" again from External Secrets Operator`, () =>
      this.kube.jsonPatch<Secret>(Resources.Secret, namespace, name, takeover.ops), Reason.SyncedError);
    this.retakes.retaken(secretKey, now);
    // In sync again; if ESO writes it back once more, the next retake waits twice as long.
    return this.remember(secretKey, 'update', result);
  }

  /** Deletes the Secret if it is the ExternalSecret's; says whether it did. */
  async delete(es: ExternalSecret, cached: KubeObject | undefined): Promise<boolean> {
    if (!cached || cached.metadata.annotations?.[OWNER_ANNOTATION] !== es.metadata.name) return false;
    const { namespace, name, uid } = cached.metadata;
    await kubeStep(`deleting Secret "${name}"`, () => this.kube.delete(Resources.Secret, namespace, name, { uid }));
    this.forget(`${namespace}/${name}`);
    return true;
  }

  private remember(secretKey: string, operation: 'create' | 'update' | 'adopt', written: KubeObject): WriteResult {
    const resourceVersion = written.metadata.resourceVersion;
    if (resourceVersion) this.verified.set(secretKey, resourceVersion);
    return { operation, resourceVersion };
  }

  /** One POST; undefined when a Secret of that name already exists. */
  private async createIfAbsent(desired: DesiredSecret): Promise<Secret | undefined> {
    try {
      return await this.kube.create(Resources.Secret, desired.body, FIELD_MANAGER);
    } catch (err) {
      if (isConflict(err)) return undefined;
      throw new SyncError(Reason.SyncedError, `creating Secret "${desired.body.metadata.name}" failed: ${(err as Error).message}`, true, { cause: err });
    }
  }

  /** Our create left an Update entry: make it an Apply entry so the apply that follows owns (and can remove) those fields. */
  private async upgradeOwnership(current: KubeObject): Promise<void> {
    const { namespace, name } = current.metadata;
    const index = (current.metadata.managedFields ?? []).findIndex((m) => m.manager === FIELD_MANAGER && m.operation === 'Update');
    if (index < 0) return;
    const at = `/metadata/managedFields/${index}`;
    const ops = [
      { op: 'test', path: `${at}/manager`, value: FIELD_MANAGER },
      { op: 'test', path: `${at}/operation`, value: 'Update' },
      { op: 'replace', path: `${at}/operation`, value: 'Apply' },
    ];
    try {
      await this.kube.jsonPatch(Resources.Secret, namespace, name, ops);
    } catch (err) {
      // The entries moved (someone else wrote): the cache will catch up, and the next try sees them.
      const detail = err instanceof KubeApiError ? err.message : String(err);
      throw new SyncError(Reason.SyncedError, `taking over the fields of Secret "${name}" for server-side apply failed: ${detail}`, true, { cause: err });
    }
  }
}
