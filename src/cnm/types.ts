/**
 * The records of the Container Network Model as tsnet stores them. Networks and endpoints are declared with the
 * driver interface (drivers read them); sandboxes and Docker's IPAM pools are the controller's alone.
 */
export type { DetachedEndpoint, DriverName, EndpointBase, EndpointRecord, JoinedEndpoint, NetworkRecord, PoolRecord } from '../drivers/records.js';

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
}

/** A pool Docker requested from tsnet's IPAM plugin; references count identical explicit requests. */
export interface DockerPoolRecord {
  readonly id: string;
  readonly space: 'local' | 'global';
  readonly subnet: string;
  readonly ipRange?: string;
  readonly references: number;
}
