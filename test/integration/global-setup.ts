// One control plane for the whole integration run, started by the project's
// own script (the same one `make dev-up` uses), on its own ports and state
// directory so a running dev cluster is not disturbed.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

const root = join(import.meta.dirname, '../..');
export const STATE = process.env.SECRETSYNC_TEST_STATE ?? join(root, '.test-cluster');
const env = { ...process.env, SECRETSYNC_STATE: STATE, CP_PORT_BASE: process.env.CP_PORT_BASE ?? '26440' };

function controlPlane(command: string): void {
  execFileSync('bash', [join(root, 'scripts/control-plane.sh'), command], { env, stdio: ['ignore', 'inherit', 'inherit'] });
}

/**
 * The test servers' CA, for the test processes started after this: Node's
 * TLS reads NODE_EXTRA_CA_CERTS and gRPC GRPC_DEFAULT_SSL_ROOTS_FILE_PATH only
 * when a process starts, as an operator given a private CA would be.
 */
function trustTestCa(): void {
  for (const line of readFileSync(join(STATE, 'env'), 'utf8').split('\n')) {
    const m = /^export (NODE_EXTRA_CA_CERTS|GRPC_DEFAULT_SSL_ROOTS_FILE_PATH)="([^"]*)"$/.exec(line);
    if (m) process.env[m[1]!] = m[2]!;
  }
}

export default function setup(project: TestProject) {
  controlPlane('up');
  trustTestCa();
  project.provide('controlPlaneState', STATE);
  return () => {
    if (process.env.SECRETSYNC_KEEP_CLUSTER !== '1') controlPlane('down');
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    controlPlaneState: string;
  }
}
