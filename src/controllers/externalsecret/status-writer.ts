// ExternalSecret status writes: only when status changed, carrying the
// restart status forward (restart-status.ts), and remembering the object the
// write returned until the cache catches up, so the next reconcile does not
// act on the status it has just replaced.
import type { ExternalSecret, ExternalSecretStatus } from '../../api/types.js';
import { KubeApiError, type KubeClient } from '../../kube/client.js';
import { clean, statusChanged } from '../../kube/status.js';
import { Resources } from '../../kube/types.js';
import type { Informer } from '../../runtime/informer.js';
import type { RestartStatus } from './restart-status.js';

export class StatusWriter {
  /** ExternalSecret key -> the object our last status write returned, until the cache catches up. */
  private readonly written = new Map<string, { staleVersion: string | undefined; fresh: ExternalSecret }>();

  constructor(
    private readonly kube: KubeClient,
    private readonly externalSecrets: Informer<ExternalSecret>,
    private readonly restarts: RestartStatus,
  ) {}

  /** The cached object, or the newer one our own status write returned. */
  current(key: string): ExternalSecret | undefined {
    const cached = this.externalSecrets.get(key);
    const written = this.written.get(key);
    if (!cached || !written) return cached;
    if (cached.metadata.resourceVersion === written.staleVersion) return written.fresh;
    this.written.delete(key);
    return cached;
  }

  /** The cache has caught up with this ExternalSecret: our copy of a status write is no longer needed. */
  cacheUpdated(key: string, resourceVersion: string | undefined): void {
    const written = this.written.get(key);
    if (written && written.staleVersion !== resourceVersion) this.written.delete(key);
  }

  forget(key: string): void {
    this.written.delete(key);
  }

  async write(es: ExternalSecret, next: ExternalSecretStatus): Promise<void> {
    const { status, outcome } = this.restarts.apply(es, next);
    // A restart outcome is done with once status holds it (kept for the retry if the write fails).
    if (!statusChanged(es.status, status)) return this.restarts.recorded(es, outcome);
    try {
      const fresh = await this.kube.patchStatus<ExternalSecret>(Resources.ExternalSecret, es, clean(status));
      this.restarts.recorded(es, outcome);
      // Held only until the cache catches up (cacheUpdated), unless it already has; managedFields are never read.
      const key = `${es.metadata.namespace}/${es.metadata.name}`;
      if (this.externalSecrets.get(key)?.metadata.resourceVersion !== fresh.metadata.resourceVersion) {
        delete fresh.metadata.managedFields;
        this.written.set(key, { staleVersion: es.metadata.resourceVersion, fresh });
      }
    } catch (err) {
      if (err instanceof KubeApiError && err.status === 404) return;
      throw err;
    }
  }
}
