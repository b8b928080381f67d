// Start-up requests outlast an API server that is away for a moment.
import type { Logger } from 'pino';
import { KubeApiError } from './client.js';

/**
 * Runs a start-up request again while the API server cannot be reached or
 * answers 5xx/429 (a restart, a rollout of the control plane), instead of
 * exiting into a crash loop; a refusal (403, 404, ...) fails at once, and so
 * does any failure once `stopping` says so.
 */
export async function whileApiServerAway<T>(request: () => Promise<T>, opts: { stopping: () => boolean; log: Logger }): Promise<T> {
  for (let delay = 500; ; delay = Math.min(delay * 2, 10_000)) {
    try {
      return await request();
    } catch (err) {
      const status = err instanceof KubeApiError ? err.status : undefined;
      if (opts.stopping() || (status !== undefined && status < 500 && status !== 429)) throw err;
      opts.log.warn({ err: (err as Error).message, retryInMs: delay }, 'API server not answering at start; retrying');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
