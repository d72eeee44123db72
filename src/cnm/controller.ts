/**
 * The Controller: the one owner of tsnet's state. It creates, finds and deletes networks, creates sandboxes,
 * connects them to networks (an endpoint created and joined) and disconnects them, persisting every change in
 * the store before it returns. Each operation validates everything first, then applies step by step with an undo
 * stack. Operations are serialised, so concurrent callers see a consistent state.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import type { DriverContext, NetworkDriver, SandboxView } from '../drivers/driver.js';
import type { Firewaller } from '../iptables/firewaller.js';
import type { Ipam } from '../ipam/ipam.js';
import type { PoolConfig } from '../ipam/pool.js';
import { Subnet } from '../ipam/subnet.js';
import { Handle } from '../netlink/handle.js';
import { NetNs, type NetnsDirectory } from '../netns/netns.js';
import { SandboxFiles, hostsFile, resolvConf } from './sandbox/files.js';
import type { Store } from './store.js';
import type { EndpointRecord, NetworkRecord, SandboxRecord } from './types.js';
import { UndoStack } from './undo.js';
import { externalPoolRecords, firewallNetworks, nextIfname, poolRecord } from './network-config.js';

export interface NetworkCreateRequest {
  readonly name: string;
  readonly driver?: string;
  readonly subnet?: string;
  readonly gateway?: string;
  readonly ipRange?: string;
  readonly auxAddresses?: Readonly<Record<string, string>>;
  readonly ipv6?: boolean;
  readonly subnet6?: string;
  readonly gateway6?: string;
  readonly internal?: boolean;
  readonly options?: Readonly<Record<string, string>>;
  readonly labels?: Readonly<Record<string, string>>;
  readonly owner?: 'tsnet' | 'docker';
  /** The network's id, when the caller has one (Docker's NetworkID); else one is made. */
  readonly id?: string;
  /** Subnets already allocated elsewhere (by Docker): recorded, not taken from tsnet's IPAM. */
  readonly externalPools?: { readonly v4?: ExternalPool; readonly v6?: ExternalPool };
}

export interface ExternalPool {
  readonly subnet: string;
  readonly gateway?: string;
}

export interface SandboxCreateRequest {
  readonly containerId: string;
  readonly hostname?: string;
  readonly dns?: readonly string[];
  /** The sandbox is the host's own namespace (for the host driver). */
  readonly hostNamespace?: boolean;
}

export interface ConnectRequest {
  readonly ip?: string;
  readonly ip6?: string;
  readonly aliases?: readonly string[];
}

export interface ControllerDeps {
  readonly store: Store;
  readonly ipam: Ipam;
  readonly drivers: readonly NetworkDriver[];
  readonly hostNs: NetNs;
  readonly netnsDir: NetnsDirectory;
  /** Folder of the sandboxes' hosts and resolv.conf files. */
  readonly sandboxFilesDir: string;
  /** null: tsnet leaves the firewall alone (--iptables=false). */
  readonly firewall: Firewaller | null;
}

/** A sandbox with what is open on it while tsnet runs. */
export interface LiveSandbox {
  readonly record: SandboxRecord;
  readonly ns: NetNs;
  readonly handle: Handle;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/u;
const newId = (): string => randomBytes(32).toString('hex');

export class Controller {
  readonly networks = new Map<string, NetworkRecord>();
  readonly endpoints = new Map<string, EndpointRecord>();
  readonly sandboxes = new Map<string, LiveSandbox>();
  readonly drivers: ReadonlyMap<string, NetworkDriver>;
  readonly files: SandboxFiles;
  readonly ctx: DriverContext;
  private queue: Promise<unknown> = Promise.resolve();
  private joinSeq = 0;

  constructor(readonly deps: ControllerDeps) {
    this.drivers = new Map(deps.drivers.map((d) => [d.name, d]));
    this.files = new SandboxFiles(deps.sandboxFilesDir);
    this.ctx = { hostNs: deps.hostNs, host: Handle.open(deps.hostNs) };
  }

  /** Runs fn after every operation before it: one change at a time. */
  serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Closes what is open (handles, the store). The kernel objects stay: the next start re-adopts them. */
  async close(): Promise<void> {
    await this.serialised(async () => {
      for (const s of this.sandboxes.values()) s.handle.close();
      this.ctx.host.close();
      this.deps.store.close();
    });
  }

  // ---- lookups

  /** By id, by name, or by a unique prefix of the id. */
  network(ref: string): NetworkRecord {
    const byId = this.networks.get(ref);
    if (byId) return byId;
    const all = [...this.networks.values()];
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    const byPrefix = ref.length > 0 ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new InvalidArgumentError(`network id prefix "${ref}" is ambiguous: it matches ${byPrefix.map((n) => n.name).join(', ')}`);
    throw new TsnetError('TSNET_ERR_NETWORK_NOT_FOUND', `network "${ref}" not found`);
  }

  sandbox(id: string): LiveSandbox {
    const s = this.sandboxes.get(id);
    if (!s) throw new TsnetError('TSNET_ERR_SANDBOX_NOT_FOUND', `sandbox "${id}" not found`);
    return s;
  }

  driver(name: string): NetworkDriver {
    const d = this.drivers.get(name);
    if (!d) throw new InvalidArgumentError(`unknown network driver "${name}" (known: ${[...this.drivers.keys()].join(', ')})`);
    return d;
  }

  endpointsOf(filter: { networkId?: string; sandboxId?: string }): EndpointRecord[] {
    return [...this.endpoints.values()]
      .filter((e) => (filter.networkId === undefined || e.networkId === filter.networkId) && (filter.sandboxId === undefined || e.sandboxId === filter.sandboxId))
      .sort((a, b) => (a.joinSeq ?? 0) - (b.joinSeq ?? 0));
  }

  // ---- networks

  createNetwork(req: NetworkCreateRequest): Promise<NetworkRecord> {
    return this.serialised(async () => {
      // Validate everything first: nothing is changed by a bad request.
      if (!NAME_RE.test(req.name)) throw new InvalidArgumentError(`invalid network name "${req.name}": use letters, digits, "_", "." and "-", starting with a letter or digit`);
      if ([...this.networks.values()].some((n) => n.name === req.name)) throw new TsnetError('TSNET_ERR_NETWORK_EXISTS', `network with name "${req.name}" already exists`);
      const driver = this.driver(req.driver ?? 'bridge');
      if (!driver.capabilities.multipleNetworks && [...this.networks.values()].some((n) => n.driver === driver.name)) {
        throw new TsnetError('TSNET_ERR_CONFLICT', `only one network of the ${driver.name} driver may exist`);
      }
      if (req.id !== undefined && (!/^[0-9a-f]{64}$/u.test(req.id) || this.networks.has(req.id))) {
        throw new InvalidArgumentError(`network id "${req.id}" is not 64 hex digits, or is taken`);
      }
      const id = req.id ?? newId();
      const config = driver.configure({ id, name: req.name, options: req.options ?? {} });
      if (config.bridge) {
        const clash = [...this.networks.values()].find((n) => n.bridge?.bridgeName === config.bridge!.bridgeName);
        if (clash) throw new TsnetError('TSNET_ERR_CONFLICT', `bridge name "${config.bridge.bridgeName}" is already used by network "${clash.name}"`);
      }
      if (req.ipv6 && !driver.capabilities.needsIpam) throw new InvalidArgumentError(`the ${driver.name} driver takes no IPv6 subnet`);
      if (!driver.capabilities.needsIpam && (req.subnet || req.gateway || req.ipRange)) {
        throw new InvalidArgumentError(`the ${driver.name} driver takes no subnet, gateway or ip range`);
      }
      if (req.ipv6 && !req.subnet6 && !req.externalPools?.v6) throw new InvalidArgumentError('an IPv6 network needs an IPv6 subnet');
      let v4: PoolConfig | undefined;
      let v6: PoolConfig | undefined;
      const external = req.externalPools ? externalPoolRecords(id, req.externalPools, [...this.networks.values()]) : undefined;
      if (driver.capabilities.needsIpam && !external) {
        const routes = await this.hostRoutes();
        v4 = this.deps.ipam.planPool({
          family: 4,
          avoid: routes,
          ...(req.subnet !== undefined ? { subnet: req.subnet } : {}),
          ...(req.gateway !== undefined ? { gateway: req.gateway } : {}),
          ...(req.ipRange !== undefined ? { ipRange: req.ipRange } : {}),
          ...(req.auxAddresses !== undefined ? { auxAddresses: req.auxAddresses } : {}),
        });
        // An explicit subnet must not take addresses the host already routes elsewhere either.
        const routed = routes.find((r) => r.overlaps(v4!.subnet));
        if (req.subnet !== undefined && routed) {
          throw new TsnetError('TSNET_ERR_POOL_OVERLAP', `subnet ${v4.subnet.toString()} overlaps the host's route to ${routed.toString()}`);
        }
        if (req.ipv6) {
          v6 = this.deps.ipam.planPool({ family: 6, subnet: req.subnet6!, ...(req.gateway6 !== undefined ? { gateway: req.gateway6 } : {}) });
          if (v6.subnet.overlaps(v4.subnet)) throw new InvalidArgumentError('the IPv4 and IPv6 subnets overlap');
        }
      }
      const network: NetworkRecord = {
        id,
        name: req.name,
        driver: driver.name,
        created: new Date().toISOString(),
        internal: req.internal ?? false,
        ipv6: req.ipv6 ?? false,
        options: { ...(req.options ?? {}) },
        labels: { ...(req.labels ?? {}) },
        pools: external ?? { ...(v4 ? { v4: poolRecord(v4) } : {}), ...(v6 ? { v6: poolRecord(v6) } : {}) },
        ...(config.bridge ? { bridge: config.bridge } : {}),
        owner: req.owner ?? 'tsnet',
      };

      return UndoStack.run(async (undo) => {
        for (const pool of [v4, v6]) {
          if (!pool) continue;
          this.deps.ipam.addPool(pool);
          undo.push(() => this.deps.ipam.releasePool(pool.id));
        }
        await driver.createNetwork(this.ctx, network);
        undo.push(() => driver.deleteNetwork(this.ctx, network));
        this.networks.set(id, network);
        undo.push(() => this.networks.delete(id));
        await this.enableForwarding(network);
        await this.applyFirewall();
        undo.push(() => this.applyFirewall());
        this.deps.store.transaction(() => {
          this.deps.store.putNetwork(network);
          for (const pool of [v4, v6]) if (pool) this.deps.store.setCursor(pool.id, this.deps.ipam.pool(pool.id).nextSearch);
        });
        return network;
      });
    });
  }

  deleteNetwork(ref: string): Promise<void> {
    return this.serialised(async () => {
      const network = this.network(ref);
      const endpoints = this.endpointsOf({ networkId: network.id });
      if (endpoints.length > 0) {
        throw new TsnetError('TSNET_ERR_NETWORK_IN_USE', `network "${network.name}" has active endpoints: ${endpoints.map((e) => e.name).join(', ')}`);
      }
      const driver = this.driver(network.driver);
      await driver.deleteNetwork(this.ctx, network);
      this.networks.delete(network.id);
      await this.applyFirewall();
      const pools = [network.pools.v4, network.pools.v6].flatMap((p) => (p && !p.external ? [p] : []));
      this.deps.store.transaction(() => {
        this.deps.store.delete('networks', network.id);
        for (const p of pools) this.deps.store.deletePool(p.id);
      });
      for (const p of pools) this.deps.ipam.releasePool(p.id);
    });
  }

  // ---- sandboxes

  createSandbox(req: SandboxCreateRequest): Promise<SandboxRecord> {
    return this.serialised(async () => {
      if (!req.containerId) throw new InvalidArgumentError('a sandbox needs a container id');
      const id = newId();
      const hostname = req.hostname ?? req.containerId.slice(0, 12);
      if (!/^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/u.test(hostname)) throw new InvalidArgumentError(`invalid hostname "${hostname}"`);
      return UndoStack.run(async (undo) => {
        let ns: NetNs;
        if (req.hostNamespace) {
          ns = this.deps.hostNs;
        } else {
          ns = this.deps.netnsDir.create(id);
          undo.push(() => this.deps.netnsDir.delete(id, { ignoreMissing: true }));
          // IPv6 starts off on every new interface; joining an IPv6 network turns it on for that interface.
          ns.sysctlWrite('net/ipv6/conf/default/disable_ipv6', '1');
        }
        const handle = Handle.open(ns);
        undo.push(() => handle.close());
        if (!req.hostNamespace) await handle.linkSetUp('lo');
        const record: SandboxRecord = {
          id,
          containerId: req.containerId,
          created: new Date().toISOString(),
          netnsPath: req.hostNamespace ? this.deps.hostNs.path : ns.path,
          hostname,
          dns: [...(req.dns ?? [])],
        };
        this.files.write(id, hostsFile(hostname, []), resolvConf(record.dns));
        undo.push(() => this.files.remove(id));
        this.deps.store.transaction(() => this.deps.store.putSandbox(record));
        this.sandboxes.set(id, { record, ns, handle });
        return record;
      });
    });
  }

  /** Removes sandboxes and their endpoints; the host ends of all their veths go in one request per driver. */
  deleteSandboxes(ids: readonly string[]): Promise<void> {
    return this.serialised(async () => {
      const live = ids.map((id) => this.sandbox(id));
      const endpoints = live.flatMap((s) => this.endpointsOf({ sandboxId: s.record.id }));
      await this.leaveAll(endpoints);
      for (const s of live) {
        s.handle.close();
        if (s.record.netnsPath !== this.deps.hostNs.path) this.deps.netnsDir.delete(s.record.id, { ignoreMissing: true });
        this.files.remove(s.record.id);
      }
      this.deps.store.transaction(() => {
        for (const e of endpoints) this.forgetEndpoint(e);
        for (const s of live) this.deps.store.delete('sandboxes', s.record.id);
      });
      for (const e of endpoints) this.releaseAddresses(e);
      for (const s of live) this.sandboxes.delete(s.record.id);
    });
  }

  deleteSandbox(id: string): Promise<void> {
    return this.deleteSandboxes([id]);
  }

  // ---- endpoints

  /** Creates an endpoint on the network and joins it to the sandbox. Equivalent to `docker network connect`. */
  connect(networkRef: string, sandboxId: string, req: ConnectRequest = {}): Promise<EndpointRecord> {
    return this.serialised(async () => {
      const network = this.network(networkRef);
      const sandbox = this.sandbox(sandboxId);
      const driver = this.driver(network.driver);
      const joined = this.endpointsOf({ sandboxId });
      if (joined.some((e) => e.networkId === network.id)) {
        throw new TsnetError('TSNET_ERR_CONFLICT', `sandbox ${sandboxId.slice(0, 12)} is already connected to network "${network.name}"`);
      }
      const inHost = sandbox.record.netnsPath === this.deps.hostNs.path;
      if (driver.capabilities.hostNamespace !== inHost) {
        throw new InvalidArgumentError(
          driver.capabilities.hostNamespace
            ? `network "${network.name}" (host driver) needs a sandbox in the host's namespace`
            : `a sandbox in the host's namespace cannot join network "${network.name}" (${network.driver} driver)`,
        );
      }
      if (network.owner === 'docker') {
        throw new TsnetError('TSNET_ERR_CONFLICT', `network "${network.name}" belongs to Docker: connect containers to it with docker network connect`);
      }
      if ((req.ip || req.ip6) && !driver.capabilities.needsIpam) throw new InvalidArgumentError(`the ${driver.name} driver takes no address`);
      if (req.ip6 && !network.pools.v6) throw new InvalidArgumentError(`network "${network.name}" has no IPv6 subnet`);
      const id = newId();
      return UndoStack.run(async (undo) => {
        let ipv4: string | undefined;
        let ipv6: string | undefined;
        const v4 = network.pools.v4;
        const v6 = network.pools.v6;
        if (v4) {
          ipv4 = `${this.deps.ipam.requestAddress(v4.id, req.ip)}/${v4.subnet.split('/')[1]}`;
          undo.push(() => this.deps.ipam.releaseAddress(v4.id, ipv4!.split('/')[0]!));
        }
        if (v6) {
          ipv6 = `${this.deps.ipam.requestAddress(v6.id, req.ip6)}/${v6.subnet.split('/')[1]}`;
          undo.push(() => this.deps.ipam.releaseAddress(v6.id, ipv6!.split('/')[0]!));
        }
        let endpoint: EndpointRecord = driver.createEndpoint(network, {
          id,
          name: `${sandbox.record.containerId.slice(0, 12)}-${network.name}`,
          networkId: network.id,
          created: new Date().toISOString(),
          ...(ipv4 ? { ipv4 } : {}),
          ...(ipv6 ? { ipv6 } : {}),
          aliases: [...(req.aliases ?? [])],
        });
        const ifname = nextIfname(joined);
        const defaultRoute = !joined.some((e) => this.providesGateway(e));
        const result = await driver.join(this.ctx, { network, endpoint, sandbox: view(sandbox), ifname, defaultRoute });
        endpoint = { ...endpoint, sandboxId, joinSeq: ++this.joinSeq, ...result };
        undo.push(() => driver.leave(this.ctx, [{ network, endpoint, sandbox: view(sandbox) }]));
        this.deps.store.transaction(() => {
          this.deps.store.putEndpoint(endpoint);
          for (const [pool, cidr] of [[v4, ipv4], [v6, ipv6]] as const) {
            if (!pool || !cidr) continue;
            this.deps.store.addAddress(pool.id, cidr.split('/')[0]!);
            this.deps.store.setCursor(pool.id, this.deps.ipam.pool(pool.id).nextSearch);
          }
        });
        this.endpoints.set(id, endpoint);
        this.writeHosts(sandbox);
        return endpoint;
      });
    });
  }

  /** Leaves and deletes the sandbox's endpoint on the network; the default route moves if it was this one's. */
  disconnect(networkRef: string, sandboxId: string): Promise<void> {
    return this.serialised(async () => {
      const network = this.network(networkRef);
      const sandbox = this.sandbox(sandboxId);
      const joined = this.endpointsOf({ sandboxId });
      const endpoint = joined.find((e) => e.networkId === network.id);
      if (!endpoint) throw new TsnetError('TSNET_ERR_ENDPOINT_NOT_FOUND', `sandbox ${sandboxId.slice(0, 12)} is not connected to network "${network.name}"`);
      const wasGateway = joined.find((e) => this.providesGateway(e))?.id === endpoint.id;
      await this.leaveAll([endpoint]);
      this.deps.store.transaction(() => this.forgetEndpoint(endpoint));
      this.releaseAddresses(endpoint);
      this.endpoints.delete(endpoint.id);
      if (wasGateway) await this.moveDefaultRoute(sandbox);
      this.writeHosts(sandbox);
    });
  }

  // ---- internals

  private async leaveAll(endpoints: readonly EndpointRecord[]): Promise<void> {
    const byDriver = new Map<NetworkDriver, EndpointRecord[]>();
    for (const e of endpoints) {
      const driver = this.driver(this.network(e.networkId).driver);
      byDriver.set(driver, [...(byDriver.get(driver) ?? []), e]);
    }
    for (const [driver, eps] of byDriver) {
      await driver.leave(
        this.ctx,
        eps.map((e) => {
          const s = e.sandboxId ? this.sandboxes.get(e.sandboxId) : undefined;
          return { network: this.network(e.networkId), endpoint: e, sandbox: s ? view(s) : undefined };
        }),
      );
    }
  }

  /** Deletes an endpoint's record and its address rows (call inside a store transaction). */
  forgetEndpoint(e: EndpointRecord): void {
    this.deps.store.delete('endpoints', e.id);
    const network = this.networks.get(e.networkId);
    if (network?.pools.v4 && e.ipv4) this.deps.store.removeAddress(network.pools.v4.id, e.ipv4.split('/')[0]!);
    if (network?.pools.v6 && e.ipv6) this.deps.store.removeAddress(network.pools.v6.id, e.ipv6.split('/')[0]!);
  }

  /** Returns an endpoint's addresses to IPAM and drops it from memory. */
  releaseAddresses(e: EndpointRecord): void {
    const network = this.networks.get(e.networkId);
    if (network?.pools.v4?.external || network?.pools.v6?.external) {
      this.endpoints.delete(e.id); // Docker returns its addresses itself (IpamDriver.ReleaseAddress)
      return;
    }
    if (network?.pools.v4 && e.ipv4) this.deps.ipam.releaseAddress(network.pools.v4.id, e.ipv4.split('/')[0]!);
    if (network?.pools.v6 && e.ipv6) this.deps.ipam.releaseAddress(network.pools.v6.id, e.ipv6.split('/')[0]!);
    this.endpoints.delete(e.id);
  }

  /** Whether the endpoint's network gives its sandboxes a default route. */
  providesGateway(e: EndpointRecord): boolean {
    const n = this.networks.get(e.networkId);
    return !!n && !n.internal && !!n.pools.v4?.gateway && !!e.ifname;
  }

  /** Points the sandbox's default route at the earliest joined endpoint that has a gateway, or removes it. */
  private async moveDefaultRoute(sandbox: LiveSandbox): Promise<void> {
    const next = this.endpointsOf({ sandboxId: sandbox.record.id }).find((e) => this.providesGateway(e));
    if (!next) return; // the route went with the interface that carried it
    const network = this.network(next.networkId);
    const link = await sandbox.handle.linkGet(next.ifname!);
    await sandbox.handle.routeReplace({ dst: 'default', gateway: network.pools.v4!.gateway!, oif: link.index });
  }

  private writeHosts(sandbox: LiveSandbox): void {
    const eps = this.endpointsOf({ sandboxId: sandbox.record.id });
    const addresses = eps.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => !!a));
    this.files.writeHosts(sandbox.record.id, hostsFile(sandbox.record.hostname, addresses, eps.flatMap((e) => e.aliases)));
  }

  /** The firewall for every bridge network at once: one batch. */
  async applyFirewall(): Promise<void> {
    if (!this.deps.firewall) return;
    await this.deps.firewall.apply(firewallNetworks([...this.networks.values()]));
  }

  private forwardingEnabled = false;
  private async enableForwarding(network: NetworkRecord): Promise<void> {
    if (!this.deps.firewall || network.driver !== 'bridge') return;
    if (!this.forwardingEnabled && !network.internal) {
      this.deps.hostNs.sysctlWrite('net/ipv4/ip_forward', '1');
      this.forwardingEnabled = true;
    }
    // ICC off is enforced by iptables on bridged traffic, which needs bridge netfilter on.
    if (network.bridge && !network.bridge.icc) {
      this.deps.hostNs.sysctlWrite('net/bridge/bridge-nf-call-iptables', '1');
      this.deps.hostNs.sysctlWrite('net/bridge/bridge-nf-call-ip6tables', '1');
    }
  }

  async enableForwardingFor(networks: readonly NetworkRecord[]): Promise<void> {
    for (const n of networks) await this.enableForwarding(n);
  }

  /**
   * The host's IPv4 routes that new subnets must not overlap: all but the default route and the routes of
   * tsnet's own networks (those are checked as pools).
   */
  async hostRoutes(): Promise<Subnet[]> {
    const own = new Set([...this.networks.values()].flatMap((n) => (n.pools.v4 ? [n.pools.v4.subnet] : [])));
    const routes = await this.ctx.host.routeList({ family: 'inet' });
    return routes.filter((r) => r.dst !== 'default' && !own.has(r.dst)).map((r) => Subnet.parse(r.dst));
  }

  /** Used by reconciliation to re-register what the store holds. */
  adopt(records: { networks: NetworkRecord[]; endpoints: EndpointRecord[] }): void {
    for (const n of records.networks) this.networks.set(n.id, n);
    for (const e of records.endpoints) {
      this.endpoints.set(e.id, e);
      this.joinSeq = Math.max(this.joinSeq, e.joinSeq ?? 0);
    }
  }

  adoptSandbox(record: SandboxRecord): LiveSandbox {
    const ns = record.netnsPath === this.deps.hostNs.path ? this.deps.hostNs : NetNs.fromPath(record.netnsPath!, record.id);
    const live = { record, ns, handle: Handle.open(ns) };
    this.sandboxes.set(record.id, live);
    return live;
  }
}

const view = (s: LiveSandbox): SandboxView => ({ id: s.record.id, ns: s.ns, handle: s.handle });
