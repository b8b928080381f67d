// The test CA and the server certificate the Key Vault and Entra ID test
// servers present. Made once per state directory and kept, so clients that
// trust the CA file (NODE_EXTRA_CA_CERTS, tls.setDefaultCACertificates)
// keep trusting a restarted server. TLS is never switched off.
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';

export interface TestTls {
  caPem: string;
  certPem: string;
  keyPem: string;
  caFile: string;
}

function rsaKeys(): forge.pki.rsa.KeyPair {
  // node:crypto makes the key (fast); forge only builds the certificates.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const key = forge.pki.privateKeyFromPem(privateKey);
  return { privateKey: key, publicKey: forge.pki.setRsaPublicKey(key.n, key.e) };
}

function certificate(subject: string, keys: forge.pki.rsa.KeyPair, issuer: { cert?: forge.pki.Certificate; key: forge.pki.rsa.PrivateKey }, extensions: object[]): forge.pki.Certificate {
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = `01${forge.util.bytesToHex(forge.random.getBytesSync(8))}`;
  cert.validity.notBefore = new Date(Date.now() - 3_600_000);
  cert.validity.notAfter = new Date(Date.now() + 10 * 365 * 86_400_000);
  cert.setSubject([{ name: 'commonName', value: subject }]);
  cert.setIssuer(issuer.cert ? issuer.cert.subject.attributes : [{ name: 'commonName', value: subject }]);
  cert.setExtensions(extensions);
  cert.sign(issuer.key, forge.md.sha256.create());
  return cert;
}

export function testTls(dir: string): TestTls {
  mkdirSync(dir, { recursive: true });
  const caFile = join(dir, 'ca.crt');
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  if (!existsSync(caFile) || !existsSync(certFile) || !existsSync(keyFile)) {
    const caKeys = rsaKeys();
    // A name of its own: two test CAs trusted at once (a unit test's and the control plane's) must not be confused by name.
    const ca = certificate(`secretsync test CA ${forge.util.bytesToHex(forge.random.getBytesSync(4))}`, caKeys, { key: caKeys.privateKey }, [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ]);
    const serverKeys = rsaKeys();
    const server = certificate('127.0.0.1', serverKeys, { cert: ca, key: caKeys.privateKey }, [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] },
    ]);
    writeFileSync(keyFile, forge.pki.privateKeyToPem(serverKeys.privateKey), { mode: 0o600 });
    writeFileSync(certFile, forge.pki.certificateToPem(server));
    writeFileSync(caFile, forge.pki.certificateToPem(ca));
  }
  return { caPem: readFileSync(caFile, 'utf8'), certPem: readFileSync(certFile, 'utf8'), keyPem: readFileSync(keyFile, 'utf8'), caFile };
}
