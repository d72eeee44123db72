/**
 * The records of the Container Network Model as tsnet stores them. Networks and endpoints are declared with the
 * driver interface (drivers read them); sandboxes and Docker's IPAM pools are the controller's alone.
 */
import type { Impairment } from '../lib/impairment.js';
export type {
  DetachedEndpoint,
  DriverName,
  EndpointBase,
  EndpointRecord,
  JoinedEndpoint,
  NetworkRecord,
  PoolRecord,
  PortBinding,
  PortProtocol,
  RemotePeer,
} from '../drivers/records.js';
import type { PortProtocol } from '../drivers/records.js';

/** A port to publish as asked (docker run -p): ranges not yet expanded, host port 0 or absent for an ephemeral one. */
export interface PortSpec {
  readonly protocol: PortProtocol;
  readonly containerPort: number;
  readonly containerPortEnd?: number;
  /** Absent: every address (of each family the network has), or the network's host_binding_ipv4. */
  readonly hostIp?: string;
  readonly hostPort?: number;
  readonly hostPortEnd?: number;
}

export interface SandboxRecord {
  readonly id: string;
  readonly containerId: string;
  readonly created: string;
  /** The namespace file; the host's own namespace path for a sandbox of the host driver. */
  readonly netnsPath: string | null;
  readonly hostname: string;
  readonly dns: readonly string[];
  readonly dnsSearch?: readonly string[];
  readonly dnsOptions?: readonly string[];
  /** --add-host lines. */
  readonly extraHosts?: readonly { readonly name: string; readonly ip: string }[];
  /** -p: published through the endpoint that carries the sandbox's gateway. */
  readonly publish?: readonly PortSpec[];
  /** The container's name, for messages ("port 8080 is published by container web"). */
  readonly containerName?: string;
}

/** A pool Docker requested from tsnet's IPAM plugin; references count identical explicit requests. */
export interface DockerPoolRecord {
  readonly id: string;
  readonly space: 'local' | 'global';
  readonly subnet: string;
  readonly ipRange?: string;
  readonly references: number;
}

/** One end of a wire: an interface in a sandbox, or in the host namespace (then optionally on a bridge). */
export interface WireEnd {
  /** Absent: the host namespace. */
  readonly sandboxId?: string;
  readonly ifname: string;
  readonly mac?: string;
  /** "10.0.12.1/30" */
  readonly addresses: readonly string[];
  /** Host ends only: the bridge it is a port of (a lab's bridge node). */
  readonly bridge?: string;
  /** What is done to the packets leaving this end (rate, loss, delay, mtu, down), as last set. */
  readonly impairment?: Impairment;
  /** The delay engine's relay process holding this end's packets, while it has a delay. */
  readonly relayPid?: number;
  /** Which of the end's two hidden pairs the relay reads. */
  readonly relayBank?: 0 | 1;
  /** The kernel's netem qdisc applies this end's delay (and the rest the delay engine would), not a relay. */
  readonly netem?: boolean;
}

/**
 * A wire: a veth pair made straight between two namespaces, no bridge in between (a lab's point-to-point link).
 * Its interfaces carry the tag "tsnet:wire:ID"; it goes with either sandbox, or with its owner (a lab).
 */
export interface WireRecord {
  readonly id: string;
  /** Who asked for it, e.g. "lab:ring": wires are removed by owner. */
  readonly owner: string;
  /** What its owner calls it, for messages ("link r1:eth1 - r2:eth1"). */
  readonly label?: string;
  readonly mtu?: number;
  readonly ends: readonly [WireEnd, WireEnd];
}
