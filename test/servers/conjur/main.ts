// Runs the Conjur test server for the tests and `make dev-up` (started by
// scripts/providers.sh). authn-jwt reads the kube-apiserver's ServiceAccount
// keys from its published JWKS, with the admin token the control plane writes.
//   tsx test/servers/conjur/main.ts --state DIR --tls-dir DIR --port N --account NAME \
//     --kube-api URL --kube-ca FILE --kube-token FILE
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kubeJwksFetcher } from '../shared/kube-jwks.js';
import { startConjurServer } from './server.js';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    'tls-dir': { type: 'string' },
    port: { type: 'string' },
    account: { type: 'string' },
    'kube-api': { type: 'string' },
    'kube-ca': { type: 'string' },
    'kube-token': { type: 'string' },
  },
});
const need = (name: keyof typeof args) => args[name] ?? (() => { throw new Error(`--${name} is required`); })();

const state = need('state');
const server = await startConjurServer({
  tlsDir: need('tls-dir'),
  account: need('account'),
  port: Number(need('port')),
  kubeJwks: kubeJwksFetcher(need('kube-api'), need('kube-ca'), need('kube-token')),
});
writeFileSync(join(state, 'admin-key'), server.adminKey, { mode: 0o600 });
// The admin user's API key: what an operator of a real Conjur would hold, for the demo and the CLI test.
writeFileSync(join(state, 'admin-api-key'), server.conjur.adminApiKey(), { mode: 0o600 });
console.log(`conjur test server: ${server.url} (account ${server.account})`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
