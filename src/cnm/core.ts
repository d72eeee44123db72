/**
 * What the controller's operations share: its dependencies, its state, the drivers' context, and the lookups
 * every operation starts with. Operations (network/, endpoint/, sandbox/, docker.ts, reconcile.ts) take a CnmCore;
 * only the Controller makes one, and it runs them one at a time.
 */
import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import type { ClusterState } from './cluster.js';
import type { DriverContext, NetworkDriver, SandboxView } from '../drivers/driver.js';
import type { Firewaller } from '../iptables/firewaller.js';
import type { Ipam } from '../ipam/ipam.js';
import { Handle } from '../netlink/handle.js';
import { NetlinkTraffic } from '../netlink/socket.js';
import type { NetNs } from '../netns/netns.js';
import { kernelPortBinder, PortReservations, type HostPortBinder } from './ports/reservations.js';
import { SandboxFiles } from './sandbox/files.js';
import type { SandboxNamespaces } from './sandbox/namespaces.js';
import type { DelayEngine } from './wires/delay.js';
import { CnmState, type LiveSandbox } from './state.js';
import type { Store } from './store.js';
import type { NetworkRecord } from './types.js';

export interface ControllerDeps {
  readonly store: Store;
  readonly ipam: Ipam;
  readonly drivers: readonly NetworkDriver[];
  readonly hostNs: NetNs;
  /** Where sandboxes' namespaces are made. */
  readonly namespaces: SandboxNamespaces;
  /** Folder of the sandboxes' hosts and resolv.conf files (on a tmpfs where the daemon has one: they live no longer than a boot). */
  readonly sandboxFilesDir: string;
  /** Where sandboxes made by an earlier version keep theirs (their containers bind them), until they go. */
  readonly legacySandboxFilesDir?: string;
  /** The host's resolver configuration, whose non-loopback servers containers use (default /etc/resolv.conf). */
  readonly hostResolvConf?: string;
  /** null: tsnet leaves the firewall alone (--iptables=false). */
  readonly firewall: Firewaller | null;
  /** Holds published host ports (default: bound sockets in hostNs; tests without root pass a fake). */
  readonly hostPorts?: HostPortBinder;
  /** Opens a netlink handle in a namespace (tests without root pass a fake). */
  readonly openHandle?: (ns: NetNs) => Handle;
  /** The cluster store of global-scope networks (--cluster-store); absent, global networks are refused. */
  readonly cluster?: ClusterState;
  /** Runs the relays of links' delays where the kernel has no netem (the daemon's launcher); absent, delay is refused. */
  readonly delayEngine?: DelayEngine;
}

export const newId = (): string => randomBytes(32).toString('hex');

export class CnmCore {
  readonly state = new CnmState();
  readonly files: SandboxFiles;
  /** The host ports held for published bindings (bound sockets: runtime state, re-held at start-up). */
  readonly ports: PortReservations;
  readonly driverCtx: DriverContext;
  /** The networks tsnet made by itself at start-up (`none`, the default `bridge`): never removed by a user. */
  readonly predefined = new Set<string>();
  /** The netlink exchanges under way on this controller's sockets (several at once: sends from a worker thread). */
  readonly netlinkTraffic = new NetlinkTraffic();
  /** eBPF programs loaded once and kept (their fds), by name: a link down's drop-all, attached in a hurry by schedules. */
  readonly programs = new Map<string, number>();
  /** What the kernel was found to have, by trying it once (netem: a link's delay in the kernel, not in a relay). */
  readonly kernelHas: { netem?: boolean } = {};
  private readonly drivers: ReadonlyMap<string, NetworkDriver>;

  constructor(readonly deps: ControllerDeps) {
    this.drivers = new Map(deps.drivers.map((d) => [d.name, d]));
    this.files = new SandboxFiles(deps.sandboxFilesDir, deps.legacySandboxFilesDir);
    const state = this.state;
    this.ports = new PortReservations(deps.hostPorts ?? kernelPortBinder(deps.hostNs));
    this.driverCtx = {
      hostNs: deps.hostNs,
      host: this.openHandle(deps.hostNs),
      firewall: deps.firewall,
      networks: () => state.networkList(),
      endpoints: (networkId) => state.endpointsOf({ networkId }),
    };
  }

  openHandle(ns: NetNs): Handle {
    return this.deps.openHandle ? this.deps.openHandle(ns) : Handle.open(ns, { traffic: this.netlinkTraffic });
  }

  /** By id, by name, or by a unique prefix of the id. */
  network(ref: string): NetworkRecord {
    const byId = this.state.findNetwork(ref);
    if (byId) return byId;
    const all = this.state.networkList();
    const byName = all.find((n) => n.name === ref);
    if (byName) return byName;
    const byPrefix = ref.length > 0 ? all.filter((n) => n.id.startsWith(ref)) : [];
    if (byPrefix.length === 1) return byPrefix[0]!;
    if (byPrefix.length > 1) throw new InvalidArgumentError(`network id prefix "${ref}" is ambiguous: it matches ${byPrefix.map((n) => n.name).join(', ')}`);
    throw new TsnetError('TSNET_ERR_NETWORK_NOT_FOUND', `network "${ref}" not found`);
  }

  sandbox(id: string): LiveSandbox {
    const s = this.state.findSandbox(id);
    if (!s) throw new TsnetError('TSNET_ERR_SANDBOX_NOT_FOUND', `sandbox "${id}" not found`);
    return s;
  }

  driver(name: string): NetworkDriver {
    const d = this.drivers.get(name);
    if (!d) throw new InvalidArgumentError(`unknown network driver "${name}" (known: ${[...this.drivers.keys()].join(', ')})`);
    return d;
  }

  driverList(): NetworkDriver[] {
    return [...this.drivers.values()];
  }

  /** Whether the sandbox is the host's own namespace (host driver). */
  inHostNamespace(s: LiveSandbox): boolean {
    return s.record.netnsPath === this.deps.hostNs.path;
  }
}

export const sandboxView = (s: LiveSandbox): SandboxView => ({ id: s.record.id, ns: s.ns, handle: s.handle });
