/**
 * The controller's state in memory: networks, endpoints and live sandboxes, mirrored from the store. Only the
 * controller's operations (this folder) change it; everyone else reads through the Controller's accessors.
 */
import type { Handle } from '../netlink/handle.js';
import type { NetNs } from '../netns/netns.js';
import type { EndpointRecord, JoinedEndpoint, NetworkRecord, SandboxRecord, WireRecord } from './types.js';

/** A sandbox with what is open on it while tsnet runs. */
export interface LiveSandbox {
  readonly record: SandboxRecord;
  readonly ns: NetNs;
  readonly handle: Handle;
}

export interface EndpointFilter {
  readonly networkId?: string;
  readonly sandboxId?: string;
}

export class CnmState {
  private readonly networks = new Map<string, NetworkRecord>();
  private readonly endpoints = new Map<string, EndpointRecord>();
  /** The endpoints by sandbox and by network: a lookup costs what the sandbox or network has, not all endpoints. */
  private readonly bySandbox = new Map<string, Map<string, EndpointRecord>>();
  private readonly byNetwork = new Map<string, Map<string, EndpointRecord>>();
  private readonly sandboxes = new Map<string, LiveSandbox>();
  private readonly wires = new Map<string, WireRecord>();
  private joinSeq = 0;

  networkList(): NetworkRecord[] {
    return [...this.networks.values()];
  }
  findNetwork(id: string): NetworkRecord | undefined {
    return this.networks.get(id);
  }
  putNetwork(n: NetworkRecord): void {
    this.networks.set(n.id, n);
  }
  dropNetwork(id: string): void {
    this.networks.delete(id);
  }

  endpointList(): EndpointRecord[] {
    return [...this.endpoints.values()];
  }
  findEndpoint(id: string): EndpointRecord | undefined {
    return this.endpoints.get(id);
  }
  putEndpoint(e: EndpointRecord): void {
    // A changed endpoint keeps its place, in the indexes too (Map.set keeps a key's place).
    const old = this.endpoints.get(e.id);
    if (old && old.networkId !== e.networkId) unindexUnder(this.byNetwork, old.networkId, old.id);
    if (old?.kind === 'joined' && (e.kind !== 'joined' || e.sandboxId !== old.sandboxId)) unindexUnder(this.bySandbox, old.sandboxId, old.id);
    this.endpoints.set(e.id, e);
    indexUnder(this.byNetwork, e.networkId, e);
    if (e.kind === 'joined') {
      indexUnder(this.bySandbox, e.sandboxId, e);
      this.joinSeq = Math.max(this.joinSeq, e.joinSeq);
    }
  }
  dropEndpoint(id: string): void {
    const old = this.endpoints.get(id);
    if (!old) return;
    this.endpoints.delete(id);
    this.unindex(old);
  }
  private unindex(e: EndpointRecord): void {
    unindexUnder(this.byNetwork, e.networkId, e.id);
    if (e.kind === 'joined') unindexUnder(this.bySandbox, e.sandboxId, e.id);
  }
  nextJoinSeq(): number {
    return ++this.joinSeq;
  }

  /** Joined endpoints, in the order they joined; with a network filter, Docker's detached ones too. */
  endpointsOf(filter: EndpointFilter): EndpointRecord[] {
    const some =
      filter.sandboxId !== undefined
        ? this.bySandbox.get(filter.sandboxId)
        : filter.networkId !== undefined
          ? this.byNetwork.get(filter.networkId)
          : this.endpoints;
    return [...(some?.values() ?? [])]
      .filter(
        (e) =>
          (filter.networkId === undefined || e.networkId === filter.networkId) &&
          (filter.sandboxId === undefined || (e.kind === 'joined' && e.sandboxId === filter.sandboxId)),
      )
      .sort((a, b) => seq(a) - seq(b));
  }
  /** The endpoints joined to a sandbox, in the order they joined. */
  joinedTo(sandboxId: string): JoinedEndpoint[] {
    return this.endpointsOf({ sandboxId }).filter((e): e is JoinedEndpoint => e.kind === 'joined');
  }

  wireList(): WireRecord[] {
    return [...this.wires.values()];
  }
  findWire(id: string): WireRecord | undefined {
    return this.wires.get(id);
  }
  putWire(w: WireRecord): void {
    this.wires.set(w.id, w);
  }
  dropWire(id: string): void {
    this.wires.delete(id);
  }

  sandboxList(): LiveSandbox[] {
    return [...this.sandboxes.values()];
  }
  findSandbox(id: string): LiveSandbox | undefined {
    return this.sandboxes.get(id);
  }
  putSandbox(s: LiveSandbox): void {
    this.sandboxes.set(s.record.id, s);
  }
  dropSandbox(id: string): void {
    this.sandboxes.delete(id);
  }
}

const seq = (e: EndpointRecord): number => (e.kind === 'joined' ? e.joinSeq : 0);

function indexUnder(index: Map<string, Map<string, EndpointRecord>>, key: string, e: EndpointRecord): void {
  let m = index.get(key);
  if (!m) index.set(key, (m = new Map()));
  m.set(e.id, e);
}

function unindexUnder(index: Map<string, Map<string, EndpointRecord>>, key: string, id: string): void {
  const m = index.get(key);
  m?.delete(id);
  if (m?.size === 0) index.delete(key);
}
