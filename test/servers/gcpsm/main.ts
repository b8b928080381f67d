// Runs the Google test servers for the tests and `make dev-up` (started by
// scripts/providers.sh), with the kube-apiserver's ServiceAccount keys read
// from its published JWKS.
//   tsx test/servers/gcpsm/main.ts --state DIR --tls-dir DIR --grpc-port N --https-port N \
//     --kube-api URL --kube-ca FILE --kube-token FILE
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { kubeJwksFetcher } from '../shared/kube-jwks.js';
import { startGoogleServer } from './server.js';

const { values: args } = parseArgs({
  options: {
    state: { type: 'string' },
    'tls-dir': { type: 'string' },
    'grpc-port': { type: 'string' },
    'https-port': { type: 'string' },
    'kube-api': { type: 'string' },
    'kube-ca': { type: 'string' },
    'kube-token': { type: 'string' },
  },
});
const need = (name: keyof typeof args) => args[name] ?? (() => { throw new Error(`--${name} is required`); })();

const server = await startGoogleServer({
  tlsDir: need('tls-dir'),
  grpcPort: Number(need('grpc-port')),
  httpsPort: Number(need('https-port')),
  kubeJwks: kubeJwksFetcher(need('kube-api'), need('kube-ca'), need('kube-token')),
});
writeFileSync(join(need('state'), 'admin-key'), server.adminKey, { mode: 0o600 });
console.log(`google test servers: secret manager ${server.endpoint}, tokens ${server.tokenUrl}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
