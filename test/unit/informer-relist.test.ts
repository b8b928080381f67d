// A relist keeps the cached copy of every object that did not change, so a
// relist of 10,000 objects does not hold the cache twice.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import type { KubeClient } from '../../src/kube/client.js';
import { Resources, type KubeObject } from '../../src/kube/types.js';
import { Informer } from '../../src/runtime/informer.js';

const obj = (name: string, resourceVersion: string): KubeObject => ({
  metadata: { name, namespace: 'ns', resourceVersion, managedFields: [{ manager: 'm', operation: 'Apply' }] },
});

describe('informer relist', () => {
  it('keeps the cached copy of unchanged objects and takes the new one of changed objects', async () => {
    const lists = [
      [obj('a', '1'), obj('b', '1')],
      [obj('a', '1'), obj('b', '2')],
    ];
    let listed = 0;
    let relisted!: () => void;
    const secondList = new Promise<void>((resolve) => (relisted = resolve));
    const client = {
      list: () => {
        const items = lists[Math.min(listed, lists.length - 1)]!;
        listed++;
        if (listed === 2) setTimeout(relisted, 0);
        return Promise.resolve({ items, metadata: { resourceVersion: String(listed) } });
      },
      // Each watch ends after a tick; with a relist period of 0 the next loop relists.
      watch: () => new Promise((resolve) => setTimeout(() => resolve(new Response('', { status: 200 })), 5)),
      resetConnections: () => undefined,
    } as unknown as KubeClient;
    const informer = new Informer<KubeObject>(client, Resources.Secret, { log: pino({ level: 'silent' }), relistIntervalMs: 0 });
    const updated: string[] = [];
    informer.addHandlers({ onUpdate: (_, next) => updated.push(next.metadata.name) });
    await informer.start();
    const firstA = informer.get('ns/a');
    const firstB = informer.get('ns/b');
    expect(firstA?.metadata.managedFields).toBeUndefined();
    await secondList;
    await informer.stop();
    expect(informer.get('ns/a')).toBe(firstA);
    expect(informer.get('ns/a')).not.toBe(lists[1]![0]);
    expect(informer.get('ns/b')).not.toBe(firstB);
    expect(informer.get('ns/b')?.metadata.resourceVersion).toBe('2');
    expect(updated).toEqual(['b']);
  });
});
