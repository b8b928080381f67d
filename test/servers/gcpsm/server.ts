// The Google test servers in one process: Secret Manager and Pub/Sub over gRPC with TLS,
// and the token services (STS, IAM Credentials) over HTTPS on a second port
// with an admin API under /__admin/ (guarded by a key) for tests: service
// account keys, role grants, workload identity pools, impersonation,
// RESOURCE_EXHAUSTED and CRC corruption switches, request counts.
import { randomBytes, timingSafeEqual, type JsonWebKey } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { testTls } from '../shared/tls.js';
import { send, TestGoogleIdentity, type WorkloadPool } from './identity.js';
import { TestPubSub } from './pubsub.js';
import { handleRest } from './rest.js';
import { RpcError, TestSecretManager } from './secret-manager.js';

export interface GoogleServerOptions {
  tlsDir: string;
  grpcPort?: number;
  httpsPort?: number;
  kubeJwks: () => Promise<JsonWebKey[]>;
  adminKey?: string;
}

export interface GoogleTestServer {
  /** host:port of the Secret Manager gRPC endpoint. */
  endpoint: string;
  /** host:port of its REST API (Google serves both on one host; here the REST API shares the token services' HTTPS port). */
  restEndpoint: string;
  /** Base URL of the token services (STS at /v1/token, IAM Credentials at /v1/projects/-/...). */
  tokenUrl: string;
  caFile: string;
  adminKey: string;
  identity: TestGoogleIdentity;
  secretManager: TestSecretManager;
  pubsub: TestPubSub;
  close(): Promise<void>;
}

export async function startGoogleServer(opts: GoogleServerOptions): Promise<GoogleTestServer> {
  const tls = testTls(opts.tlsDir);
  const identity = new TestGoogleIdentity(opts.kubeJwks);
  const secretManager = new TestSecretManager((metadata) => {
    const caller = identity.caller(metadata.get('authorization')[0]?.toString());
    if (typeof caller === 'string') return Promise.reject(new RpcError(grpc.status.UNAUTHENTICATED, caller));
    return Promise.resolve(caller);
  });
  const pubsub = new TestPubSub((metadata) => {
    const caller = identity.caller(metadata.get('authorization')[0]?.toString());
    if (typeof caller === 'string') return Promise.reject(new RpcError(grpc.status.UNAUTHENTICATED, caller));
    return Promise.resolve(caller);
  });
  secretManager.notify = (topic, attributes, data) => pubsub.publish(topic, data, attributes);
  const adminKey = opts.adminKey ?? randomBytes(16).toString('hex');

  const grpcServer = new grpc.Server();
  const { definition, implementation } = secretManager.service();
  grpcServer.addService(definition, implementation);
  pubsub.addTo(grpcServer);
  const credentials = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }], false);
  const grpcPort = await new Promise<number>((resolve, reject) => grpcServer.bindAsync(`127.0.0.1:${opts.grpcPort ?? 0}`, credentials, (err, port) => (err ? reject(err) : resolve(port))));

  const admin = (path: string, input: Record<string, unknown>) => {
    if (path === 'service-accounts') identity.addServiceAccountKey(String(input.email), String(input.keyId), String(input.publicKeyPem));
    else if (path === 'grants') identity.grant(String(input.principal), input.roles as string[]);
    else if (path === 'pools') identity.pools.push(input as unknown as WorkloadPool);
    else if (path === 'impersonation') identity.allowImpersonation(String(input.member), String(input.serviceAccount));
    else if (path === 'throttle') secretManager.throttle(Number(input.calls ?? 0), Number(input.retryDelaySeconds ?? 1));
    else if (path === 'corrupt') secretManager.corruptNextAccess(String(input.secret));
    else if (path === 'stats') return { api: secretManager.total(), byRpc: Object.fromEntries(secretManager.counts), pubsub: Object.fromEntries(pubsub.counts), tokens: identity.counts };
    else return undefined;
    return {};
  };

  const https: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const run = async () => {
        if (url.pathname.startsWith('/__admin/')) {
          const given = Buffer.from(String(req.headers['x-admin-key'] ?? ''));
          if (given.length !== adminKey.length || !timingSafeEqual(given, Buffer.from(adminKey))) return send(res, 401, { error: 'admin key required' });
          const out = admin(url.pathname.slice('/__admin/'.length), JSON.parse(body || '{}') as Record<string, unknown>);
          return out ? send(res, 200, out) : send(res, 404, { error: 'unknown admin path' });
        }
        if (await handleRest(secretManager, req, res, url, body)) return;
        if (!(await identity.handle(req, res, url, body))) send(res, 404, { error: { code: 404, message: `no such path ${url.pathname}`, status: 'NOT_FOUND' } });
      };
      run().catch((err: unknown) => send(res, 500, { error: { code: 500, message: String(err), status: 'INTERNAL' } }));
    });
  });
  const httpsPort = await new Promise<number>((resolve, reject) => {
    https.once('error', reject);
    https.listen(opts.httpsPort ?? 0, '127.0.0.1', () => resolve((https.address() as AddressInfo).port));
  });

  return {
    endpoint: `127.0.0.1:${grpcPort}`,
    restEndpoint: `127.0.0.1:${httpsPort}`,
    tokenUrl: `https://127.0.0.1:${httpsPort}`,
    caFile: tls.caFile,
    adminKey,
    identity,
    secretManager,
    pubsub,
    async close() {
      grpcServer.forceShutdown();
      https.closeAllConnections();
      await new Promise((resolve) => https.close(resolve));
    },
  };
}
