/**
 * What the embedded resolver may answer for one client: the names of the containers on the networks it shares
 * with them, their reverse names, and where other questions go. Built per query by the daemon from the live state,
 * so a removed container's names go at once.
 */

/** The addresses of one name, without prefix lengths. */
export interface NameAddresses {
  readonly v4: readonly string[];
  readonly v6: readonly string[];
}

export interface ClientScope {
  /** Lower-case names without a trailing dot. */
  readonly names: ReadonlyMap<string, NameAddresses>;
  /** Address to the name its PTR answers. */
  readonly reverse: ReadonlyMap<string, string>;
  /** Servers other names are forwarded to; none: nothing is forwarded (internal networks). */
  readonly upstreams: readonly string[];
}

export interface NameDirectory {
  /** The scope of a query from client that arrived at local (a network's gateway); undefined: not ours to answer. */
  scopeOf(client: string, local: string): ClientScope | undefined;
}

/** Adds addresses under a name (names are case-insensitive; a name on two networks gets both addresses). */
export function addName(names: Map<string, NameAddresses>, name: string, v4: readonly string[], v6: readonly string[]): void {
  const key = name.toLowerCase().replace(/\.$/u, '');
  const had = names.get(key);
  names.set(key, { v4: [...new Set([...(had?.v4 ?? []), ...v4])], v6: [...new Set([...(had?.v6 ?? []), ...v6])] });
}
