// A reverse index: from something an object points at to the objects that
// point at it (a Secret or store -> the ExternalSecrets that use it).
// Most targets have one owner (a Secret, its ExternalSecret): that owner is
// kept as is, and a Set is made only for a second one (a Set per Secret was
// 1.8 MiB at 10,000 Secrets). Keys are held as shared strings: each caller
// builds its own copy of "namespace/name".
import { shared } from './shared-strings.js';

export class ReverseIndex {
  private readonly forward = new Map<string, string>();
  private readonly reverse = new Map<string, string | Set<string>>();

  set(ownerKey: string, targetKey: string): void {
    const before = this.forward.get(ownerKey);
    if (before === targetKey) return;
    if (before !== undefined) this.remove(ownerKey);
    const owner = shared(ownerKey);
    const target = shared(targetKey);
    this.forward.set(owner, target);
    const owners = this.reverse.get(target);
    if (owners === undefined) this.reverse.set(target, owner);
    else if (typeof owners === 'string') this.reverse.set(target, new Set([owners, owner]));
    else owners.add(owner);
  }

  remove(owner: string): void {
    const target = this.forward.get(owner);
    if (target === undefined) return;
    this.forward.delete(owner);
    const owners = this.reverse.get(target);
    if (typeof owners === 'string') this.reverse.delete(target);
    else if (owners) {
      owners.delete(owner);
      if (owners.size === 1) this.reverse.set(target, owners.values().next().value!);
    }
  }

  /** What an owner points at, if anything. */
  targetOf(owner: string): string | undefined {
    return this.forward.get(owner);
  }

  ownerCount(target: string): number {
    const owners = this.reverse.get(target);
    return owners === undefined ? 0 : typeof owners === 'string' ? 1 : owners.size;
  }

  ownersOf(target: string): Iterable<string> {
    const owners = this.reverse.get(target);
    return owners === undefined ? [] : typeof owners === 'string' ? [owners] : owners;
  }
}
