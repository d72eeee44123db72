/**
 * A sandbox's /etc/hosts and /etc/resolv.conf, rewritten from its endpoints whenever they change: addresses and
 * aliases in hosts; in resolv.conf the embedded resolver of its first user-defined network, when it has one.
 */
import type { CnmCore } from '../core.js';
import type { LiveSandbox } from '../state.js';
import type { NetworkRecord } from '../types.js';
import { hostsFile, resolvConf } from './files.js';

/** Docker's bridge option that leaves the bridge without an IPv4 address (then there is no resolver to reach). */
const INHIBIT_IPV4 = 'com.docker.network.bridge.inhibit_ipv4';

/**
 * Whether the network's containers resolve each other's names through tsnet's embedded resolver (on the gateway
 * address): user-defined bridge and overlay networks of tsnet's own, as Docker's; not the default `bridge`, nor Docker's.
 */
export function servesDns(core: CnmCore, n: NetworkRecord): boolean {
  const inhibited = n.options[INHIBIT_IPV4] === 'true' || n.options[INHIBIT_IPV4] === '1';
  return (n.driver === 'bridge' || n.driver === 'overlay') && n.owner === 'tsnet' && !core.predefined.has(n.name) && !!n.pools.v4?.gateway && !inhibited;
}

/** The embedded resolver's address for a sandbox: the gateway of its first joined network that serves DNS. */
export function embeddedResolver(core: CnmCore, sandboxId: string): string | undefined {
  for (const e of core.state.joinedTo(sandboxId)) {
    const n = core.state.findNetwork(e.networkId);
    if (n && servesDns(core, n)) return n.pools.v4!.gateway;
  }
  return undefined;
}

export function writeSandboxFiles(core: CnmCore, sandbox: LiveSandbox): void {
  const { record } = sandbox;
  const eps = core.state.joinedTo(record.id);
  const addresses = eps.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => !!a));
  core.files.writeHosts(
    record.id,
    hostsFile(
      record.hostname,
      addresses,
      eps.flatMap((e) => e.aliases),
      record.extraHosts ?? [],
    ),
  );
  const dns = { servers: record.dns, ...(record.dnsSearch ? { search: record.dnsSearch } : {}), ...(record.dnsOptions ? { options: record.dnsOptions } : {}) };
  core.files.writeResolv(record.id, resolvConf(dns, core.deps.hostResolvConf, embeddedResolver(core, record.id)));
}
