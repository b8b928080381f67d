// One tenant's input cannot stop the others. The shipped operator runs as its
// own process (a pinned event loop would show as a process that neither syncs
// nor stops); tenants supply regular expressions that take minutes on a
// backtracking engine.
import { describe, expect, it } from 'vitest';
import {
  createExternalSecret, createStore, decoded, fakeStoreSpec, getSecret, newNamespace, ready, spawnOperator, terminate,
  waitForReady, waitForStoreReady,
} from './harness.js';

const EVIL_KEY = `${'a'.repeat(42)}b`;

describe('tenant isolation', () => {
  it('a catastrophic-backtracking regexp runs in linear time: other namespaces sync, the ExternalSecret says why, SIGTERM still stops', async () => {
    const evil = await newNamespace();
    const innocent = await newNamespace();
    await createStore(evil, 'fake', fakeStoreSpec([{ key: EVIL_KEY, value: 'x' }]));
    await createStore(innocent, 'fake', fakeStoreSpec([{ key: 'k', value: 'innocent value' }]));
    const op = spawnOperator(['--workers', '2']);
    await waitForStoreReady(evil, 'fake');
    await waitForStoreReady(innocent, 'fake');

    await createExternalSecret(evil, 'find', { secretStoreRef: { name: 'fake' }, dataFrom: [{ find: { name: { regexp: '^(a|a)*$' } } }] });
    await createExternalSecret(evil, 'rewrite', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ find: { name: { regexp: '^a' } }, rewrite: [{ regexp: { source: '^(a|a)*$', target: 'never' } }] }],
    });
    await createExternalSecret(evil, 'backref', {
      secretStoreRef: { name: 'fake' },
      dataFrom: [{ find: { name: { regexp: '(a)\\1' } } }],
    });
    // Created after the hostile ones: it must not wait behind them.
    await createExternalSecret(innocent, 'es', { secretStoreRef: { name: 'fake' }, data: [{ secretKey: 'k', remoteRef: { key: 'k' } }] });

    await waitForReady(innocent, 'es', 'True', undefined, 15_000);
    expect(decoded(await getSecret(innocent, 'es')).k).toBe('innocent value');
    // Matched (no match) in linear time: nothing found is a clear RemoteNotFound.
    const find = await waitForReady(evil, 'find', 'False', 'RemoteNotFound', 15_000);
    expect(ready(find)?.message).toBe('remote secret "find(name ^(a|a)*$)" not found: no remote secret matches');
    // The same pattern in a rewrite leaves the key alone, in linear time.
    await waitForReady(evil, 'rewrite', 'True', undefined, 15_000);
    expect(Object.keys(decoded(await getSecret(evil, 'rewrite')))).toEqual([EVIL_KEY]);
    // What RE2 cannot run in linear time is refused, with the reason.
    const backref = await waitForReady(evil, 'backref', 'False', 'InvalidData', 15_000);
    expect(ready(backref)?.message).toMatch(/^find\.name\.regexp is not a valid RE2 regular expression \(no backreferences or lookaround\)/);

    const { code, ms } = await terminate(op);
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
  }, 60_000);
});
