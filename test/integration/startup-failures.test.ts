// What the operator says when it cannot start, as a platform engineer meets
// it: the shipped bundle, its own process, each failure in one line that
// names what to fix, no stack trace, and a non-zero exit where it cannot go on.
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { unservedResources } from '../../src/kube/served-resources.js';
import { Resources } from '../../src/kube/types.js';
import { freePort, kube, newNamespace, operatorServiceAccountConfig, spawnOperator, stateDir, terminate, waitFor, type OperatorProcess } from './harness.js';

/** A port on 127.0.0.1 held by another process's listener for the rest of the test. */
async function takenPort(): Promise<number> {
  const port = await freePort();
  const holder: Server = createServer();
  await new Promise<void>((resolve) => holder.listen(port, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return port;
}

/** Waits for the process to exit; its code and what it wrote. */
async function exitOf(proc: OperatorProcess): Promise<{ code: number | string; lines: string[] }> {
  const { code } = await Promise.race([proc.exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`still running; it wrote: ${proc.output.join('\n')}`)), 30_000))]);
  return { code, lines: proc.output };
}

/** The one line that says why, and no stack trace anywhere. */
function saidOnce(lines: string[], ...parts: string[]): string {
  expect(lines.filter((l) => /^\s+at /.test(l) || l.includes('Emitted \'error\' event'))).toEqual([]);
  const matching = lines.filter((l) => parts.every((p) => l.includes(p)));
  expect(matching, lines.join('\n')).toHaveLength(1);
  return matching[0]!;
}

describe('start-up failures', () => {
  it.each(['metrics', 'webhook'])('a %s port in use: one line naming the flag and the port, exit 1', async (listener) => {
    const port = await takenPort();
    const ns = await newNamespace();
    const { code, lines } = await exitOf(spawnOperator(['--watch-namespace', ns, `--${listener}-port`, String(port), `--${listener}-bind-address`, '127.0.0.1']));
    expect(code).toBe(1);
    saidOnce(lines, `--${listener}-port ${port}`, 'already in use');
  });

  it('a kubeconfig that does not exist, or does not parse: one line, exit 1', async () => {
    const missing = await exitOf(spawnOperator([], { KUBECONFIG: '/nonexistent/kubeconfig' }));
    expect(missing.code).toBe(1);
    saidOnce(missing.lines, 'KUBECONFIG names /nonexistent/kubeconfig, which does not exist');
    const garbled = join(stateDir(), 'kubeconfig-garbled');
    writeFileSync(garbled, 'apiVersion: v1\nclusters: [ {not yaml\n');
    const broken = await exitOf(spawnOperator([], { KUBECONFIG: garbled }));
    expect(broken.code).toBe(1);
    saidOnce(broken.lines, 'cannot read the kubeconfig', garbled);
  });

  it('a bad flag value: one line naming the flag, exit non-zero', async () => {
    const { code, lines } = await exitOf(spawnOperator(['--workers', 'many']));
    expect(code).not.toBe(0);
    saidOnce(lines, '--workers', 'many', 'positive whole number');
    const duration = await exitOf(spawnOperator(['--provider-timeout', '30000']));
    expect(duration.code).not.toBe(0);
    saidOnce(duration.lines, '--provider-timeout', 'Go duration');
  });

  it('a CRD the API server does not serve is named (against the real API server)', async () => {
    const absent = { ...Resources.ExternalSecret, plural: 'notinstalleds' };
    const otherGroup = { ...Resources.ExternalSecret, group: 'nothing.secretsync.dev' };
    expect(await unservedResources(kube(), [Resources.ExternalSecret, Resources.PushSecret, Resources.Secret, absent, otherGroup])).toEqual([
      'notinstalleds.secretsync.dev', 'externalsecrets.nothing.secretsync.dev',
    ]);
  });

  it('no permission on the leader Lease: one error line naming what to grant, not repeated, and the process keeps running', async () => {
    const kc = await operatorServiceAccountConfig();
    const file = join(stateDir(), 'kubeconfig-operator-sa');
    writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
    // The shipped ServiceAccount may use Leases in secretsync-system only.
    const elsewhere = await newNamespace();
    const proc = spawnOperator(['--namespace', elsewhere, '--watch-namespace', elsewhere, '--leader-elect', '--leader-elect-retry-period', '200ms', '--leader-elect-renew-deadline', '400ms', '--leader-elect-lease-duration', '600ms'], { KUBECONFIG: file });
    await waitFor('the Lease refusal', () => proc.output.some((l) => l.includes('may not use the leader Lease')), 20_000, 100);
    // Ten retry periods later: still running, still one line.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(proc.child.exitCode).toBeNull();
    const line = saidOnce(proc.output, 'may not use the leader Lease');
    expect(line).toContain(`in namespace ${elsewhere}`);
    expect((await terminate(proc)).code).toBe(0);
    expect(await kube().getOrUndefined(Resources.Lease, elsewhere, 'secretsync-leader')).toBeUndefined();
  });
});
