/**
 * The runtime's containers by id, and how a reference finds one: a full id, a container's name, or a unique id
 * prefix, as Docker's. Listing is in creation order.
 */
import { InvalidArgumentError, TsnetError } from '../errors.js';
import type { ContainerState } from './types.js';

export class ContainerTable {
  private readonly byId = new Map<string, ContainerState>();

  has(id: string): boolean {
    return this.byId.has(id);
  }

  set(state: ContainerState): void {
    this.byId.set(state.id, state);
  }

  delete(id: string): void {
    this.byId.delete(id);
  }

  /** Every container, oldest first. */
  sorted(): ContainerState[] {
    return [...this.byId.values()].sort((a, b) => a.created.localeCompare(b.created));
  }

  nameTaken(name: string): boolean {
    for (const c of this.byId.values()) if (c.name === name) return true;
    return false;
  }

  /** By id, name, or unique id prefix; a prefix two containers share is refused. */
  find(ref: string): ContainerState {
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const all = this.sorted();
    const byName = all.find((c) => c.name === ref);
    if (byName) return byName;
    const byPrefix = ref ? all.filter((c) => c.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new InvalidArgumentError(`container id prefix "${ref}" is ambiguous`);
    throw new TsnetError('TSNET_ERR_NOT_FOUND', `container "${ref}" not found`);
  }
}
