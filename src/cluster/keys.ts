/**
 * What tsnet keeps in etcd, all under the prefix /tsnet/: the key layout and the records (JSON), read back with
 * checks. Networks have no lease (they outlive any host); whatever a host holds (its membership, its endpoints'
 * addresses and announcements) is bound to its lease, so that it goes when the host does.
 */
import type { GlobalNetwork } from '../cnm/cluster.js';

export const PREFIX = '/tsnet/';

export const keys = {
  host: (hostId: string) => `hosts/${hostId}`,
  hosts: 'hosts/',
  network: (id: string) => `networks/${id}`,
  networks: 'networks/',
  /** network id; makes names unique across hosts */
  name: (name: string) => `names/${name}`,
  /** network id; makes VXLAN ids unique */
  vni: (vni: number) => `vnis/${vni}`,
  /** Bumped by every network creation: the guard of the choice of a subnet against every other network's. */
  networksGeneration: 'generations/networks',
  /** Bumped by every address taken or given back on a network: the guard of its removal. */
  addressesGeneration: (networkId: string) => `generations/addresses/${networkId}`,
  address: (networkId: string, ip: string) => `addresses/${networkId}/${ip}`,
  addresses: (networkId: string) => `addresses/${networkId}/`,
  allAddresses: 'addresses/',
  endpoint: (networkId: string, endpointId: string) => `endpoints/${networkId}/${endpointId}`,
  endpoints: 'endpoints/',
} as const;

export interface HostRecord {
  readonly id: string;
  readonly address: string;
  readonly started: string;
}

/** Who holds an address: an endpoint of a host. */
export interface AddressRecord {
  readonly endpoint: string;
  readonly host: string;
}

/** An endpoint as other hosts need it: where its MAC is reached, and the names it answers to. */
export interface Announcement {
  readonly id: string;
  readonly network: string;
  readonly host: string;
  /** The host's underlay address. */
  readonly vtep: string;
  readonly mac: string;
  /** Without prefix: "10.9.0.5". */
  readonly ipv4: string;
  /** Container name, short container id, aliases: what the embedded resolver answers for. */
  readonly names: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown, fields: readonly string[]): boolean => isObject(v) && fields.every((f) => typeof v[f] === 'string');

/** A record read back, or undefined when it is not what tsnet writes (the key is then left alone). */
function parse<T>(text: string, valid: (v: unknown) => boolean): T | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return valid(value) ? (value as T) : undefined;
  } catch {
    return undefined;
  }
}

export const parseNetwork = (text: string): GlobalNetwork | undefined =>
  parse(text, (v) => strings(v, ['id', 'name', 'driver', 'created']) && isObject((v as Record<string, unknown>).pools));
export const parseAddress = (text: string): AddressRecord | undefined => parse(text, (v) => strings(v, ['endpoint', 'host']));
export const parseAnnouncement = (text: string): Announcement | undefined =>
  parse(text, (v) => strings(v, ['id', 'network', 'host', 'vtep', 'mac', 'ipv4']) && Array.isArray((v as Record<string, unknown>).names));
