/**
 * The Controller: the one owner and only writer of tsnet's network state. It runs every operation (network/,
 * endpoint/, sandbox/, docker.ts, reconcile.ts) one at a time on its queue, each validating first and committing
 * to the store before it returns, and offers read-only views of networks, endpoints and sandboxes.
 */
import { SerialQueue } from '../lib/serial-queue.js';
import { CnmCore, type ControllerDeps } from './core.js';
import * as docker from './docker.js';
import { disconnect, type ConnectRequest } from './endpoint/connect.js';
import { connectMany, type ConnectCall } from './endpoint/connect-many.js';
import { QueuedBatch } from './queued-batch.js';
import { createNetwork, type DockerNetworkRequest, type NetworkCreateRequest } from './network/create.js';
import {
  DEFAULT_BRIDGE_NETWORK,
  HOST_NETWORK,
  NULL_NETWORK,
  deleteNetwork,
  pruneNetworks,
  removalRefusal,
  type PruneFilter,
  type Requester,
} from './network/delete.js';
import { adoptGlobalNetwork, forgetGlobalNetwork, isGlobal, programRemotePeers } from './network/global.js';
import type { GlobalNetwork } from './cluster.js';
import { checkDriverState, checkKernel, reconcile, type ReconcileReport } from './reconcile.js';
import { servesDns } from './sandbox/hosts.js';
import { addSandboxAddresses, addSandboxRoutes, setSandboxSysctls, type SandboxRoute } from './sandbox/tuning.js';
import { ensureHostBridge, removeHostBridges } from './wires/host-bridges.js';
import { createWires, deleteWires, type WireSpec } from './wires/wires.js';
import { probeImpairmentSupport, type ImpairmentSupport } from './wires/impair-support.js';
import { downProgram, impairWireEnd, wireEndCounters, type WireEndCounters } from './wires/impair.js';
import type { Impairment } from '../lib/impairment.js';
import { SandboxCreateBatch } from './sandbox/create-batch.js';
import { SandboxDeleteBatch } from './sandbox/delete-batch.js';
import { createSandbox, deleteSandboxes, type SandboxCreateRequest } from './sandbox/lifecycle.js';
import type { EndpointFilter, LiveSandbox } from './state.js';
import type {
  DetachedEndpoint,
  DockerPoolRecord,
  EndpointBase,
  EndpointRecord,
  JoinedEndpoint,
  NetworkRecord,
  PortBinding,
  PortSpec,
  RemotePeer,
  SandboxRecord,
  WireRecord,
} from './types.js';

export type {
  ConnectRequest,
  ControllerDeps,
  DockerNetworkRequest,
  EndpointFilter,
  LiveSandbox,
  NetworkCreateRequest,
  ReconcileReport,
  Requester,
  SandboxCreateRequest,
  PortSpec,
  PortBinding,
  SandboxRoute,
  WireRecord,
  WireSpec,
};
export { DEFAULT_BRIDGE_NETWORK, HOST_NETWORK, NULL_NETWORK };

export class Controller {
  private readonly core: CnmCore;
  private readonly queue = new SerialQueue();
  private readonly sandboxCreates = new SandboxCreateBatch(
    (op) => this.run(op),
    (req) => createSandbox(this.core, req),
  );
  private readonly sandboxDeletes = new SandboxDeleteBatch(
    (op) => this.run(op),
    (ids) =>
      deleteSandboxes(
        this.core,
        ids.map((id) => this.core.sandbox(id)),
      ),
    (id) => this.hasSandbox(id),
  );
  /**
   * Connects asked for while others run are made together (see connect-many.ts), 64 at most (QueuedBatch's cap): a
   * batch's callers all wait for it, and its endpoints hold their namespaces open during the driver's one call.
   */
  private readonly connects = new QueuedBatch<ConnectCall, JoinedEndpoint>(
    (op) => this.run(op),
    (calls) => connectMany(this.core, calls),
  );
  /** Counts finished operations: readers that cache what they derive from the state (the resolver) compare it. */
  private changes = 0;
  /** Told after networks came or went (the embedded resolver listens on their gateways). */
  private readonly networkWatchers: (() => void)[] = [];
  /** Told after every operation (the cluster agent announces this host's endpoints from the state). */
  private readonly changeWatchers: (() => Promise<void>)[] = [];

  private constructor(deps: ControllerDeps) {
    this.core = new CnmCore(deps);
  }

  /** Runs an operation on the queue; whatever its outcome, the state may have changed. */
  private run<T>(op: () => Promise<T>): Promise<T> {
    return this.queue.run(async () => {
      try {
        return await op();
      } finally {
        this.changes++;
        // Awaited: what the watchers derive from the state (the cluster's announcements) is done when the operation is.
        for (const fn of this.changeWatchers) await fn();
      }
    });
  }

  /** A number that grows whenever an operation has finished (and so the state may differ from before). */
  stateVersion(): number {
    return this.changes;
  }

  /** Makes a controller on its dependencies and reconciles the kernel with the store before anything else runs. */
  static async open(deps: ControllerDeps): Promise<{ controller: Controller; report: ReconcileReport }> {
    const controller = new Controller(deps);
    const report = await controller.queue.run(() => reconcile(controller.core));
    return { controller, report };
  }

  /** Closes what is open (handles, the store). The kernel objects stay: the next start re-adopts them. */
  close(): Promise<void> {
    return this.run(async () => {
      for (const s of this.core.state.sandboxList()) s.handle.close();
      // The published ports' rules stay; their host ports are held again by the next start.
      this.core.ports.releaseAll();
      this.core.driverCtx.host.close();
      this.core.deps.store.close();
    });
  }

  // ---- reading

  /** By id, by name, or by a unique prefix of the id. */
  network(ref: string): NetworkRecord {
    return this.core.network(ref);
  }
  networks(): readonly NetworkRecord[] {
    return this.core.state.networkList();
  }
  endpoint(id: string): EndpointRecord | undefined {
    return this.core.state.findEndpoint(id);
  }
  /** Joined endpoints in joining order; with only a network filter, Docker's detached ones too. */
  endpointsOf(filter: EndpointFilter): readonly EndpointRecord[] {
    return this.core.state.endpointsOf(filter);
  }
  joinedTo(sandboxId: string): readonly JoinedEndpoint[] {
    return this.core.state.joinedTo(sandboxId);
  }
  sandbox(id: string): LiveSandbox {
    return this.core.sandbox(id);
  }
  hasSandbox(id: string): boolean {
    return !!this.core.state.findSandbox(id);
  }
  sandboxes(): readonly LiveSandbox[] {
    return this.core.state.sandboxList();
  }
  /** The folder of a sandbox's hosts and resolv.conf files. */
  sandboxFilesDir(id: string): string {
    return this.core.files.dir(id);
  }
  /** Counters of the netlink handle in the host namespace (for benches: sends, messages, time in the kernel). */
  hostNetlinkStats(): Readonly<{ sends: number; messages: number; kernelMs: number }> {
    return { ...this.core.driverCtx.host.stats };
  }
  counts(): { networks: number; endpoints: number; sandboxes: number } {
    const { state } = this.core;
    return { networks: state.networkList().length, endpoints: state.endpointList().length, sandboxes: state.sandboxList().length };
  }
  /** Why a requester may not remove a network (Docker's, a predefined one), or undefined. */
  removalRefusal(network: NetworkRecord, by: Requester): string | undefined {
    return removalRefusal(network, by, this.core.predefined);
  }

  // ---- networks

  /** Calls fn after every change to the set of networks (run on the controller's queue, after the change). */
  watchNetworks(fn: () => void): void {
    this.networkWatchers.push(fn);
  }
  private changesNetworks<T>(op: () => Promise<T>): Promise<T> {
    return this.run(async () => {
      try {
        return await op();
      } finally {
        for (const fn of this.networkWatchers) fn();
      }
    });
  }

  /**
   * Calls fn after every operation, on the controller's queue, before the operation answers: fn must not throw,
   * nor call the controller's operations.
   */
  watchChanges(fn: () => Promise<void>): void {
    this.changeWatchers.push(fn);
  }

  // ---- global networks (the cluster agent keeps them in line with the cluster store)

  /** Makes a network of the cluster store on this host (nothing when it is here). */
  adoptGlobalNetwork(stored: GlobalNetwork): Promise<NetworkRecord> {
    return this.changesNetworks(() => adoptGlobalNetwork(this.core, stored));
  }
  /** Removes a global network the cluster store no longer has from this host. */
  forgetGlobalNetwork(id: string): Promise<void> {
    return this.changesNetworks(() => forgetGlobalNetwork(this.core, id));
  }
  /** The containers of other hosts on a global network, programmed into this host's kernel. */
  programRemotePeers(networkId: string, peers: readonly RemotePeer[]): Promise<void> {
    return this.run(() => programRemotePeers(this.core, networkId, peers));
  }
  /** Whether a network lives in the cluster store (its driver is global-scope). */
  isGlobal(network: NetworkRecord): boolean {
    return isGlobal(this.core, network);
  }

  createNetwork(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.changesNetworks(() => createNetwork(this.core, req));
  }
  deleteNetwork(ref: string, by: Requester = 'tsnet'): Promise<void> {
    return this.changesNetworks(() => deleteNetwork(this.core, this.core.network(ref), by));
  }
  pruneNetworks(filter: PruneFilter = {}): Promise<string[]> {
    return this.changesNetworks(() => pruneNetworks(this.core, filter));
  }
  /**
   * The predefined networks, made when missing: `none`, and with a bridge interface name Docker's default network
   * `bridge` (an automatic subnet from the default pools, as docker0's), which `run` uses when given no network.
   */
  ensurePredefinedNetworks(options: { defaultBridge?: string; host?: boolean } = {}): Promise<void> {
    return this.changesNetworks(async () => {
      const has = (name: string): boolean => this.core.state.networkList().some((n) => n.name === name);
      if (!has(NULL_NETWORK)) await createNetwork(this.core, { name: NULL_NETWORK, driver: 'null' });
      this.core.predefined.add(NULL_NETWORK);
      if (options.host) {
        if (!this.core.state.networkList().some((n) => n.driver === 'host')) await createNetwork(this.core, { name: HOST_NETWORK, driver: 'host' });
        if (has(HOST_NETWORK)) this.core.predefined.add(HOST_NETWORK);
      }
      if (options.defaultBridge === undefined) return;
      if (!has(DEFAULT_BRIDGE_NETWORK)) {
        await createNetwork(this.core, {
          name: DEFAULT_BRIDGE_NETWORK,
          driver: 'bridge',
          options: { 'com.docker.network.bridge.name': options.defaultBridge },
        });
      }
      this.core.predefined.add(DEFAULT_BRIDGE_NETWORK);
    });
  }

  /** The networks whose containers resolve each other through the embedded resolver on their gateway address. */
  dnsNetworks(): readonly NetworkRecord[] {
    return this.core.state.networkList().filter((n) => servesDns(this.core, n));
  }

  /** The network `run` joins when given none: the default bridge when there is one, else `none`. */
  defaultNetwork(): string {
    return this.core.predefined.has(DEFAULT_BRIDGE_NETWORK) ? DEFAULT_BRIDGE_NETWORK : NULL_NETWORK;
  }

  // ---- sandboxes and endpoints

  /** Creates a sandbox; creations asked for while others run are made together (see SandboxCreateBatch). */
  createSandbox(req: SandboxCreateRequest): Promise<SandboxRecord> {
    return this.sandboxCreates.create(req);
  }
  /** Removes sandboxes and their endpoints; the host ends of all their veths go in one request per driver. */
  deleteSandboxes(ids: readonly string[]): Promise<void> {
    return this.run(() =>
      deleteSandboxes(
        this.core,
        ids.map((id) => this.core.sandbox(id)),
      ),
    );
  }
  /** Removes a sandbox; deletions asked for while others run are done together (see SandboxDeleteBatch). */
  deleteSandbox(id: string): Promise<void> {
    return this.sandboxDeletes.delete(id);
  }
  /** Sandbox deletions asked for until `until` settles go together after it (see SandboxDeleteBatch.hold). */
  holdSandboxDeletions(until: Promise<unknown>): void {
    this.sandboxDeletes.hold(until);
  }
  /** Creates an endpoint on the network and joins it to the sandbox. Equivalent to `docker network connect`. */
  connect(networkRef: string, sandboxId: string, req: ConnectRequest = {}): Promise<JoinedEndpoint> {
    return this.connects.submit({ networkRef, sandboxId, req });
  }
  /** Leaves and deletes the sandbox's endpoint on the network; the default route moves if it was this one's. */
  disconnect(networkRef: string, sandboxId: string): Promise<void> {
    return this.run(() => disconnect(this.core, this.core.network(networkRef), this.core.sandbox(sandboxId)));
  }

  // ---- wires (a lab's links) and sandbox settings

  /** Veth pairs straight between namespaces; all made, or none. */
  createWires(specs: readonly WireSpec[]): Promise<WireRecord[]> {
    return this.run(() => createWires(this.core, specs));
  }
  deleteWires(owner: string): Promise<number> {
    return this.run(() => deleteWires(this.core, owner));
  }
  /** An owner's wires, as recorded (with each end's impairment). */
  wires(owner: string): WireRecord[] {
    return this.core.state.wireList().filter((w) => w.owner === owner);
  }
  /**
   * Sets what is done to the packets leaving one end of a wire (rate, loss, delay, mtu, down); empty clears it. With
   * due (a monotonic time), what can be made ahead is, and the change lands at due.
   */
  impairWireEnd(wireId: string, end: 0 | 1, impairment: Impairment, due?: bigint): Promise<WireRecord> {
    return this.run(() => impairWireEnd(this.core, wireId, end, impairment, due));
  }
  /** Loads ahead what a scheduled impairment needs at once (the link-down program), so that it lands on time. */
  prepareImpairments(): void {
    downProgram(this.core);
  }
  /** Which impairments this kernel can apply, and by which engine: found by trying, in a throwaway namespace. */
  impairmentSupport(): Promise<ImpairmentSupport[]> {
    return probeImpairmentSupport(this.core.deps.namespaces, (ns) => this.core.openHandle(ns));
  }
  /** The kernel's counters of one end of a wire: sent, received, dropped by its rate and by its loss. */
  wireEndCounters(wireId: string, end: 0 | 1): Promise<WireEndCounters> {
    return wireEndCounters(this.core, wireId, end);
  }
  /** A bridge in the host namespace for wires to plug into; whether it was made (false: it existed). */
  ensureHostBridge(name: string, owner: string): Promise<boolean> {
    return this.run(() => ensureHostBridge(this.core, name, owner));
  }
  removeHostBridges(owner: string): Promise<number> {
    return this.run(() => removeHostBridges(this.core, owner));
  }
  setSandboxSysctls(sandboxId: string, sysctls: Readonly<Record<string, string>>): Promise<void> {
    return this.run(async () => setSandboxSysctls(this.core, sandboxId, sysctls));
  }
  addSandboxRoutes(sandboxId: string, routes: readonly SandboxRoute[]): Promise<void> {
    return this.run(() => addSandboxRoutes(this.core, sandboxId, routes));
  }
  addSandboxAddresses(sandboxId: string, ifname: string, addresses: readonly string[]): Promise<void> {
    return this.run(() => addSandboxAddresses(this.core, sandboxId, ifname, addresses));
  }

  // ---- health

  /** What differs between the kernel, the firewall and the records; repaired with fix (`tsnet doctor [--fix]`). */
  doctor(fix: boolean): Promise<ReconcileReport> {
    return this.run(() => checkKernel(this.core, fix));
  }

  /** Restores driver-wide state that went missing (a flushed firewall); returns what was missing. Cheap when nothing is. */
  repairDriverState(): Promise<string[]> {
    return this.run(() => checkDriverState(this.core, true));
  }

  // ---- Docker (the remote network and IPAM plugin)

  createDockerNetwork(req: DockerNetworkRequest): Promise<NetworkRecord> {
    return this.run(() => createNetwork(this.core, req, req));
  }
  requestDockerPool(req: docker.DockerPoolRequest): Promise<DockerPoolRecord> {
    return this.run(() => docker.requestDockerPool(this.core, req));
  }
  releaseDockerPool(id: string): Promise<void> {
    return this.run(async () => docker.releaseDockerPool(this.core, id));
  }
  requestDockerAddress(poolId: string, wanted?: string, holder?: docker.DockerAddressHolder): Promise<string> {
    return this.run(async () => docker.requestDockerAddress(this.core, poolId, wanted, holder));
  }
  releaseDockerAddress(poolId: string, cidr: string): Promise<void> {
    return this.run(async () => docker.releaseDockerAddress(this.core, poolId, cidr));
  }
  createDetachedEndpoint(networkRef: string, base: Omit<EndpointBase, 'networkId'>): Promise<DetachedEndpoint> {
    return this.run(() => docker.createDetachedEndpoint(this.core, networkRef, { ...base, networkId: '' }));
  }
  deleteDetachedEndpoint(id: string): Promise<void> {
    return this.run(() => docker.deleteDetachedEndpoint(this.core, id));
  }
  /** Publishes Docker's port map through its endpoint (ProgramExternalConnectivity). */
  programDockerPorts(id: string, specs: readonly PortSpec[]): Promise<void> {
    return this.run(() => docker.programDockerPorts(this.core, id, specs));
  }
  revokeDockerPorts(id: string): Promise<void> {
    return this.run(() => docker.revokeDockerPorts(this.core, id));
  }
}
