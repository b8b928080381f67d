// The kustomize base (config/default) started once on the node as users
// apply it, from an overlay that sets only the image: the same checks as the
// chart's, shortened (Ready through the probes, in-cluster config, one
// leader, a sync from OpenBao, the security context), then removed.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Resources } from '../../src/kube/types.js';
import { createExternalSecret, kube, kubectl, waitFor, waitForReady } from '../integration/harness.js';
import { containerProcess, holderPod, lease, nodeEnv, podLog, readyPods, vaultStore, waitForSecretData, writeVault } from './node.js';

const root = join(import.meta.dirname, '../..');
const NS = 'secretsync-system';
const SELECTOR = 'app.kubernetes.io/name=secretsync';
const TENANT = 'tenant-k';

describe('the kustomize base on a real node', () => {
  let overlay = '';

  beforeAll(async () => {
    const ref = nodeEnv().IMAGE_REF!;
    const at = ref.lastIndexOf(':');
    overlay = mkdtempSync(join(inject('nodeState'), 'overlay-'));
    writeFileSync(join(overlay, 'kustomization.yaml'), [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources:',
      // kustomize takes a base only by a relative path.
      `  - ${relative(overlay, join(root, 'config/default'))}`,
      'images:',
      `  - { name: ghcr.io/secretsync/secretsync, newName: ${ref.slice(0, at)}, newTag: ${ref.slice(at + 1)} }`,
      '',
    ].join('\n'));
    const applied = await kubectl(['apply', '--server-side', '-k', overlay]);
    expect(applied.code, applied.stderr).toBe(0);
  });

  afterAll(async () => {
    await kubectl(['delete', '-k', overlay, '--ignore-not-found', '--wait=true', '--timeout=120s']);
    await kube().delete(Resources.Namespace, undefined, TENANT).catch(() => undefined);
    rmSync(overlay, { recursive: true, force: true });
  });

  it('its Pods become Ready on in-cluster config, one leads, and an ExternalSecret syncs from OpenBao', async () => {
    const running = await readyPods(NS, SELECTOR, 2);
    for (const pod of running) {
      const starting = (await podLog(NS, pod.metadata.name)).find((l) => l.msg === 'starting')!;
      expect(starting.kubeConfig).toBe('in-cluster');
      expect(starting.memoryLimitMiB).toBe(256);
      const { status } = await containerProcess(pod);
      expect(/^Uid:\s*(\d+)/m.exec(status)![1]).toBe('65532');
      expect(/^CapEff:\s*(\S+)/m.exec(status)![1]).toBe('0000000000000000');
    }
    const leader = await waitFor('a leader', async () => holderPod(await lease(NS, 'secretsync-leader'), running), 30_000, 250);
    expect(leader).toBeDefined();
    await kube().create(Resources.Namespace, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT } });
    await writeVault('tenant-k/app', { token: 'kustomized' });
    await vaultStore(TENANT);
    await createExternalSecret(TENANT, 'app', { secretStoreRef: { name: 'vault' }, data: [{ secretKey: 'token', remoteRef: { key: 'tenant-k/app', property: 'token' } }] });
    await waitForReady(TENANT, 'app', 'True', undefined, 60_000);
    await waitForSecretData(TENANT, 'app', { token: 'kustomized' });
  });
});
