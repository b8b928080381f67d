// One node cluster for the whole e2e run (scripts/node-cluster.sh): a control
// plane, containerd, kubelet and kube-proxy in a network namespace of their
// own, with the image `make image` built imported into containerd. The
// integration harness's helpers work against it unchanged: they read the
// control plane's state directory from `controlPlaneState`.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

const root = join(import.meta.dirname, '../..');
export const NODE_STATE = process.env.SECRETSYNC_NODE_STATE ?? join(root, '.node-cluster');

function nodeCluster(command: string): void {
  execFileSync('bash', [join(root, 'scripts/node-cluster.sh'), command], {
    env: { ...process.env, SECRETSYNC_NODE_STATE: NODE_STATE },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
}

export default function setup(project: TestProject) {
  // A run that died half-way leaves containers, mounts and a namespace behind.
  nodeCluster('down');
  nodeCluster('up');
  project.provide('controlPlaneState', join(NODE_STATE, 'cp'));
  project.provide('nodeState', NODE_STATE);
  return () => {
    if (process.env.SECRETSYNC_KEEP_CLUSTER !== '1') nodeCluster('down');
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    nodeState: string;
  }
}
