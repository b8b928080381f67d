// What a new ExternalSecret costs the operator: one reconcile. Its own
// Secret and status coming back through the watches queue nothing more.
import { describe, expect, it, onTestFinished } from 'vitest';
import { Resources } from '../../src/kube/types.js';
import {
  createExternalSecret, createStore, decoded, fakeStoreSpec, getSecret, kube, newNamespace, startOperator, waitFor, waitForReady, waitForStoreReady,
} from './harness.js';

describe('work per new ExternalSecret', () => {
  it('one reconcile each; a Secret changed by someone else is still reconciled', async () => {
    const ns = await newNamespace();
    const op = await startOperator({ watchNamespace: ns });
    onTestFinished(() => op.stop());
    const reconciles = () => op.operator.metrics.total(op.operator.metrics.reconciles, { controller: 'externalsecret' });
    await createStore(ns, 'fake', fakeStoreSpec([{ key: 'k', value: 'value-k', version: '1' }]));
    await waitForStoreReady(ns, 'fake');

    // Each one is Ready well after the Secret of the one before came back through the watch.
    const names = ['a', 'b', 'c', 'd'];
    for (const name of names) {
      await createExternalSecret(ns, name, { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'v', remoteRef: { key: 'k' } }] });
      await waitForReady(ns, name);
    }
    expect(await reconciles()).toBe(names.length);

    // Someone else's write to a Secret is not ours: it is reconciled (and put back).
    await kube().mergePatch(Resources.Secret, ns, 'a', { data: { v: Buffer.from('tampered').toString('base64') } });
    await waitFor('the Secret put back', async () => decoded(await getSecret(ns, 'a')).v === 'value-k');
    expect(await reconciles()).toBeGreaterThan(names.length);
  });
});
