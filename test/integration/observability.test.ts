// What users watch secretsync with: the Grafana dashboard and alert rules in
// deploy/ name only metrics a live operator really exports (checked against a
// /metrics scrape of the bundle), the rules pass promtool's checks and unit
// tests, the Argo CD health checks judge Ready, failing, stale and new objects
// (run by Lua), and the time-to-Ready histogram and Ready gauge are filled.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { argocdPatch } from '../../scripts/gen-types.js';
import { createExternalSecret, createStore, fakeStoreSpec, freePort, newNamespace, scrapeMetric, spawnOperator, terminate, waitForReady } from './harness.js';

const root = join(import.meta.dirname, '../..');
const exec = promisify(execFile);
const promtool = join(process.env.HOME ?? '', '.cache/secretsync/prometheus-0.316.0/promtool');

/** Metric names an expression uses (histogram series reduced to their metric). */
function metricNames(expr: string): string[] {
  return [...expr.matchAll(/\b(secretsync_[a-z_]+)/g)].map((m) => m[1]!.replace(/_(bucket|sum|count)$/, ''));
}

describe('observability', () => {
  it('the alert rules pass promtool check and their unit tests', async () => {
    const dir = join(root, 'deploy/prometheus');
    const check = await exec(promtool, ['check', 'rules', 'alerts.yaml'], { cwd: dir });
    expect(check.stdout).toContain('SUCCESS: 6 rules found');
    const test = await exec(promtool, ['test', 'rules', 'alerts.test.yaml'], { cwd: dir });
    expect(test.stdout).toContain('SUCCESS');
  });

  it('the Argo CD health checks judge Ready, failing, stale and new objects, and the argocd-cm patch embeds them', async () => {
    const { stdout } = await exec('lua5.4', ['test/argocd/health_test.lua'], { cwd: root });
    expect(stdout).not.toContain('FAIL');
    expect(stdout.match(/^ok /gm)).toHaveLength(9);
    expect(readFileSync(join(root, 'deploy/argocd/argocd-cm-patch.yaml'), 'utf8'), 'run make generate').toBe(argocdPatch());
  });

  it('every metric the dashboard and the alerts query is exported by a live operator; time to Ready and the Ready gauge are filled', async () => {
    const ns = await newNamespace();
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'a', value: 'v' }]));
    await createExternalSecret(ns, 'ok', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'a' } }] });
    await createExternalSecret(ns, 'missing', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'nope' } }] });
    const port = await freePort();
    const op = spawnOperator(['--watch-namespace', ns, '--metrics-port', String(port), '--metrics-bind-address', '127.0.0.1']);
    try {
      await waitForReady(ns, 'ok', 'True', undefined, 30_000);
      await waitForReady(ns, 'missing', 'False', 'RemoteNotFound');
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));

      const dashboard = JSON.parse(readFileSync(join(root, 'deploy/grafana/secretsync-dashboard.json'), 'utf8')) as { panels: Array<{ title: string; targets: Array<{ expr: string }> }> };
      const rules = parse(readFileSync(join(root, 'deploy/prometheus/alerts.yaml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
      const queries = [
        ...dashboard.panels.flatMap((p) => p.targets.map((t) => [`panel "${p.title}"`, t.expr] as const)),
        ...rules.groups.flatMap((g) => g.rules.map((r) => [`alert ${r.alert}`, r.expr] as const)),
      ];
      expect(queries.length).toBeGreaterThan(15);
      for (const [where, expr] of queries) {
        const names = metricNames(expr);
        expect(names.length, where).toBeGreaterThan(0);
        for (const name of names) expect(exported.has(name), `${where} queries ${name}`).toBe(true);
      }

      expect(await scrapeMetric(port, 'secretsync_time_to_ready_seconds_count')).toBe(1);
      expect(await scrapeMetric(port, 'secretsync_externalsecret_ready', { status: 'True', reason: 'SecretSynced' })).toBe(1);
      expect(await scrapeMetric(port, 'secretsync_externalsecret_ready', { status: 'False', reason: 'RemoteNotFound' })).toBe(1);
      expect(await scrapeMetric(port, 'secretsync_leader')).toBe(1);
    } finally {
      await terminate(op);
    }
  });
});
