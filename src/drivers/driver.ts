/**
 * The network driver interface, modelled on libnetwork's driverapi but with typed inputs: a driver receives
 * whole records and a context (the host namespace, a netlink handle in it), keeps no state of its own, and says
 * what it can do through its capabilities.
 */
import { InvalidArgumentError } from '../errors.js';
import type { BridgeConfig, DriverName, EndpointRecord, NetworkRecord } from '../cnm/types.js';
import type { Handle } from '../netlink/handle.js';
import type { NetNs } from '../netns/netns.js';

export interface DriverContext {
  /** tsnet's "host": the daemon's own namespace, or a lab namespace in tests. */
  readonly hostNs: NetNs;
  readonly host: Handle;
}

/** A sandbox as drivers see it while joining: its namespace, a handle inside it, what it already has. */
export interface SandboxView {
  readonly id: string;
  readonly ns: NetNs;
  readonly handle: Handle;
}

export interface JoinRequest {
  readonly network: NetworkRecord;
  readonly endpoint: EndpointRecord;
  readonly sandbox: SandboxView;
  /** Name to give the interface inside the sandbox. */
  readonly ifname: string;
  /** Whether this endpoint carries the sandbox's default route. */
  readonly defaultRoute: boolean;
}

export interface JoinResult {
  readonly hostIfname?: string;
  readonly ifname?: string;
}

export interface LeaveRequest {
  readonly network: NetworkRecord;
  readonly endpoint: EndpointRecord;
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

export interface NetworkDriver {
  readonly name: DriverName;
  readonly capabilities: DriverCapabilities;
  /** Parses and checks options (strings, as Docker passes them) into typed config; refuses unknown ones. */
  configure(input: { readonly id: string; readonly name: string; readonly options: Readonly<Record<string, string>> }): { bridge?: BridgeConfig };
  createNetwork(ctx: DriverContext, network: NetworkRecord): Promise<void>;
  deleteNetwork(ctx: DriverContext, network: NetworkRecord): Promise<void>;
  /** Fills in what the driver decides for a new endpoint (e.g. its MAC address); no kernel work. */
  createEndpoint(network: NetworkRecord, endpoint: EndpointRecord): EndpointRecord;
  deleteEndpoint(network: NetworkRecord, endpoint: EndpointRecord): void;
  join(ctx: DriverContext, request: JoinRequest): Promise<JoinResult>;
  /** Leaves many at once: deletions are batched so that the kernel's wait is paid once per call. */
  leave(ctx: DriverContext, requests: readonly LeaveRequest[]): Promise<void>;
  programExternalConnectivity(ctx: DriverContext, network: NetworkRecord, endpoint: EndpointRecord): Promise<void>;
  revokeExternalConnectivity(ctx: DriverContext, network: NetworkRecord, endpoint: EndpointRecord): Promise<void>;
  /** Whether the network's kernel objects are in place (for reconciliation). */
  networkPresent(ctx: DriverContext, network: NetworkRecord): Promise<boolean>;
  /** Whether a joined endpoint's kernel objects are in place and wired as they should be. */
  endpointPresent(ctx: DriverContext, request: JoinRequest): Promise<boolean>;
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
