/** A lab's topology as tsnet runs it, read from containerlab's file and tsnet's companion file. */
import type { ExperimentSpec } from '../api/labs.js';
import type { ImpairmentInput } from '../lib/impairment.js';

export interface LabEndpoint {
  readonly node: string;
  readonly iface: string;
  readonly mac?: string;
}

export interface LabLink {
  readonly a: LabEndpoint;
  readonly b: LabEndpoint;
  readonly mtu?: number;
}

export interface LabRoute {
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
}

export interface LabNode {
  readonly name: string;
  readonly kind: 'linux' | 'bridge';
  readonly image?: string;
  readonly cmd?: readonly string[];
  readonly exec: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly sysctls: Readonly<Record<string, string>>;
  readonly networkMode: 'bridge' | 'none';
  readonly mgmtIpv4?: string;
  readonly mgmtIpv6?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly group?: string;
  /** From the companion file: addresses per interface, and routes. */
  readonly addresses: Readonly<Record<string, readonly string[]>>;
  /** From the companion file: what is done to the packets leaving an interface (checked, then applied at deploy). */
  readonly impair: Readonly<Record<string, ImpairmentInput>>;
  readonly routes: readonly LabRoute[];
  /** Read to be refused: tsnet has no bind mounts yet. */
  readonly binds?: readonly string[];
  readonly type?: string;
}

/** A scheduled change of a link end: at atNs from the schedule's start, an impairment set (or cleared), or its state. */
export interface LabEvent {
  readonly atNs: number;
  readonly endpoint: string;
  readonly peerToo: boolean;
  readonly clear: boolean;
  readonly set?: ImpairmentInput;
  readonly state?: 'down' | 'up';
}

export interface Topology {
  readonly name: string;
  /** The topology file's folder (absolute), against which relative bind paths are read, as containerlab reads them. */
  readonly dir?: string;
  readonly prefix: string;
  readonly mgmt: {
    readonly network: string;
    readonly ipv4Subnet: string;
    readonly ipv6Subnet?: string;
    readonly ipv4Gateway?: string;
    readonly ipv6Gateway?: string;
    /** The management network's bridge interface name. */
    readonly bridge?: string;
    readonly mtu?: number;
  };
  readonly nodes: readonly LabNode[];
  readonly links: readonly LabLink[];
  /** From the companion file, in the file's order. */
  readonly events: readonly LabEvent[];
  /** From the companion file: what `lab run` measures. */
  readonly experiments: readonly ExperimentSpec[];
}

/** Where a path of keys is in the file: "line N: a.b.c". */
export type Locate = (path: readonly (string | number)[]) => string;
