// The Azure test servers in one process: Key Vault, Entra ID and a Container
// Registry token service on one HTTPS port (the vault at the root, the token
// service under /<tenant>/..., the registry under /oauth2/), IMDS on
// a plain-HTTP port like the real 169.254.169.254, and an admin API under
// /__admin/ (guarded by a key) through which tests register applications,
// identities and permissions, inject throttling and read request counts.
import { randomBytes, timingSafeEqual, type JsonWebKey } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { body, json, TestEntra, type AppRegistration, type ManagedIdentity } from './entra.js';
import { testTls } from '../shared/tls.js';
import { TestContainerRegistry } from './registry.js';
import { TestKeyVault, type Permissions } from './vault.js';

export interface AzureServerOptions {
  /** Where the test CA and server certificate are kept (shared by the test servers). */
  tlsDir: string;
  tenantId: string;
  port?: number;
  imdsPort?: number;
  /** The kube-apiserver's published ServiceAccount signing keys. */
  kubeJwks: () => Promise<JsonWebKey[]>;
  adminKey?: string;
}

export interface AzureTestServer {
  vaultUrl: string;
  authorityHost: string;
  imdsUrl: string;
  caFile: string;
  adminKey: string;
  entra: TestEntra;
  vault: TestKeyVault;
  close(): Promise<void>;
}

export type AdminApp = AppRegistration & { permissions?: Permissions };
export type AdminIdentity = ManagedIdentity & { permissions?: Permissions };

export async function startAzureServer(opts: AzureServerOptions): Promise<AzureTestServer> {
  const tls = testTls(opts.tlsDir);
  const entra = new TestEntra(opts.kubeJwks);
  const vault = new TestKeyVault(entra, opts.tenantId);
  const registry = new TestContainerRegistry(entra, opts.tenantId);
  const adminKey = opts.adminKey ?? randomBytes(16).toString('hex');
  let base = '';

  const admin = async (req: IncomingMessage, res: ServerResponse, path: string) => {
    const given = Buffer.from(String(req.headers['x-admin-key'] ?? ''));
    if (given.length !== adminKey.length || !timingSafeEqual(given, Buffer.from(adminKey))) return json(res, 401, { error: 'admin key required' });
    const input = req.method === 'POST' ? (JSON.parse((await body(req)) || '{}') as Record<string, unknown>) : {};
    if (path === 'apps') {
      const { permissions, ...app } = input as unknown as AdminApp;
      entra.register(app);
      if (permissions && app.tenantId === opts.tenantId) vault.allow(app.clientId, permissions);
      return json(res, 200, { clientId: app.clientId });
    }
    if (path === 'identities') {
      const { permissions, ...identity } = input as unknown as AdminIdentity;
      entra.addIdentity(identity);
      if (permissions) vault.allow(identity.clientId, permissions);
      return json(res, 200, { clientId: identity.clientId });
    }
    if (path === 'throttle') {
      vault.throttle(Number(input.requests ?? 0), Number(input.retryAfterSeconds ?? 1));
      return json(res, 200, {});
    }
    if (path === 'acr-roles') {
      registry.assign(String(input.clientId), (input.roles as string[] | undefined) ?? []);
      return json(res, 200, {});
    }
    if (path === 'stats') return json(res, 200, { vault: vault.total(), byOperation: Object.fromEntries(vault.counts), entra: entra.requests, registry: registry.requests });
    return json(res, 404, { error: `unknown admin path ${path}` });
  };

  const https = createHttpsServer({ cert: tls.certPem, key: tls.keyPem, keepAliveTimeout: 30_000 }, (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const run = async () => {
      if (url.pathname.startsWith('/__admin/')) return admin(req, res, url.pathname.slice('/__admin/'.length));
      if (await entra.handle(req, res, url, base)) return;
      if (await registry.handle(req, res, url)) return;
      await vault.handle(req, res, url, base);
    };
    run().catch((err: unknown) => json(res, 500, { error: { code: 'InternalError', message: String(err) } }));
  });
  const imds = createHttpServer((req, res) => entra.handleImds(req, res, new URL(req.url ?? '/', 'http://127.0.0.1')));

  const listen = (server: Server, port: number) => new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
  const port = await listen(https, opts.port ?? 0);
  const imdsPort = await listen(imds, opts.imdsPort ?? 0);
  base = `https://127.0.0.1:${port}`;
  return {
    vaultUrl: base,
    authorityHost: base,
    imdsUrl: `http://127.0.0.1:${imdsPort}`,
    caFile: tls.caFile,
    adminKey,
    entra,
    vault,
    async close() {
      for (const s of [https, imds]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}
