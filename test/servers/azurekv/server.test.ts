// The Azure test servers' own checks: the wire-level behaviour the provider
// tests rely on, spoken to by raw HTTPS where the shape matters and by the
// official SDKs where the flow does.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { ClientCertificateCredential, ClientSecretCredential, ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import forge from 'node-forge';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fakeIssuer } from '../shared/kube-keys.js';
import { startAzureServer, type AzureTestServer } from './server.js';

const TENANT = '11111111-2222-4333-8444-555555555555';
const ISSUER = 'https://kube.test';
const ALL = { secrets: ['get', 'list', 'set', 'update'] };
const issuer = fakeIssuer(ISSUER);
const dir = mkdtempSync(join(tmpdir(), 'azurekv-test-'));
let server: AzureTestServer;
let agent: Agent;

beforeAll(async () => {
  server = await startAzureServer({ tlsDir: dir, tenantId: TENANT, kubeJwks: issuer.jwks });
  const ca = readFileSync(server.caFile, 'utf8');
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca]);
  agent = new Agent({ connect: { ca } });
  server.entra.register({ tenantId: TENANT, clientId: 'app', secrets: ['right'], federated: [{ issuer: ISSUER, subject: 'system:serviceaccount:ns:sa', audiences: ['api://AzureADTokenExchange'] }] });
  server.vault.allow('app', ALL);
});
afterAll(async () => {
  await server.close();
  await agent.close();
  rmSync(dir, { recursive: true, force: true });
});

const opts = () => ({ authorityHost: server.authorityHost, disableInstanceDiscovery: true });
const vault = (credential = new ClientSecretCredential(TENANT, 'app', 'right', opts())) =>
  new SecretClient(server.vaultUrl, credential, { disableChallengeResourceVerification: true, retryOptions: { maxRetries: 0 } });

async function raw(method: string, path: string, init: { headers?: Record<string, string>; body?: string; base?: string } = {}) {
  const res = await request(`${init.base ?? server.vaultUrl}${path}`, { method: method as 'GET', headers: init.headers, body: init.body, dispatcher: agent });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function token(form: Record<string, string>) {
  return raw('POST', `/${TENANT}/oauth2/v2.0/token`, {
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: 'app', scope: 'https://vault.azure.net/.default', ...form }).toString(),
  });
}

const assertion = (jwt: string) => ({ client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: jwt });
const aadCode = (r: { json: Record<string, unknown> }) => (r.json.error_codes as number[] | undefined)?.[0];

describe('Key Vault test server', () => {
  it('challenges a request without a token the way Key Vault does', async () => {
    const r = await raw('GET', '/secrets/x?api-version=7.5');
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe(`Bearer authorization="https://login.microsoftonline.com/${TENANT}", resource="https://vault.azure.net"`);
  });

  it('serves the SDK: set, versions, disable, and refuses a disabled secret with SecretDisabled', async () => {
    const client = vault();
    const v1 = await client.setSecret('s1', 'one', { tags: { a: 'b' }, expiresOn: new Date('2030-01-01T00:00:00Z') });
    expect(v1.properties.id).toBe(`${server.vaultUrl}/secrets/s1/${v1.properties.version}`);
    expect(v1.properties.expiresOn?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
    await client.setSecret('s1', 'two');
    expect((await client.getSecret('s1')).value).toBe('two');
    expect((await client.getSecret('s1', { version: v1.properties.version })).value).toBe('one');
    const latest = await client.getSecret('s1');
    await client.updateSecretProperties('s1', latest.properties.version!, { enabled: false });
    const token = await new ClientSecretCredential(TENANT, 'app', 'right', opts()).getToken('https://vault.azure.net/.default');
    const r = await raw('GET', '/secrets/s1?api-version=7.5', { headers: { authorization: `Bearer ${token.token}` } });
    expect(r.status).toBe(403);
    expect(r.json.error).toMatchObject({ code: 'Forbidden', message: 'Operation get is not allowed on a disabled secret.', innererror: { code: 'SecretDisabled' } });
  });

  it('pages lists at 25 with nextLink, which the SDK follows', async () => {
    const client = vault();
    for (let i = 0; i < 30; i++) await client.setSecret(`page-${i}`, 'v');
    const token = await new ClientSecretCredential(TENANT, 'app', 'right', opts()).getToken('https://vault.azure.net/.default');
    const first = await raw('GET', '/secrets?api-version=7.5', { headers: { authorization: `Bearer ${token.token}` } });
    expect((first.json.value as unknown[]).length).toBe(25);
    expect(first.json.nextLink).toMatch(/\$skiptoken=/);
    const names: string[] = [];
    for await (const p of client.listPropertiesOfSecrets()) names.push(p.name);
    expect(names.filter((n) => n.startsWith('page-'))).toHaveLength(30);
  });

  it('answers 429 with Retry-After when throttled, and 403 AccessDenied without the permission', async () => {
    server.vault.throttle(1, 7);
    type Failure = { statusCode: number; response: { headers: { get(n: string): string } } };
    const err = (await vault().getSecret('s1').then(() => undefined, (e: unknown) => e)) as Failure;
    expect(err.statusCode).toBe(429);
    expect(err.response.headers.get('retry-after')).toBe('7');
    server.entra.register({ tenantId: TENANT, clientId: 'reader-without-rights', secrets: ['x'] });
    const denied = (await vault(new ClientSecretCredential(TENANT, 'reader-without-rights', 'x', opts())).getSecret('s1').then(() => undefined, (e: unknown) => e)) as { statusCode: number; code: string };
    expect(denied.statusCode).toBe(403);
    expect(denied.code).toBe('Forbidden');
  });

  it('refuses a token issued for another tenant', async () => {
    const other = '99999999-2222-4333-8444-555555555555';
    server.entra.register({ tenantId: other, clientId: 'foreign', secrets: ['f'] });
    server.vault.allow('foreign', ALL);
    const t = await new ClientSecretCredential(other, 'foreign', 'f', opts()).getToken('https://vault.azure.net/.default');
    const r = await raw('GET', '/secrets/s1?api-version=7.5', { headers: { authorization: `Bearer ${t.token}` } });
    expect(r.status).toBe(401);
    expect(String((r.json.error as { message: string }).message)).toContain('AKV10032');
  });
});

describe('Entra ID test server', () => {
  it('checks client secrets', async () => {
    expect((await token({ client_secret: 'right' })).status).toBe(200);
    const wrong = await token({ client_secret: 'wrong' });
    expect(wrong.status).toBe(401);
    expect(aadCode(wrong)).toBe(7000215);
    const unknown = await token({ client_id: 'nobody', client_secret: 'x' });
    expect(aadCode(unknown)).toBe(700016);
  });

  it('verifies a federated ServiceAccount assertion: signature, issuer, subject, audience, expiry', async () => {
    expect((await token(assertion(issuer.token('system:serviceaccount:ns:sa')))).status).toBe(200);
    expect(aadCode(await token(assertion(issuer.token('system:serviceaccount:ns:other'))))).toBe(700213);
    expect(aadCode(await token(assertion(issuer.token('system:serviceaccount:ns:sa', { iss: 'https://elsewhere' }))))).toBe(700211);
    expect(aadCode(await token(assertion(issuer.token('system:serviceaccount:ns:sa', { aud: ['sts.amazonaws.com'] }))))).toBe(700212);
    expect(aadCode(await token(assertion(issuer.token('system:serviceaccount:ns:sa', { exp: Math.floor(Date.now() / 1000) - 10 }))))).toBe(700024);
    expect(aadCode(await token(assertion(fakeIssuer(ISSUER).token('system:serviceaccount:ns:sa'))))).toBe(50013);
  });

  it('accepts a certificate credential only with the registered certificate', async () => {
    const make = () => {
      // MSAL signs with PS256, which needs 2048-bit keys; node:crypto makes them fast.
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
      const key = forge.pki.privateKeyFromPem(privateKey);
      const keys = { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
      const cert = forge.pki.createCertificate();
      cert.publicKey = keys.publicKey;
      cert.serialNumber = '01';
      cert.validity.notBefore = new Date(Date.now() - 60_000);
      cert.validity.notAfter = new Date(Date.now() + 86_400_000);
      cert.setSubject([{ name: 'commonName', value: 'app' }]);
      cert.setIssuer([{ name: 'commonName', value: 'app' }]);
      cert.sign(keys.privateKey, forge.md.sha256.create());
      return { cert: forge.pki.certificateToPem(cert), pem: `${forge.pki.privateKeyToPem(keys.privateKey)}${forge.pki.certificateToPem(cert)}` };
    };
    const registered = make();
    server.entra.register({ tenantId: TENANT, clientId: 'cert-app', certificates: [registered.cert] });
    const good = await new ClientCertificateCredential(TENANT, 'cert-app', { certificate: registered.pem }, opts()).getToken('https://vault.azure.net/.default');
    expect(good.token.split('.')).toHaveLength(3);
    await expect(new ClientCertificateCredential(TENANT, 'cert-app', { certificate: make().pem }, opts()).getToken('https://vault.azure.net/.default')).rejects.toThrow(/700027/);
  });

  it('serves IMDS tokens only with the Metadata header and for a known identity', async () => {
    server.entra.addIdentity({ tenantId: TENANT, clientId: 'mi-user', resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi' });
    const path = '/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.azure.net&client_id=mi-user';
    expect((await raw('GET', path, { base: server.imdsUrl })).status).toBe(400);
    const ok = await raw('GET', path, { base: server.imdsUrl, headers: { metadata: 'true' } });
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ token_type: 'Bearer', client_id: 'mi-user', resource: 'https://vault.azure.net' });
    expect(typeof ok.json.expires_in).toBe('string');
    const previous = process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
    process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = server.imdsUrl;
    try {
      const byResource = await new ManagedIdentityCredential({ resourceId: '/subscriptions/s/resourceGroups/g/providers/Microsoft.ManagedIdentity/userAssignedIdentities/mi' }).getToken('https://vault.azure.net/.default');
      expect(byResource.token.split('.')).toHaveLength(3);
      await expect(new ManagedIdentityCredential({ clientId: 'mi-unknown' }).getToken('https://vault.azure.net/.default')).rejects.toThrow();
    } finally {
      if (previous === undefined) delete process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
      else process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = previous;
    }
  });
});
