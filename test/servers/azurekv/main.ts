// Runs the Azure test servers for the tests and `make dev-up` (started by
// scripts/providers.sh). Reads the kube-apiserver's ServiceAccount keys from
// its published JWKS, with the admin token the control plane writes.
//   tsx test/servers/azurekv/main.ts --state DIR --port N --imds-port N --tenant ID \
//     --kube-api URL --kube-ca FILE --kube-token FILE
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { JsonWebKey } from 'node:crypto';
import { startAzureServer } from './server.js';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    port: { type: 'string' },
    'imds-port': { type: 'string' },
    tenant: { type: 'string' },
    'kube-api': { type: 'string' },
    'kube-ca': { type: 'string' },
    'kube-token': { type: 'string' },
  },
});
const need = (name: keyof typeof args) => args[name] ?? (() => { throw new Error(`--${name} is required`); })();

function kubeJwks(): Promise<JsonWebKey[]> {
  const url = new URL('/openid/v1/jwks', need('kube-api'));
  return new Promise((resolve, reject) => {
    const req = request(url, { ca: readFileSync(need('kube-ca')), headers: { authorization: `Bearer ${readFileSync(need('kube-token'), 'utf8').trim()}` } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve((JSON.parse(text) as { keys: JsonWebKey[] }).keys) : reject(new Error(`JWKS: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
}

const state = need('state');
const server = await startAzureServer({
  stateDir: state,
  tenantId: need('tenant'),
  port: Number(need('port')),
  imdsPort: Number(need('imds-port')),
  kubeJwks,
});
writeFileSync(join(state, 'admin-key'), server.adminKey, { mode: 0o600 });
console.log(`azure test servers: vault ${server.vaultUrl}, imds ${server.imdsUrl}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
