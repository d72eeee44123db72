/**
 * The network driver interface, modelled on libnetwork's driverapi but with typed inputs: a driver receives
 * whole records and a context (the host namespace, a netlink handle in it), keeps no state of its own, and says
 * what it can do through its capabilities.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Firewaller } from '../iptables/firewaller.js';
import type { Handle } from '../netlink/handle.js';
import type { NetNs } from '../netns/netns.js';
import type { DetachedEndpoint, DriverName, EndpointBase, EndpointRecord, JoinedEndpoint, NetworkRecord, RemotePeer } from './records.js';

export interface DriverContext {
  /** tsnet's "host": the daemon's own namespace, or a lab namespace in tests. */
  readonly hostNs: NetNs;
  readonly host: Handle;
  /** null: tsnet leaves the firewall alone (--iptables=false). */
  readonly firewall: Firewaller | null;
  /** Every network the controller holds now, of every driver (driver-wide state such as the firewall spans them). */
  networks(): readonly NetworkRecord[];
  /** The endpoints of a network now, joined and detached (their published ports are driver-wide firewall state). */
  endpoints(networkId: string): readonly EndpointRecord[];
}

/** A sandbox as drivers see it while joining: its namespace and a handle inside it. */
export interface SandboxView {
  readonly id: string;
  readonly ns: NetNs;
  readonly handle: Handle;
}

export interface JoinRequest<Config extends object = object> {
  readonly network: NetworkRecord<Config>;
  readonly endpoint: EndpointBase;
  readonly sandbox: SandboxView;
  /** Name to give the interface inside the sandbox. */
  readonly ifname: string;
  /** Whether this endpoint carries the sandbox's default route. */
  readonly defaultRoute: boolean;
}

/** A joined endpoint, checked against the kernel at start-up. */
export interface PresenceRequest<Config extends object = object> extends JoinRequest<Config> {
  readonly endpoint: JoinedEndpoint;
}

export interface JoinResult {
  readonly hostIfname?: string;
  readonly ifname?: string;
}

export interface LeaveRequest<Config extends object = object> {
  readonly network: NetworkRecord<Config>;
  readonly endpoint: JoinedEndpoint | DetachedEndpoint;
  readonly sandbox: SandboxView | undefined;
}

export interface DriverCapabilities {
  readonly scope: 'local' | 'global';
  /** Whether endpoints need addresses from IPAM. */
  readonly needsIpam: boolean;
  /** host: sandboxes are the host's own namespace. */
  readonly hostNamespace: boolean;
  /** Whether more than one network of this driver may exist. */
  readonly multipleNetworks: boolean;
}

/** Input of configure(): the network's id, name and options (strings, as Docker passes them). */
export interface ConfigureInput {
  readonly id: string;
  readonly name: string;
  readonly options: Readonly<Record<string, string>>;
}

/**
 * An optional capability: endpoints whose both ends are made in the host namespace, for another runtime (dockerd)
 * to move the container end into a sandbox of its own.
 */
export interface DetachedEndpoints<Config extends object = object> {
  create(ctx: DriverContext, network: NetworkRecord<Config>, endpoint: EndpointBase): Promise<{ hostIfname: string; peerIfname: string }>;
  /** Whether the endpoint's pair still exists (its host end, carrying its tag), wherever dockerd has put the peer. */
  present(ctx: DriverContext, endpoint: DetachedEndpoint): Promise<boolean>;
}

/** An optional capability of global-scope drivers: the containers of other hosts, as the cluster store has them. */
export interface RemotePeers<Config extends object = object> {
  /** Makes the host's kernel reach exactly these remote containers on the network. */
  program(ctx: DriverContext, network: NetworkRecord<Config>, peers: readonly RemotePeer[]): Promise<void>;
}

export interface NetworkDriver<Config extends object = object> {
  readonly name: DriverName;
  readonly capabilities: DriverCapabilities;
  /**
   * Parses and checks options into the driver's typed config; refuses unknown ones and clashes with the
   * networks that exist.
   */
  configure(input: ConfigureInput, existing: readonly NetworkRecord[]): Config;
  /** Makes the network's kernel objects and driver-wide state (its firewall rules, sysctls). */
  createNetwork(ctx: DriverContext, network: NetworkRecord<Config>): Promise<void>;
  deleteNetwork(ctx: DriverContext, network: NetworkRecord<Config>): Promise<void>;
  /** Fills in what the driver decides for a new endpoint (e.g. its MAC address); no kernel work. */
  createEndpoint(network: NetworkRecord<Config>, endpoint: EndpointBase): EndpointBase;
  join(ctx: DriverContext, request: JoinRequest<Config>): Promise<JoinResult>;
  /**
   * Joins endpoints of one network, each to a sandbox of its own, in fewer kernel round trips than one join each
   * (concurrent connects). Each outcome is its own; a failed one left nothing behind. Optional: join each otherwise.
   */
  joinMany?(ctx: DriverContext, requests: readonly JoinRequest<Config>[]): Promise<PromiseSettledResult<JoinResult>[]>;
  /** Leaves many at once: deletions are batched so that the kernel's wait is paid once per call. */
  leave(ctx: DriverContext, requests: readonly LeaveRequest<Config>[]): Promise<void>;
  /**
   * Makes the published ports of the endpoints (`ctx.endpoints()`) take effect: after an endpoint gained or lost
   * ports, or went. One call covers every network of the driver (one firewall batch).
   */
  programExternalConnectivity(ctx: DriverContext, network: NetworkRecord<Config>): Promise<void>;
  /** Whether the network's kernel objects are in place (for reconciliation). */
  networkPresent(ctx: DriverContext, network: NetworkRecord<Config>): Promise<boolean>;
  /** Whether a joined endpoint's kernel objects are in place and wired as they should be. */
  endpointPresent(ctx: DriverContext, request: PresenceRequest<Config>): Promise<boolean>;
  /** At start-up, after reconciliation: driver-wide state (firewall, sysctls) made to match these networks. */
  restore(ctx: DriverContext, networks: readonly NetworkRecord<Config>[]): Promise<void>;
  /** What of that driver-wide state is missing now (a flushed firewall), in words; none when all is in place. */
  verify?(ctx: DriverContext, networks: readonly NetworkRecord<Config>[]): Promise<string[]>;
  readonly detachedEndpoints?: DetachedEndpoints<Config>;
  readonly remotePeers?: RemotePeers<Config>;
  /** The prefix of the interface names this network's endpoints get in sandboxes (default "eth"). */
  interfacePrefix?(network: NetworkRecord<Config>): string;
}

/** Refuses options a driver does not know: a typo must not be silently ignored. */
export function checkKnownOptions(driver: string, options: Readonly<Record<string, string>>, known: readonly string[]): void {
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new InvalidOptionError(driver, unknown, known);
  }
}

export class InvalidOptionError extends InvalidArgumentError {
  constructor(driver: string, unknown: readonly string[], known: readonly string[]) {
    super(
      `unknown option${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')} for the ${driver} driver` +
        (known.length ? ` (known: ${known.join(', ')})` : ' (it takes none)'),
    );
  }
}
