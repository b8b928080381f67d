// `make demo`: a service account on the Google test servers, its key written
// to the file given (for the demo's credential Secret), and the demo's values
// written to the test Secret Manager through the official SDK.
//   tsx scripts/demo-gcp.ts KEY_FILE   (with .dev/env sourced)
import { writeFileSync } from 'node:fs';
import { gcpTestEnv, putSecret, serviceAccountKey } from '../test/support/gcp.js';

const env = Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[1] !== undefined));
const gcp = await gcpTestEnv(env);
const reader = await serviceAccountKey(gcp.admin, 'demo-reader', ['roles/secretmanager.secretAccessor', 'roles/secretmanager.viewer']);
writeFileSync(process.argv[2]!, reader.json, { mode: 0o600 });
await putSecret(gcp, 'checkout-db', JSON.stringify({ user: 'checkout', password: 'demo-checkout-password' }));
await putSecret(gcp, 'checkout-api-key', 'demo-checkout-key', { labels: { app: 'checkout' } });
await gcp.admin.close();
await gcp.sm.close();
