/**
 * The embedded resolver put together: the names a client may resolve come from the controller (endpoints, their
 * aliases, the sandbox's --dns servers) and the runtime (container names), read per query; the resolver listens on
 * the gateways of the networks that serve DNS, following them as networks come and go.
 */
import type { Controller } from '../cnm/controller.js';
import type { NetworkRecord } from '../cnm/types.js';
import { hostResolvers } from '../cnm/sandbox/files.js';
import { addName, type ClientScope, type NameAddresses, type NameDirectory } from '../dns/directory.js';
import { DnsServer, type DnsLog } from '../dns/server.js';
import { addressOf } from '../ipam/subnet.js';
import type { ContainerService } from './containers.js';

/** The names of other hosts' containers on a network (the cluster agent's), each with its IPv4 address. */
export type RemoteNames = (networkId: string) => readonly { readonly names: readonly string[]; readonly ipv4: string }[];

/** The names, reverse names and forwarders of a client on the networks in scope. */
function scopeFor(
  controller: Controller,
  containers: ContainerService,
  networks: readonly NetworkRecord[],
  sandboxId: string | undefined,
  resolvConf?: string,
  remote?: RemoteNames,
): ClientScope {
  const names = new Map<string, NameAddresses>();
  const reverse = new Map<string, string>();
  const containerNames = containers.sandboxNames();
  for (const n of networks) {
    for (const e of controller.endpointsOf({ networkId: n.id })) {
      if (e.kind !== 'joined') continue;
      const v4 = e.ipv4 ? [addressOf(e.ipv4)] : [];
      const v6 = e.ipv6 ? [addressOf(e.ipv6)] : [];
      const record = controller.hasSandbox(e.sandboxId) ? controller.sandbox(e.sandboxId).record : undefined;
      const name = containerNames.get(e.sandboxId);
      const own = [...(name ? [name] : []), ...(record ? [record.containerId.slice(0, 12)] : [])];
      for (const alias of [...own, ...e.aliases]) addName(names, alias, v4, v6);
      if (name) for (const a of [...v4, ...v6]) reverse.set(a, name);
    }
    // Other hosts' containers on a global network, as the cluster store announces them.
    for (const r of remote?.(n.id) ?? []) {
      for (const alias of r.names) addName(names, alias, [r.ipv4], []);
      if (r.names[0]) reverse.set(r.ipv4, r.names[0]);
    }
  }
  const dns = sandboxId && controller.hasSandbox(sandboxId) ? controller.sandbox(sandboxId).record.dns : [];
  return { names, reverse, upstreams: dns.length ? dns : hostResolvers(resolvConf).servers };
}

/**
 * The directory over the live state. Scopes are derived once per state version and client, so a query costs a map
 * lookup; any finished operation (a container gone, an alias added) makes the next query derive them again.
 */
export function controllerDirectory(controller: Controller, containers: ContainerService, resolvConf?: string, remote?: RemoteNames): NameDirectory {
  const cache = { version: -1, scopes: new Map<string, ClientScope | undefined>() };
  const derive = (client: string, local: string): ClientScope | undefined => {
    const served = controller.dnsNetworks();
    const network = served.find((n) => n.pools.v4?.gateway === local);
    if (!network) return undefined;
    const endpoint = controller.endpointsOf({ networkId: network.id }).find((e) => e.ipv4 && addressOf(e.ipv4) === client);
    const sandboxId = endpoint?.kind === 'joined' ? endpoint.sandboxId : undefined;
    // A container resolves the names of every network it is on; anyone else (the host) those of this one.
    const joined = new Set(sandboxId ? controller.joinedTo(sandboxId).map((e) => e.networkId) : [network.id]);
    const scope = scopeFor(
      controller,
      containers,
      served.filter((n) => joined.has(n.id)),
      sandboxId,
      resolvConf,
      remote,
    );
    // An internal network resolves its members' names and forwards nothing.
    return network.internal ? { ...scope, upstreams: [] } : scope;
  };
  return {
    scopeOf: (client, local) => {
      if (cache.version !== controller.stateVersion()) {
        cache.version = controller.stateVersion();
        cache.scopes.clear();
      }
      const key = `${client} ${local}`;
      if (!cache.scopes.has(key)) cache.scopes.set(key, derive(client, local));
      return cache.scopes.get(key);
    },
  };
}

/** Starts the resolver on the gateways of the networks that serve DNS, and keeps it there. */
export async function startDns(
  controller: Controller,
  containers: ContainerService,
  log: DnsLog,
  resolvConf?: string,
  remote?: RemoteNames,
): Promise<DnsServer> {
  const server = new DnsServer(controllerDirectory(controller, containers, resolvConf, remote), log);
  const gateways = (): string[] => controller.dnsNetworks().flatMap((n) => (n.pools.v4?.gateway ? [n.pools.v4.gateway] : []));
  controller.watchNetworks(() => void server.sync(gateways()));
  await server.sync(gateways());
  return server;
}
