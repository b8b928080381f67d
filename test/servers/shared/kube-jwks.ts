// The kube-apiserver's published ServiceAccount signing keys (/openid/v1/jwks),
// read with the control plane's admin token: what the test identity servers
// verify ServiceAccount JWTs against.
import type { JsonWebKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';

export function kubeJwksFetcher(api: string, caFile: string, tokenFile: string): () => Promise<JsonWebKey[]> {
  return () => new Promise((resolve, reject) => {
    const headers = { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` };
    const req = request(new URL('/openid/v1/jwks', api), { ca: readFileSync(caFile), headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(text) as { keys: JsonWebKey[] }).keys) : reject(new Error(`JWKS: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}
