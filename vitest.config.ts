import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Vitest's order, except that the e2e files run in this one: the chart's last
 * steps leave 10,000 ExternalSecrets on the node, which only the teardown
 * should pay for (deleting them takes minutes on 2 cores).
 */
const E2E_ORDER = ['image.test.ts', 'kustomize.test.ts', 'chart.test.ts'];
class E2eLast extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => E2E_ORDER.findIndex((name) => f.moduleId.endsWith(`/test/e2e/${name}`));
    return (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
  }
}

export default defineConfig({
  test: {
    sequence: { sequencer: E2eLast },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/servers/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          // One control plane for the whole run; files share it one at a time.
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          // The chart's and the kustomize base's Pods, started by a real kubelet
          // from the image `make image` built (scripts/node-cluster.sh).
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          globalSetup: ['test/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
