// Test access to the Azure test servers started beside the control plane
// (test/servers/azurekv): the official SDKs pointed at them exactly as a
// user points them at a private cloud (AZURE_AUTHORITY_HOST, the IMDS host
// variable, the CA in Node's default trust store), an admin client, and
// writers that seed secrets, certificates and keys through the real API.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as tls from 'node:tls';
import { ClientSecretCredential } from '@azure/identity';
import { CertificateClient } from '@azure/keyvault-certificates';
import { KeyClient } from '@azure/keyvault-keys';
import { SecretClient } from '@azure/keyvault-secrets';
import forge from 'node-forge';
import { AzureAdmin } from '../servers/azurekv/admin-client.js';
import type { Permissions } from '../servers/azurekv/vault.js';

export interface AzureTestEnv {
  vaultUrl: string;
  tenantId: string;
  authorityHost: string;
  admin: AzureAdmin;
  secrets: SecretClient;
  keys: KeyClient;
  certificates: CertificateClient;
}

const WRITER = { clientId: 'secretsync-test-writer', secret: 'writer-secret-value' };
const ALL: Permissions = { secrets: ['get', 'list', 'set', 'update'], keys: ['get', 'list', 'create', 'import', 'rotate', 'getrotationpolicy', 'setrotationpolicy'], certificates: ['get', 'list', 'import', 'update'] };

/** Wires this process to the test servers; `env` is the control plane's env file. */
export async function azureTestEnv(env: Record<string, string>): Promise<AzureTestEnv> {
  const ca = readFileSync(env.TEST_CA_FILE!, 'utf8');
  if (!tls.getCACertificates('default').includes(ca)) tls.setDefaultCACertificates([...tls.getCACertificates('default'), ca]);
  // What an operator in a private cloud is given; the in-process operator reads them too.
  process.env.AZURE_AUTHORITY_HOST = env.AZURE_AUTHORITY_HOST;
  process.env.AZURE_POD_IDENTITY_AUTHORITY_HOST = env.AZURE_POD_IDENTITY_AUTHORITY_HOST;
  const admin = new AzureAdmin(env.AZURE_KEYVAULT_URL!, readFileSync(env.AZURE_TEST_ADMIN_KEY_FILE!, 'utf8').trim(), env.TEST_CA_FILE!);
  const tenantId = env.AZURE_TENANT_ID!;
  await admin.registerApp({ tenantId, clientId: WRITER.clientId, secrets: [WRITER.secret], permissions: ALL });
  const credential = new ClientSecretCredential(tenantId, WRITER.clientId, WRITER.secret, { authorityHost: env.AZURE_AUTHORITY_HOST, disableInstanceDiscovery: true });
  const options = { disableChallengeResourceVerification: true };
  const vaultUrl = env.AZURE_KEYVAULT_URL!;
  return {
    vaultUrl,
    tenantId,
    authorityHost: env.AZURE_AUTHORITY_HOST!,
    admin,
    secrets: new SecretClient(vaultUrl, credential, options),
    keys: new KeyClient(vaultUrl, credential, options),
    certificates: new CertificateClient(vaultUrl, credential, options),
  };
}

/** Registers a service principal with a client secret and the given vault permissions. */
export async function servicePrincipal(azure: AzureTestEnv, permissions: Permissions = { secrets: ['get', 'list'], keys: ['get', 'getrotationpolicy'], certificates: ['get'] }): Promise<{ clientId: string; secret: string }> {
  const clientId = `sp-${randomBytes(4).toString('hex')}`;
  const secret = `cs-${randomBytes(12).toString('hex')}`;
  await azure.admin.registerApp({ tenantId: azure.tenantId, clientId, secrets: [secret], permissions });
  return { clientId, secret };
}

/** A CA and a leaf certificate, as the PEM Key Vault imports (key, leaf, chain). */
export function certificateChainPem(commonName: string): { pem: string; leaf: string; ca: string } {
  const make = (cn: string, signer?: { cert: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }) => {
    const keys = forge.pki.rsa.generateKeyPair(1024);
    const cert = forge.pki.createCertificate();
    cert.publicKey = keys.publicKey;
    cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
    cert.validity.notBefore = new Date(Date.now() - 60_000);
    cert.validity.notAfter = new Date(Date.now() + 90 * 86_400_000);
    cert.setSubject([{ name: 'commonName', value: cn }]);
    cert.setIssuer(signer ? signer.cert.subject.attributes : [{ name: 'commonName', value: cn }]);
    cert.setExtensions([{ name: 'basicConstraints', cA: !signer }]);
    cert.sign(signer?.key ?? keys.privateKey, forge.md.sha256.create());
    return { cert, key: keys.privateKey };
  };
  const ca = make(`${commonName} CA`);
  const leaf = make(commonName, ca);
  const leafPem = forge.pki.certificateToPem(leaf.cert);
  const caPem = forge.pki.certificateToPem(ca.cert);
  return { pem: `${forge.pki.privateKeyToPem(leaf.key)}${leafPem}${caPem}`, leaf: leafPem, ca: caPem };
}

/** A self-signed certificate an app registration can hold, and the PEM (key + certificate) a client signs with. */
export function clientCertificate(commonName: string): { cert: string; pem: string } {
  // MSAL signs client assertions with PS256, which needs a 2048-bit key.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey);
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 86_400_000);
  cert.setSubject([{ name: 'commonName', value: commonName }]);
  cert.setIssuer([{ name: 'commonName', value: commonName }]);
  cert.sign(key, forge.md.sha256.create());
  const certPem = forge.pki.certificateToPem(cert);
  return { cert: certPem, pem: `${privateKey}${certPem}` };
}
