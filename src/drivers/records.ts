/**
 * The records drivers are handed: networks and endpoints as tsnet stores them. Plain data, JSON-serialisable;
 * the Controller owns and persists them, drivers read them and keep no state of their own.
 */

export type DriverName = 'bridge' | 'host' | 'null' | 'overlay';

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

/** A network; `config` is what its driver's configure() made of the options (typed by each driver). */
export interface NetworkRecord<Config extends object = object> {
  readonly id: string;
  readonly name: string;
  readonly driver: DriverName;
  readonly created: string;
  readonly internal: boolean;
  readonly ipv6: boolean;
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly pools: { readonly v4?: PoolRecord; readonly v6?: PoolRecord };
  readonly config: Config;
  /** Who made it: tsnet's own API, or Docker through the plugin (then Docker owns its lifecycle). */
  readonly owner: 'tsnet' | 'docker';
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** A published port: hostIp:hostPort on the host forwarded to containerPort at the endpoint's address of hostIp's family. */
export interface PortBinding {
  readonly protocol: PortProtocol;
  readonly containerPort: number;
  /** "0.0.0.0" or "::" for every address of that family, else one of the host's addresses. */
  readonly hostIp: string;
  readonly hostPort: number;
}

/** What every endpoint has, joined or not. */
export interface EndpointBase {
  readonly id: string;
  readonly name: string;
  readonly networkId: string;
  readonly created: string;
  /** "10.1.0.2/24" */
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly mac?: string;
  readonly aliases: readonly string[];
  /** Published ports (the sandbox's -p, or Docker's port map), held by the endpoint that carries the gateway. */
  readonly ports?: readonly PortBinding[];
}

/** An endpoint joined to one of tsnet's sandboxes. */
export interface JoinedEndpoint extends EndpointBase {
  readonly kind: 'joined';
  readonly sandboxId: string;
  /** Order of joining within the sandbox: the default route follows the earliest joined with a gateway. */
  readonly joinSeq: number;
  /** Host end of the veth pair (bridge driver). */
  readonly hostIfname?: string;
  /** Name inside the sandbox, e.g. "eth0" (absent for drivers that make no interface). */
  readonly ifname?: string;
}

/** Docker's endpoints: both ends made in the host namespace; dockerd moves the container end into its sandbox. */
export interface DetachedEndpoint extends EndpointBase {
  readonly kind: 'detached';
  readonly hostIfname: string;
  readonly peerIfname: string;
}

export type EndpointRecord = JoinedEndpoint | DetachedEndpoint;

/** What a tagged kernel object stands for: tsnet marks every interface it makes with IFLA_IFALIAS "tsnet:KIND:ID". */
export type OwnerKind = 'network' | 'endpoint' | 'wire' | 'tunnel';

export const ownerTag = (kind: OwnerKind, id: string): string => `tsnet:${kind}:${id}`;

/** The kind and id of a tag of tsnet's, or undefined for anything else (someone else's alias, or none). */
export function parseOwnerTag(alias: string | undefined): { kind: OwnerKind; id: string } | undefined {
  const m = /^tsnet:(network|endpoint|wire|tunnel):([0-9a-f]+)$/u.exec(alias ?? '');
  return m ? { kind: m[1] as OwnerKind, id: m[2]! } : undefined;
}

/** A container of another host on the same overlay network, as the cluster store announces it. */
export interface RemotePeer {
  readonly mac: string;
  /** Without prefix length: "10.9.0.5". */
  readonly ipv4?: string;
  readonly ipv6?: string;
  /** Its host's underlay address (the tunnel's far end). */
  readonly vtep: string;
}
