// A reverse index: from something an object points at to the objects that
// point at it (a Secret or store -> the ExternalSecrets that use it).
export class ReverseIndex {
  private readonly forward = new Map<string, string>();
  private readonly reverse = new Map<string, Set<string>>();

  set(owner: string, target: string): void {
    const before = this.forward.get(owner);
    if (before === target) return;
    if (before !== undefined) this.remove(owner);
    this.forward.set(owner, target);
    let owners = this.reverse.get(target);
    if (!owners) this.reverse.set(target, (owners = new Set()));
    owners.add(owner);
  }

  remove(owner: string): void {
    const target = this.forward.get(owner);
    if (target === undefined) return;
    this.forward.delete(owner);
    const owners = this.reverse.get(target);
    owners?.delete(owner);
    if (owners?.size === 0) this.reverse.delete(target);
  }

  ownersOf(target: string): Iterable<string> {
    return this.reverse.get(target) ?? [];
  }
}
