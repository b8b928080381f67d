// The Conjur test server: the Conjur API (conjur.ts) over HTTPS with the test
// CA, and an admin API under /__admin/ (guarded by a key) through which tests
// create hosts and users, variables, permissions and authn-jwt services, set
// the access token lifetime and read request counts.
import { randomBytes, timingSafeEqual, type JsonWebKey } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { testTls } from '../shared/tls.js';
import { body, json, TestConjur, type JwtService } from './conjur.js';

export interface ConjurServerOptions {
  tlsDir: string;
  account: string;
  port?: number;
  /** The kube-apiserver's published ServiceAccount signing keys (authn-jwt). */
  kubeJwks: () => Promise<JsonWebKey[]>;
  adminKey?: string;
}

export interface ConjurTestServer {
  url: string;
  account: string;
  caFile: string;
  adminKey: string;
  conjur: TestConjur;
  close(): Promise<void>;
}

export interface AdminVariable {
  id: string;
  /** Versions, oldest first (base64). */
  values?: string[];
  annotations?: Record<string, string>;
  /** login -> read (sees it) or execute (fetches it too). */
  permissions?: Record<string, 'read' | 'execute'>;
}

export async function startConjurServer(opts: ConjurServerOptions): Promise<ConjurTestServer> {
  const tls = testTls(opts.tlsDir);
  const conjur = new TestConjur(opts.account, opts.kubeJwks);
  const adminKey = opts.adminKey ?? randomBytes(16).toString('hex');

  const admin = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const given = Buffer.from(String(req.headers['x-admin-key'] ?? ''));
    if (given.length !== adminKey.length || !timingSafeEqual(given, Buffer.from(adminKey))) return json(res, 401, { error: 'admin key required' });
    const input = req.method === 'POST' ? (JSON.parse((await body(req)).toString('utf8') || '{}') as Record<string, unknown>) : {};
    if (path === 'roles') {
      const role = conjur.addRole(String(input.login), (input.annotations ?? {}) as Record<string, string>);
      return json(res, 200, { login: role.login, apiKey: role.apiKey });
    }
    if (path === 'variables') {
      const v = input as unknown as AdminVariable;
      conjur.addVariable(v.id, v.annotations);
      let version = 0;
      for (const value of v.values ?? []) version = conjur.addValue(v.id, Buffer.from(value, 'base64'));
      for (const [login, privilege] of Object.entries(v.permissions ?? {})) conjur.permit(login, v.id, privilege);
      return json(res, 200, { version });
    }
    if (path === 'jwt-services') {
      conjur.addJwtService(input as unknown as JwtService);
      return json(res, 200, {});
    }
    if (path === 'token-ttl') {
      conjur.tokenTtlSeconds = Number(input.seconds);
      return json(res, 200, {});
    }
    if (path === 'revoke-tokens') {
      conjur.rotateSigningKey();
      return json(res, 200, {});
    }
    if (path === 'stats') return json(res, 200, { requests: conjur.total(), byOperation: Object.fromEntries(conjur.counts) });
    return json(res, 404, { error: `unknown admin path ${path}` });
  };

  let base = '';
  const https = createServer({ cert: tls.certPem, key: tls.keyPem, keepAliveTimeout: 30_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const run = () => (url.pathname.startsWith('/__admin/') ? admin(req, res, url.pathname.slice('/__admin/'.length)) : conjur.handle(req, res, url));
    run().catch((err: unknown) => json(res, 500, { error: { code: 'internal_server_error', message: String(err) } }));
  });
  const port = await new Promise<number>((resolve, reject) => {
    https.once('error', reject);
    https.listen(opts.port ?? 0, '127.0.0.1', () => resolve((https.address() as AddressInfo).port));
  });
  base = `https://127.0.0.1:${port}`;
  return {
    url: base,
    account: opts.account,
    caFile: tls.caFile,
    adminKey,
    conjur,
    async close() {
      https.closeAllConnections();
      await new Promise((resolve) => https.close(resolve));
    },
  };
}
