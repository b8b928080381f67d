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
import { FIELD_MANAGER, isConflict, KubeApiError, type KubeClient } from '../../kube/client.js';
import { Reason } from '../../api/reasons.js';
import { HASH_ANNOTATION, MANAGED_LABEL, OWNER_ANNOTATION } from '../../api/names.js';
import type { ExternalSecret } from '../../api/types.js';
import { Resources, type KubeObject, type Secret } from '../../kube/types.js';
import { dataHash, decodeSecretData, sameHash, type HmacKey } from './data-hash.js';
import { creationPolicy, mergeRefusedFor, metadataMatches, type DesiredSecret } from './desired-secret.js';
import { kubeStep } from './errors.js';
import { SyncError } from './sync-error.js';

export interface WriteResult {
  operation?: 'create' | 'update';
  /** The Secret's resourceVersion after the write or check. */
  resourceVersion?: string;
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
      throw new SyncError(Reason.SecretNotOwned, `Secret "${name}" already exists and is not managed by secretsync; use creationPolicy Merge to add keys to it, or another target name`, false);
    }
    const unchanged = managed && sameHash(current.metadata.annotations?.[HASH_ANNOTATION], desired.hash) && metadataMatches(current.metadata, desired.body);
    if (unchanged && (await this.intact(es, current, desired))) return { resourceVersion: current.metadata.resourceVersion };
    await this.upgradeOwnership(current);
    const result = await kubeStep(`writing Secret "${name}"`, () => this.kube.apply(Resources.Secret, desired.body), Reason.SyncedError);
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

  private remember(secretKey: string, operation: 'create' | 'update', written: KubeObject): WriteResult {
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
