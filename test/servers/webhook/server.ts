// The webhook test server: a small in-house secrets API over HTTPS (the test
// CA), the kind of JSON service a webhook store reads. Bearer tokens with a
// scope guard it; an admin API under /__admin/ (guarded by a key) sets
// secrets, tokens and throttling and reads request counts.
//   GET  /api/v1/secrets/{key}[?version=N]  -> {"secret": {"name", "version", "value"}}
//   POST /api/v1/lookup {"key", "version"?}  -> the same answer
//   GET  /api/v1/items?prefix=P              -> {"items": [{"name", "version", "value"}, ...]}
//   GET  /api/v1/redirect?to=URL             -> 302 to URL
//   GET  /api/v1/huge                        -> an answer larger than any Secret
//   GET  /api/v1/slow?ms=N                   -> {"secret": {"value": "late"}} after N ms
// Every API route answers 401 without a known token, 403 for a token whose
// scope is "none", and 429 with Retry-After while throttled.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { json, readBody } from '../shared/http.js';
import { testTls } from '../shared/tls.js';

export interface WebhookServerOptions {
  tlsDir: string;
  port?: number;
  adminKey?: string;
}

export interface WebhookTestServer {
  url: string;
  caFile: string;
  adminKey: string;
  close(): Promise<void>;
}

interface Version {
  version: number;
  value: string;
}

export async function startWebhookServer(opts: WebhookServerOptions): Promise<WebhookTestServer> {
  const tls = testTls(opts.tlsDir);
  const adminKey = opts.adminKey ?? randomBytes(16).toString('hex');
  const secrets = new Map<string, Version[]>();
  const tokens = new Map<string, 'read' | 'none'>();
  const stats = { requests: 0, byRoute: {} as Record<string, number> };
  let throttledUntil = 0;

  const answer = (res: ServerResponse, key: string, version: string | null) => {
    const versions = secrets.get(key);
    const found = versions && (version ? versions.find((v) => String(v.version) === version) : versions.at(-1));
    if (!found) return json(res, 404, { error: `secret ${key}${version ? ` version ${version}` : ''} not found` });
    json(res, 200, { secret: { name: key, version: String(found.version), value: found.value } });
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const given = Buffer.from(String(req.headers['x-admin-key'] ?? ''));
    if (given.length !== adminKey.length || !timingSafeEqual(given, Buffer.from(adminKey))) return json(res, 401, { error: 'admin key required' });
    const input = req.method === 'POST' ? (JSON.parse((await readBody(req)).toString('utf8') || '{}') as Record<string, unknown>) : {};
    if (path === 'secrets') {
      const key = String(input.key);
      const versions = secrets.get(key) ?? [];
      versions.push({ version: versions.length + 1, value: String(input.value) });
      secrets.set(key, versions);
      return json(res, 200, { version: String(versions.length) });
    }
    if (path === 'delete') {
      secrets.delete(String(input.key));
      return json(res, 200, {});
    }
    if (path === 'tokens') {
      tokens.set(String(input.token), input.scope === 'none' ? 'none' : 'read');
      return json(res, 200, {});
    }
    if (path === 'throttle') {
      throttledUntil = Date.now() + Number(input.seconds ?? 0) * 1000;
      return json(res, 200, {});
    }
    if (path === 'stats') return json(res, 200, stats);
    json(res, 404, { error: 'no such admin route' });
  };

  const api = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const route = url.pathname.split('/').slice(0, 4).join('/');
    stats.requests++;
    stats.byRoute[route] = (stats.byRoute[route] ?? 0) + 1;
    if (Date.now() < throttledUntil) return json(res, 429, { error: 'slow down' }, { 'retry-after': '1' });
    const token = /^Bearer (.+)$/.exec(String(req.headers.authorization ?? ''))?.[1];
    const scope = token === undefined ? undefined : tokens.get(token);
    if (!scope) return json(res, 401, { error: 'unauthenticated' });
    if (scope === 'none') return json(res, 403, { error: 'forbidden' });
    if (req.method === 'GET' && url.pathname.startsWith('/api/v1/secrets/')) {
      return answer(res, decodeURIComponent(url.pathname.slice('/api/v1/secrets/'.length)), url.searchParams.get('version'));
    }
    if (req.method === 'POST' && url.pathname === '/api/v1/lookup') {
      let input: { key?: string; version?: string };
      try {
        input = JSON.parse((await readBody(req)).toString('utf8')) as typeof input;
      } catch {
        return json(res, 400, { error: 'body is not JSON' });
      }
      return answer(res, String(input.key), input.version ? String(input.version) : null);
    }
    if (req.method === 'GET' && url.pathname === '/api/v1/items') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const items = [...secrets].filter(([k]) => k.startsWith(prefix)).map(([name, v]) => ({ name, version: String(v.at(-1)!.version), value: v.at(-1)!.value }));
      return json(res, 200, { items });
    }
    if (url.pathname === '/api/v1/redirect') {
      res.writeHead(302, { location: url.searchParams.get('to') ?? '/' });
      return res.end();
    }
    if (url.pathname === '/api/v1/slow') {
      const timer = setTimeout(() => json(res, 200, { secret: { value: 'late' } }), Number(url.searchParams.get('ms') ?? 0));
      req.socket.once('close', () => clearTimeout(timer));
      return;
    }
    if (url.pathname === '/api/v1/huge') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"secret":{"value":"');
      const chunk = 'x'.repeat(64 * 1024);
      for (let i = 0; i < 96 && !res.destroyed; i++) res.write(chunk);
      return res.end('"}}');
    }
    json(res, 404, { error: 'no such route' });
  };

  const server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const handle = url.pathname.startsWith('/__admin/') ? admin(req, res, url.pathname.slice('/__admin/'.length)) : api(req, res, url);
    handle.catch((err: unknown) => json(res, 500, { error: (err as Error).message }));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    caFile: tls.caFile,
    adminKey,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
