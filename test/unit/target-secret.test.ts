// Events for a Secret while our write to it is in flight: our own version
// needs no reconcile; any other one queues one when the write returns.
import { describe, expect, it } from 'vitest';
import type { ExternalSecret } from '../../src/api/types.js';
import { buildDesiredSecret } from '../../src/secrets/desired-secret.js';
import { TargetSecrets } from '../../src/controllers/externalsecret/target-secret.js';
import type { KubeClient } from '../../src/kube/client.js';
import type { Secret } from '../../src/kube/types.js';

const es = { metadata: { name: 'es', namespace: 'ns', generation: 1 }, spec: { secretStoreRef: { name: 's' } } } as ExternalSecret;
const desired = () => buildDesiredSecret(es, { type: 'Opaque', data: { v: Buffer.from('x') }, labels: {}, annotations: {} }, Buffer.from('key'));

/** A kube client whose create answers with resourceVersion "7" when `answer` is called. */
function slowCreate() {
  let answer!: () => void;
  const kube = {
    create: (_type: unknown, body: Secret) => new Promise((resolve) => (answer = () => resolve({ ...body, metadata: { ...body.metadata, resourceVersion: '7' } }))),
  } as unknown as KubeClient;
  return { kube, answer: () => answer() };
}

describe('TargetSecrets and the Secret watch', () => {
  it('an event for our own write, before or after its answer, queues nothing; another version seen meanwhile queues a reconcile', async () => {
    for (const during of [['7'], [], ['6'], ['7', '8'], [undefined]]) {
      const { kube, answer } = slowCreate();
      const queued: string[] = [];
      const targets = new TargetSecrets(kube, Buffer.from('key'), (key) => queued.push(key));
      const writing = targets.write(es, desired(), undefined);
      for (const rv of during) expect(targets.holdsOurs('ns/es', rv)).toBe(true);
      answer();
      expect(await writing).toEqual({ operation: 'create', resourceVersion: '7' });
      expect(targets.holdsOurs('ns/es', '7')).toBe(true);
      expect(targets.holdsOurs('ns/es', '8')).toBe(false);
      expect(queued).toEqual(during.every((rv) => rv === '7') ? [] : ['ns/es']);
    }
  });
});
