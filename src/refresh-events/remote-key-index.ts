// Which ExternalSecrets read a remote key of a store: what a change event
// for that key refreshes. Keys are the remoteRef.key (data) and extract.key
// (dataFrom) as the ExternalSecret writes them; an ExternalSecret with a
// `find` cannot be matched by key, so any event of its store refreshes it.
import { storeIdFor, storeKey } from '../api/store-id.js';
import type { ExternalSecret } from '../api/types.js';

const ANY_KEY = '\0any';

export class RemoteKeyIndex {
  /** "storeKey\0remoteKey" (or storeKey\0\0any) -> ExternalSecret keys. */
  private readonly readers = new Map<string, Set<string>>();
  /** ExternalSecret key -> the entries it is in, to remove it. */
  private readonly entries = new Map<string, string[]>();

  set(es: ExternalSecret): void {
    const key = `${es.metadata.namespace}/${es.metadata.name}`;
    this.remove(key);
    const id = storeIdFor(es);
    if (!id) return;
    const store = storeKey(id);
    const remote = new Set<string>();
    for (const d of es.spec.data ?? []) remote.add(d.remoteRef.key);
    for (const d of es.spec.dataFrom ?? []) {
      if (d.extract) remote.add(d.extract.key);
      if (d.find) remote.add(ANY_KEY);
    }
    const mine = [...remote].map((r) => `${store}\0${r}`);
    for (const entry of mine) {
      let set = this.readers.get(entry);
      if (!set) this.readers.set(entry, (set = new Set()));
      set.add(key);
    }
    this.entries.set(key, mine);
  }

  remove(esKey: string): void {
    for (const entry of this.entries.get(esKey) ?? []) {
      const set = this.readers.get(entry);
      set?.delete(esKey);
      if (set?.size === 0) this.readers.delete(entry);
    }
    this.entries.delete(esKey);
  }

  /** The ExternalSecrets a change of this key in this store concerns. */
  readersOf(store: string, remoteKey: string): Set<string> {
    return new Set([...(this.readers.get(`${store}\0${remoteKey}`) ?? []), ...(this.readers.get(`${store}\0${ANY_KEY}`) ?? [])]);
  }
}
