// Runs the Azure test servers for the tests and `make dev-up` (started by
// scripts/providers.sh). Reads the kube-apiserver's ServiceAccount keys from
// its published JWKS, with the admin token the control plane writes.
//   tsx test/servers/azurekv/main.ts --state DIR --tls-dir DIR --port N --imds-port N --tenant ID \
//     --kube-api URL --kube-ca FILE --kube-token FILE
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kubeJwksFetcher } from '../shared/kube-jwks.js';
import { startAzureServer } from './server.js';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    'tls-dir': { type: 'string' },
    port: { type: 'string' },
    'imds-port': { type: 'string' },
    tenant: { type: 'string' },
    'kube-api': { type: 'string' },
    'kube-ca': { type: 'string' },
    'kube-token': { type: 'string' },
  },
});
const need = (name: keyof typeof args) => args[name] ?? (() => { throw new Error(`--${name} is required`); })();

const state = need('state');
const server = await startAzureServer({
  tlsDir: need('tls-dir'),
  tenantId: need('tenant'),
  port: Number(need('port')),
  imdsPort: Number(need('imds-port')),
  kubeJwks: kubeJwksFetcher(need('kube-api'), need('kube-ca'), need('kube-token')),
});
writeFileSync(join(state, 'admin-key'), server.adminKey, { mode: 0o600 });
console.log(`azure test servers: vault ${server.vaultUrl}, imds ${server.imdsUrl}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
