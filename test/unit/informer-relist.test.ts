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

describe('informer rescope', () => {
  it('relists with the new selector: what it no longer selects leaves (not deleted), what was deleted in scope is deleted', async () => {
    const labelled = (name: string, shard: string): KubeObject => ({ metadata: { name, namespace: 'ns', resourceVersion: '1', labels: { shard } } });
    let objects = [labelled('a', '1'), labelled('b', '2'), labelled('c', '2')];
    const selectors: Array<string | undefined> = [];
    const client = {
      list: (_type: unknown, opts: { labelSelector?: string }) => {
        selectors.push(opts.labelSelector);
        const wanted = /\((.*)\)/.exec(opts.labelSelector ?? '')?.[1]?.split(',') ?? [];
        return Promise.resolve({ items: objects.filter((o) => wanted.includes(o.metadata.labels!.shard!)), metadata: { resourceVersion: '1' } });
      },
      // A watch that stays open until aborted, as a real one does.
      watch: (_t: unknown, _o: unknown, signal: AbortSignal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
      resetConnections: () => undefined,
    } as unknown as KubeClient;
    const informer = new Informer<KubeObject>(client, Resources.Secret, { log: pino({ level: 'silent' }), labelSelector: 'shard in (1,2)' });
    const events: string[] = [];
    informer.addHandlers({
      onAdd: (o) => events.push(`add ${o.metadata.name}`),
      onDelete: (o) => events.push(`delete ${o.metadata.name}`),
      onLeave: (o) => events.push(`leave ${o.metadata.name}`),
    });
    await informer.start();
    const cachedB = informer.get('ns/b');
    events.length = 0;
    // c is deleted meanwhile; bucket 1 is given up, bucket 3 taken.
    objects = [labelled('a', '1'), labelled('b', '2'), labelled('d', '3')];
    await informer.rescope('shard in (2,3)', (o) => ['2', '3'].includes(o.metadata.labels!.shard!));
    expect(events.sort()).toEqual(['add d', 'delete c', 'leave a']);
    expect(informer.get('ns/b')).toBe(cachedB);
    expect(selectors.at(-1)).toBe('shard in (2,3)');
    await informer.stop();
  });
});
