// The webhook test server's admin API: secrets (each write a new version),
// bearer tokens, throttling and request counts.
import { AdminClient } from '../shared/admin-client.js';

export class WebhookAdmin extends AdminClient {
  /** Writes a new version of a secret; returns its version. */
  async put(key: string, value: string): Promise<string> {
    return ((await this.call('POST', 'secrets', { key, value })) as { version: string }).version;
  }

  remove(key: string): Promise<unknown> {
    return this.call('POST', 'delete', { key });
  }

  /** A bearer token the API accepts: scope read reads, scope none is refused (403). */
  token(token: string, scope: 'read' | 'none' = 'read'): Promise<unknown> {
    return this.call('POST', 'tokens', { token, scope });
  }

  /** Answers 429 with Retry-After for the next `seconds`. */
  throttle(seconds: number): Promise<unknown> {
    return this.call('POST', 'throttle', { seconds });
  }

  /** Requests to one route (e.g. /api/v1/lookup), so tests sharing the server count only their own. */
  async routeRequests(route: string): Promise<number> {
    return ((await this.call('GET', 'stats')) as { byRoute: Record<string, number> }).byRoute[route] ?? 0;
  }

  async requests(): Promise<number> {
    return ((await this.call('GET', 'stats')) as { requests: number }).requests;
  }
}
