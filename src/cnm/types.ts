/**
 * The records of the Container Network Model as tsnet stores them: networks, endpoints, sandboxes and the
 * address pools behind networks. Plain data, JSON-serialisable; the store is the only place they live.
 */

export type DriverName = 'bridge' | 'host' | 'null';

export interface PoolRecord {
  readonly id: string;
  readonly space: 'local' | 'global';
  readonly subnet: string;
  readonly ipRange?: string;
  readonly gateway?: string;
  readonly auxAddresses: Readonly<Record<string, string>>;
  /** Not managed by the network's own IPAM pool: Docker allocated it (through tsnet's IPAM plugin or its own). */
  readonly external?: boolean;
}

/** What the bridge driver resolved from a network's options, kept with the network (drivers keep no state). */
export interface BridgeConfig {
  readonly bridgeName: string;
  readonly mtu?: number;
  readonly icc: boolean;
  readonly masquerade: boolean;
}

export interface NetworkRecord {
  readonly id: string;
  readonly name: string;
  readonly driver: DriverName;
  readonly created: string;
  readonly internal: boolean;
  readonly ipv6: boolean;
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly pools: { readonly v4?: PoolRecord; readonly v6?: PoolRecord };
  readonly bridge?: BridgeConfig;
  /** Who made it: tsnet's own API, or Docker through the plugin (then Docker owns its lifecycle). */
  readonly owner: 'tsnet' | 'docker';
}

export interface EndpointRecord {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  readonly created: string;
  /** "10.1.0.2/24" */
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly mac?: string;
  readonly aliases: readonly string[];
  /** Set while joined. */
  readonly sandboxId?: string;
  /** Order of joining within the sandbox: the default route follows the earliest joined with a gateway. */
  readonly joinSeq?: number;
  /** Host end of the veth pair (bridge driver). */
  readonly hostIfname?: string;
  /** Name inside the sandbox, e.g. "eth0". */
  readonly ifname?: string;
  /** Docker's endpoints: the container end, made in the host namespace for dockerd to move into its sandbox. */
  readonly peerIfname?: string;
}

export interface SandboxRecord {
  readonly id: string;
  readonly containerId: string;
  readonly created: string;
  /** The namespace file; null for a sandbox that is the host's namespace (host driver). */
  readonly netnsPath: string | null;
  readonly hostname: string;
  readonly dns: readonly string[];
}

/** A pool Docker requested from tsnet's IPAM plugin; references count identical explicit requests. */
export interface DockerPoolRecord {
  readonly id: string;
  readonly space: 'local' | 'global';
  readonly subnet: string;
  readonly ipRange?: string;
  readonly references: number;
}
