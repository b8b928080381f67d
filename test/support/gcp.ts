// Test access to the Google test servers started beside the control plane
// (test/servers/gcpsm): the official SDK pointed at them through its
// documented options (apiEndpoint, port, credentials), the token service
// endpoints a private-connectivity operator is given, an admin client, and
// service account keys made and registered on the fly.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { GoogleAdmin } from '../servers/gcpsm/admin-client.js';

export const GCP_PROJECT = 'secretsync-test';

export interface GcpTestEnv {
  /** host:port of Secret Manager over gRPC. */
  endpoint: string;
  /** host:port of its REST API (--gcpsm-transport rest). */
  restEndpoint: string;
  admin: GoogleAdmin;
  /** A Secret Manager client with the admin role, for seeding. */
  sm: SecretManagerServiceClient;
  project: string;
}

export interface ServiceAccountKey {
  email: string;
  json: string;
}

export async function gcpTestEnv(env: Record<string, string>): Promise<GcpTestEnv> {
  const ca = readFileSync(env.TEST_CA_FILE!, 'utf8');
  if (!tls.getCACertificates('default').includes(ca)) tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca]);
  process.env.GCP_STS_ENDPOINT = env.GCP_STS_ENDPOINT;
  process.env.GCP_IAM_CREDENTIALS_ENDPOINT = env.GCP_IAM_CREDENTIALS_ENDPOINT;
  const admin = new GoogleAdmin(env.GCP_STS_ENDPOINT!, readFileSync(env.GCP_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env.TEST_CA_FILE!);
  const writer = await serviceAccountKey(admin, 'writer', ['roles/secretmanager.admin']);
  const key = JSON.parse(writer.json) as { client_email: string; private_key: string };
  const [host, port] = env.GCP_SECRET_MANAGER_ENDPOINT!.split(':');
  const sm = new SecretManagerServiceClient({ apiEndpoint: host, port: Number(port), credentials: { client_email: key.client_email, private_key: key.private_key }, projectId: GCP_PROJECT });
  // The REST API shares the token services' port (an env written before it was served names only that).
  const restEndpoint = env.GCP_SECRET_MANAGER_REST_ENDPOINT ?? new URL(env.GCP_STS_ENDPOINT!).host;
  return { endpoint: env.GCP_SECRET_MANAGER_ENDPOINT!, restEndpoint, admin, sm, project: GCP_PROJECT };
}

/** A new service account with a key (the JSON Google hands out) and the given roles. */
export async function serviceAccountKey(admin: GoogleAdmin, name: string, roles: string[]): Promise<ServiceAccountKey> {
  const email = `${name}-${randomBytes(3).toString('hex')}@${GCP_PROJECT}.iam.gserviceaccount.com`;
  const keyId = randomBytes(20).toString('hex');
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  await admin.addServiceAccountKey(email, keyId, publicKey);
  if (roles.length) await admin.grant(`serviceAccount:${email}`, roles);
  const json = JSON.stringify({
    type: 'service_account', project_id: GCP_PROJECT, private_key_id: keyId, private_key: privateKey, client_email: email,
    client_id: randomBytes(10).toString('hex'), auth_uri: 'https://accounts.google.com/o/oauth2/auth', token_uri: 'https://oauth2.googleapis.com/token',
  });
  return { email, json };
}

/** Writes a secret (created on first use, with labels) and adds a version; returns the version number. */
export async function putSecret(gcp: GcpTestEnv, id: string, value: string | Buffer, opts: { labels?: Record<string, string>; expireTime?: Date; rotation?: { next: Date; periodSeconds?: number } } = {}): Promise<string> {
  const parent = `projects/${gcp.project}`;
  const name = `${parent}/secrets/${id}`;
  try {
    await gcp.sm.getSecret({ name });
  } catch {
    const seconds = (d: Date) => ({ seconds: Math.floor(d.getTime() / 1000), nanos: (d.getTime() % 1000) * 1e6 });
    await gcp.sm.createSecret({
      parent, secretId: id,
      secret: {
        replication: { automatic: {} }, labels: opts.labels,
        ...(opts.expireTime ? { expireTime: seconds(opts.expireTime) } : {}),
        ...(opts.rotation ? { topics: [{ name: `projects/${gcp.project}/topics/rotations` }], rotation: { nextRotationTime: seconds(opts.rotation.next), ...(opts.rotation.periodSeconds ? { rotationPeriod: { seconds: opts.rotation.periodSeconds } } : {}) } } : {}),
      },
    });
  }
  const [version] = await gcp.sm.addSecretVersion({ parent: name, payload: { data: Buffer.from(value) } });
  return version.name!.split('/').pop()!;
}
