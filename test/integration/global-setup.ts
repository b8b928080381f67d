// One control plane for the whole integration run, started by the project's
// own script (the same one `make dev-up` uses), on its own ports and state
// directory so a running dev cluster is not disturbed.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

const root = join(import.meta.dirname, '../..');
export const STATE = process.env.SECRETSYNC_TEST_STATE ?? join(root, '.test-cluster');
const env = { ...process.env, SECRETSYNC_STATE: STATE, CP_PORT_BASE: process.env.CP_PORT_BASE ?? '26440' };

function controlPlane(command: string): void {
  execFileSync('bash', [join(root, 'scripts/control-plane.sh'), command], { env, stdio: ['ignore', 'inherit', 'inherit'] });
}

export default function setup(project: TestProject) {
  controlPlane('up');
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
