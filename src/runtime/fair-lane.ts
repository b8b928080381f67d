// One lane of the work queue, served fairly. Keys wait in a queue per flow
// (an ExternalSecret's store), flows take turns within their tenant (the
// namespace), and tenants take turns: each pop serves the next tenant in
// turn. A namespace with 10,000 keys waiting delays another namespace's new
// key by one key per namespace with work, not by 10,000.
//
// This is fair queuing with equal weights, as kube-apiserver's API Priority
// and Fairness does within a priority level, without its shuffle sharding:
// APF hashes unbounded flows onto a fixed set of queues to bound its memory,
// while our flows are namespaces and stores the cache already holds, so each
// gets a queue of its own and no two tenants ever share one.

/** First in, first out, over an array with a moving head (shift() is O(n)). */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  get size(): number {
    return this.items.length - this.head;
  }
}

/** Named members taking turns: next() hands out the one whose turn it is. */
class Turns<T> {
  private readonly members = new Map<string, T>();
  private readonly order = new Fifo<string>();

  /** The member of that name, enlisted at the back when new. */
  member(name: string, make: () => T): T {
    let member = this.members.get(name);
    if (member === undefined) {
      member = make();
      this.members.set(name, member);
      this.order.push(name);
    }
    return member;
  }

  /** The member whose turn it is, taken out of the order: hand it back with again() or drop(). */
  next(): [string, T] | undefined {
    const name = this.order.shift();
    return name === undefined ? undefined : [name, this.members.get(name)!];
  }

  again(name: string): void {
    this.order.push(name);
  }

  drop(name: string): void {
    this.members.delete(name);
  }

  get size(): number {
    return this.members.size;
  }
}

export class FairLane {
  private readonly tenants = new Turns<Turns<Fifo<string>>>();

  push(tenant: string, flow: string, key: string): void {
    this.tenants.member(tenant, () => new Turns()).member(flow, () => new Fifo()).push(key);
  }

  /** The next live key in turn; keys `live` rejects (stale entries) are dropped on the way. */
  pop(live: (key: string) => boolean): string | undefined {
    for (let turn = this.tenants.next(); turn; turn = this.tenants.next()) {
      const [tenant, flows] = turn;
      const key = popFlow(flows, live);
      if (flows.size > 0) this.tenants.again(tenant);
      else this.tenants.drop(tenant);
      if (key !== undefined) return key;
    }
    return undefined;
  }
}

/** The next live key of a tenant's flows in turn; flows left empty leave the turns. */
function popFlow(flows: Turns<Fifo<string>>, live: (key: string) => boolean): string | undefined {
  for (let turn = flows.next(); turn; turn = flows.next()) {
    const [flow, keys] = turn;
    let key = keys.shift();
    while (key !== undefined && !live(key)) key = keys.shift();
    if (keys.size > 0) flows.again(flow);
    else flows.drop(flow);
    if (key !== undefined) return key;
  }
  return undefined;
}
