import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StoreHeldBackError } from '../../src/providers/errors.js';
import { fakeProvider } from '../../src/providers/fake/provider.js';
import { StoreClients } from '../../src/providers/store-clients.js';
import { StoreSeats, type Seat } from '../../src/providers/store-seats.js';
import { Metrics } from '../../src/runtime/metrics.js';

describe('StoreSeats', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  function seats(maxWaiting = 3, maxHolding = 2) {
    const woken: string[] = [];
    const states: boolean[] = [];
    const store = new StoreSeats('SecretStore/a/vault', { slowMs: 1000, maxWaiting, maxHolding, wake: (k) => woken.push(k), onChange: (s) => states.push(s.heldBack) });
    return { store, woken, states };
  }

  it('never turns a fast store away, however many syncs it has at once', () => {
    const { store } = seats();
    const taken: Seat[] = [];
    for (let i = 0; i < 100; i++) taken.push(store.take(`a/es-${i}`, () => expect.unreachable()));
    vi.advanceTimersByTime(999);
    for (const seat of taken) seat.leave();
    vi.advanceTimersByTime(10_000);
    expect(store.isHeldBack).toBe(false);
  });

  it('releases each slow sync\'s worker, and holds the store back once maxWaiting are slow', () => {
    const { store, states } = seats();
    const released: string[] = [];
    for (let i = 0; i < 3; i++) store.take(`a/es-${i}`, () => released.push(`a/es-${i}`));
    vi.advanceTimersByTime(1000);
    expect(released).toEqual(['a/es-0', 'a/es-1', 'a/es-2']);
    expect(store.isHeldBack).toBe(true);
    expect(states.at(-1)).toBe(true);
    expect(() => store.take('a/late', () => undefined)).toThrow(StoreHeldBackError);
    expect(() => store.take('a/late', () => undefined)).toThrow(/store SecretStore\/a\/vault is held back: 3 of its ExternalSecrets have waited on its calls for over 1000 ms/);
  });

  it('while held back, gives the seats of returning syncs to those turned away, oldest first, and never more than maxHolding hold a worker', () => {
    const { store, woken } = seats(3, 2);
    const slow = [0, 1, 2].map((i) => store.take(`a/es-${i}`, () => undefined));
    vi.advanceTimersByTime(1000);
    for (const k of ['a/t1', 'a/t2', 'a/t3']) expect(() => store.take(k, () => undefined)).toThrow(StoreHeldBackError);
    slow[0]!.leave(); // a slow call returned: one seat free
    expect(woken).toEqual(['a/t1']);
    store.take('a/t1', () => undefined);
    slow[1]!.leave();
    expect(woken).toEqual(['a/t1', 'a/t2']);
    store.take('a/t2', () => undefined);
    // A seat is free, but a/t1 and a/t2 already hold maxHolding (2) workers.
    slow[2]!.leave();
    expect(woken).toEqual(['a/t1', 'a/t2']);
    expect(() => store.take('a/t3', () => undefined)).toThrow(StoreHeldBackError);
    expect(store.isHeldBack).toBe(true);
  });

  it('stops holding the store back when a call answers within slowMs and none is slow, and wakes everyone turned away', () => {
    const { store, woken, states } = seats(2, 1);
    const slow = [0, 1].map((i) => store.take(`a/es-${i}`, () => undefined));
    vi.advanceTimersByTime(1000);
    for (const k of ['a/t1', 'a/t2', 'a/t3']) expect(() => store.take(k, () => undefined)).toThrow(StoreHeldBackError);
    slow[0]!.leave();
    slow[1]!.leave();
    expect(store.isHeldBack).toBe(true); // slow answers do not show the provider is back
    const probe = store.take('a/t1', () => undefined);
    vi.advanceTimersByTime(50);
    probe.leave();
    expect(store.isHeldBack).toBe(false);
    expect(states.at(-1)).toBe(false);
    expect(woken).toEqual(['a/t1', 'a/t2', 'a/t3']);
  });

  it('wakes everyone turned away when the client is replaced', () => {
    const { store, woken } = seats(1, 1);
    store.take('a/es', () => undefined);
    vi.advanceTimersByTime(1000);
    expect(() => store.take('a/t1', () => undefined)).toThrow(StoreHeldBackError);
    store.close();
    expect(woken).toEqual(['a/t1']);
  });
});

describe('StoreClients: seats by store', () => {
  afterEach(() => void vi.useRealTimers());

  it('a store\'s spec.slowCalls.maxWaiting overrides the default, and a store without it gets the default', async () => {
    vi.useFakeTimers();
    const clients = new StoreClients(undefined as never, new Metrics(), {
      callTimeoutMs: 30_000,
      providers: { fake: fakeProvider },
      seats: { slowMs: 500, defaultMaxWaiting: 16, maxHolding: 4, wake: () => undefined },
    });
    const store = (name: string, maxWaiting?: number) => ({
      metadata: { name, namespace: 'tenant', uid: name, generation: 1 },
      spec: { provider: { fake: { data: [] } }, ...(maxWaiting ? { slowCalls: { maxWaiting } } : {}) },
    }) as never;
    /** How many syncs turn slow before the store is held back. */
    const slowUntilHeldBack = async (s: never) => {
      const seats = (await clients.get(s, 'SecretStore')).seats!;
      for (let n = 1; n <= 32; n++) {
        seats.take(`tenant/es-${n}`, () => undefined);
        vi.advanceTimersByTime(500);
        if (seats.isHeldBack) return n;
      }
      return Infinity;
    };
    expect(await slowUntilHeldBack(store('narrow', 2))).toBe(2);
    expect(await slowUntilHeldBack(store('default'))).toBe(16);
    await clients.closeAll();
  });
});
