// The signed refresh webhook: `POST /hooks/refresh` with a JSON body
// `{ "id": "...", "namespace": "...", "store": "...", "key": "..." }`
// (namespace names a SecretStore; without it, a ClusterSecretStore), and
//   X-Secretsync-Timestamp: <unix seconds>
//   X-Secretsync-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">
// keyed with the `key` of a Secret the operator reads (rotating it takes
// effect within a minute). A request is refused when its signature is wrong,
// its timestamp is more than 5 minutes away, or its id was seen before: a
// captured request cannot be replayed. Refused requests are counted and
// never cause a provider read. Plain HTTP or TLS (--webhook-tls-cert/-key).
// The same port takes Azure Event Grid deliveries (azure-eventgrid.ts).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Logger } from 'pino';
import { storeKey } from '../api/store-id.js';
import type { KubeClient } from '../kube/client.js';
import { Resources, type Secret } from '../kube/types.js';
import type { AzureEventGrid } from './azure-eventgrid.js';
import type { RefreshEvents } from './refresh-events.js';
import type { Lifecycle } from '../runtime/lifecycle.js';

export const TIMESTAMP_HEADER = 'x-secretsync-timestamp';
export const SIGNATURE_HEADER = 'x-secretsync-signature';
const TOLERANCE_S = 300;
const MAX_BODY = 16 * 1024;
const KEY_TTL_MS = 60_000;
/** Ids remembered for replay checks; past this many within the tolerance, events are refused (flooding). */
const MAX_IDS = 100_000;
const SOURCE = 'webhook';

export interface WebhookOptions {
  port: number;
  bindAddress: string;
  /** The Secret holding the HMAC key under `key`. */
  keySecret: { namespace: string; name: string };
  tls?: { certFile: string; keyFile: string };
  /** Only the leader acts on events: a follower answers 503 so the sender retries (and reaches the leader). */
  isLeader: () => boolean;
  /** Azure Event Grid deliveries on POST /hooks/azure-eventgrid, when configured. */
  azureEventGrid?: AzureEventGrid;
}

/** The signature a sender puts in X-Secretsync-Signature. */
export function signRefresh(key: Uint8Array | string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', key).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class RefreshWebhook implements Lifecycle {
  private server?: Server;
  private key?: { value: Uint8Array; at: number };
  /** id -> when it may be forgotten (epoch ms). */
  private readonly seen = new Map<string, number>();

  constructor(private readonly kube: KubeClient, private readonly events: RefreshEvents, private readonly log: Logger, private readonly opts: WebhookOptions) {}

  async start(): Promise<number> {
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.handle(req, res).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'refresh webhook request failed');
      if (!res.headersSent) res.writeHead(500).end();
    });
    const { tls } = this.opts;
    this.server = tls ? createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile) }, handler) : createHttpServer(handler);
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', (err: NodeJS.ErrnoException) => reject(new Error(
        `--webhook-port ${this.opts.port}: cannot listen on ${this.opts.bindAddress}:${this.opts.port}: ${err.code === 'EADDRINUSE' ? 'the address is already in use' : err.message}`,
      )));
      this.server!.listen(this.opts.port, this.opts.bindAddress, () => resolve());
    });
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : this.opts.port;
    this.log.info({ port, tls: tls !== undefined }, 'refresh webhook listening');
    return port;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server?.closeAllConnections();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const azure = this.opts.azureEventGrid;
    if (req.method === 'POST' && req.url === '/hooks/azure-eventgrid' && azure) return this.handleAzure(azure, req, res);
    if (req.method !== 'POST' || req.url !== '/hooks/refresh') return void res.writeHead(404).end();
    const body = await readBody(req);
    if (body === undefined) {
      this.events.refused(SOURCE, 'malformed');
      return void res.writeHead(413).end('body too large\n');
    }
    const timestamp = Number(req.headers[TIMESTAMP_HEADER]);
    const signature = String(req.headers[SIGNATURE_HEADER] ?? '');
    if (!Number.isInteger(timestamp) || !(await this.signatureValid(timestamp, body, signature))) {
      this.events.refused(SOURCE, 'unauthenticated');
      return void res.writeHead(401).end('signature missing or wrong\n');
    }
    const now = Date.now();
    if (Math.abs(now / 1000 - timestamp) > TOLERANCE_S) {
      this.events.refused(SOURCE, 'replayed');
      return void res.writeHead(401).end(`timestamp more than ${TOLERANCE_S} s away\n`);
    }
    let event: { id?: unknown; namespace?: unknown; store?: unknown; key?: unknown };
    try {
      event = JSON.parse(body) as typeof event;
    } catch {
      this.events.refused(SOURCE, 'malformed');
      return void res.writeHead(400).end('body is not JSON\n');
    }
    const { id, namespace, store, key } = event;
    if (typeof id !== 'string' || !id || id.length > 256 || typeof store !== 'string' || !store || typeof key !== 'string' || !key || (namespace !== undefined && typeof namespace !== 'string')) {
      this.events.refused(SOURCE, 'malformed');
      return void res.writeHead(400).end('need id, store and key (strings), and namespace for a SecretStore\n');
    }
    this.forgetOld(now);
    if (this.seen.has(id) || this.seen.size >= MAX_IDS) {
      this.events.refused(SOURCE, 'replayed');
      return void res.writeHead(409).end('id seen before\n');
    }
    if (!this.opts.isLeader()) return void res.writeHead(503, { 'Retry-After': '1' }).end('not the leader\n');
    this.seen.set(id, now + 2 * TOLERANCE_S * 1000);
    const result = this.events.changed({
      stores: [namespace ? storeKey({ kind: 'SecretStore', namespace, name: store }) : storeKey({ kind: 'ClusterSecretStore', name: store })],
      keys: [key],
      source: SOURCE,
    });
    res.writeHead(202, { 'Content-Type': 'application/json' }).end(`${JSON.stringify({ result })}\n`);
  }

  private async handleAzure(azure: AzureEventGrid, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    if (body === undefined) {
      this.events.refused('azure-eventgrid', 'malformed');
      return void res.writeHead(413).end();
    }
    if (!this.opts.isLeader()) return void res.writeHead(503, { 'Retry-After': '1' }).end();
    const answer = await azure.handle(req.headers.authorization, body);
    res.writeHead(answer.status, answer.body ? { 'Content-Type': 'application/json' } : {}).end(answer.body ? JSON.stringify(answer.body) : undefined);
  }

  private async signatureValid(timestamp: number, body: string, signature: string): Promise<boolean> {
    const expected = Buffer.from(signRefresh(await this.hmacKey(), timestamp, body));
    const given = Buffer.from(signature);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async hmacKey(): Promise<Uint8Array> {
    if (this.key && Date.now() - this.key.at < KEY_TTL_MS) return this.key.value;
    const { namespace, name } = this.opts.keySecret;
    const secret = await this.kube.getOrUndefined<Secret>(Resources.Secret, namespace, name);
    const encoded = secret?.data?.key;
    if (!encoded) throw new Error(`the webhook key Secret ${namespace}/${name} has no "key"`);
    this.key = { value: Buffer.from(encoded, 'base64'), at: Date.now() };
    return this.key.value;
  }

  private forgetOld(now: number): void {
    for (const [id, until] of this.seen) {
      if (until > now) break; // insertion order is expiry order
      this.seen.delete(id);
    }
  }
}

async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
