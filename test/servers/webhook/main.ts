// Runs the webhook test server for the tests, the bench and `make dev-up`
// (started by scripts/providers.sh).
//   tsx test/servers/webhook/main.ts --state DIR --tls-dir DIR --port N
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startWebhookServer } from './server.js';

const { values: args } = parseArgs({ options: { state: { type: 'string' }, 'tls-dir': { type: 'string' }, port: { type: 'string' } } });
const need = (name: keyof typeof args) => args[name] ?? (() => { throw new Error(`--${name} is required`); })();

const server = await startWebhookServer({ tlsDir: need('tls-dir'), port: Number(need('port')) });
writeFileSync(join(need('state'), 'admin-key'), server.adminKey, { mode: 0o600 });
console.log(`webhook test server: ${server.url}`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
