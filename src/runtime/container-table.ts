/**
 * The runtime's containers by id, and how a reference finds one: a full id, a container's name, or a unique id
 * prefix, as Docker's. Listing is in creation order.
 */
import { InvalidArgumentError, TsnetError } from '../errors.js';
import type { ContainerState } from './types.js';

export class ContainerTable {
  /** In creation order while `ordered`: containers are added as they are made, so a listing need not sort them. */
  private byId = new Map<string, ContainerState>();
  private ordered = true;
  private newest = '';
  /**
   * Container ids by the value of a label, for each label key asked about (built at its first question, then kept
   * as containers come and go; a container's labels never change): one container's peers are found without reading
   * every container, which a removal of many did for each.
   */
  private readonly byLabel = new Map<string, Map<string, Set<string>>>();

  has(id: string): boolean {
    return this.byId.has(id);
  }

  set(state: ContainerState): void {
    if (!this.byId.has(state.id)) {
      // Read back from the disk at open, they come in the folder's order: sorted once, at the next listing.
      if (state.created < this.newest) this.ordered = false;
      else this.newest = state.created;
      for (const [key, index] of this.byLabel) indexLabel(index, state, key);
    }
    this.byId.set(state.id, state);
  }

  delete(id: string): void {
    const state = this.byId.get(id);
    if (!state) return;
    this.byId.delete(id);
    for (const [key, index] of this.byLabel) {
      const value = state.config.labels?.[key];
      if (value !== undefined) index.get(value)?.delete(id);
    }
  }

  /** The containers whose label KEY has this value, oldest first. */
  withLabel(key: string, value: string): ContainerState[] {
    let index = this.byLabel.get(key);
    if (!index) {
      index = new Map();
      for (const c of this.byId.values()) indexLabel(index, c, key);
      this.byLabel.set(key, index);
    }
    return [...(index.get(value) ?? [])].map((id) => this.byId.get(id)!).sort(byCreation);
  }

  /** Every container, oldest first (ISO times, which sort as strings). */
  sorted(): ContainerState[] {
    if (!this.ordered) {
      this.byId = new Map([...this.byId].sort(([, a], [, b]) => byCreation(a, b)));
      this.ordered = true;
    }
    return [...this.byId.values()];
  }

  /** The containers that match, oldest first. */
  filter(match: (c: ContainerState) => boolean): ContainerState[] {
    if (!this.ordered) return this.sorted().filter(match);
    const found: ContainerState[] = [];
    for (const c of this.byId.values()) if (match(c)) found.push(c);
    return found;
  }

  nameTaken(name: string): boolean {
    for (const c of this.byId.values()) if (c.name === name) return true;
    return false;
  }

  /** By id, name, or unique id prefix; a prefix two containers share is refused. */
  find(ref: string): ContainerState {
    const byId = this.byId.get(ref);
    if (byId) return byId;
    const [byName] = this.filter((c) => c.name === ref);
    if (byName) return byName;
    const byPrefix = ref ? this.filter((c) => c.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new InvalidArgumentError(`container id prefix "${ref}" is ambiguous`);
    throw new TsnetError('TSNET_ERR_NOT_FOUND', `container "${ref}" not found`);
  }
}

/** Oldest first (ISO times sort as strings). */
function byCreation(a: ContainerState, b: ContainerState): number {
  return a.created < b.created ? -1 : a.created > b.created ? 1 : 0;
}

function indexLabel(index: Map<string, Set<string>>, state: ContainerState, key: string): void {
  const value = state.config.labels?.[key];
  if (value === undefined) return;
  const ids = index.get(value);
  if (ids) ids.add(state.id);
  else index.set(value, new Set([state.id]));
}
