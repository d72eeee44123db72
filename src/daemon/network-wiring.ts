/**
 * Which drivers, which firewall, which store: the network side of the daemon put together, then opened (the
 * Controller reconciles the kernel with the store before it answers anything). Tests, the demo and benches open
 * a controller the same way.
 */
import { join } from 'node:path';
import { Controller, type ControllerDeps, type ReconcileReport } from '../cnm/controller.js';
import { PinnedNamespaces } from '../cnm/sandbox/namespaces.js';
import { Store } from '../cnm/store.js';
import { BridgeDriver } from '../drivers/bridge/bridge-driver.js';
import { HostDriver } from '../drivers/host/host-driver.js';
import { NullDriver } from '../drivers/null/null-driver.js';
import { OverlayDriver } from '../drivers/overlay/overlay-driver.js';
import type { ClusterState } from '../cnm/cluster.js';
import { DualStackFirewaller, ExclusiveFirewaller, IptablesFirewaller, type Firewaller } from '../iptables/firewaller.js';
import { NftablesFirewaller, nftablesAvailable } from '../nftables/firewaller.js';
import type { DefaultPool } from '../ipam/default-pools.js';
import { Ipam } from '../ipam/ipam.js';
import { NetNs, NetnsDirectory } from '../netns/netns.js';
import { DelayRelays } from '../runtime/delay-relays.js';
import { launcherPath } from '../runtime/launcher-process.js';

export interface ControllerOptions {
  /** The state folder: the store, and what outlives a reboot. */
  readonly root: string;
  /**
   * The folder of what a reboot wipes (a tmpfs such as /run/tsnet, default ROOT): the sandboxes' hosts and
   * resolv.conf, which live no longer than their namespaces, kept off the disk.
   */
  readonly runDir?: string;
  /** Where sandbox namespaces are pinned (default RUNDIR/netns). */
  readonly netnsDir?: string;
  /** tsnet's host namespace (default: the process's own). */
  readonly hostNs?: NetNs;
  /** false: leave the firewall alone. */
  readonly iptables?: boolean;
  /** How the firewall is driven: nf_tables netlink messages (the default where the kernel has nf_tables) or iptables-restore. */
  readonly firewallBackend?: FirewallBackend;
  readonly defaultPools?: readonly DefaultPool[];
  /** The host's resolver configuration (default /etc/resolv.conf). */
  readonly resolvConf?: string;
  /** The cluster store of global networks, and this host's underlay address (--cluster-store, --cluster-advertise). */
  readonly cluster?: { readonly state: ClusterState; readonly advertise: string };
}

export type FirewallBackend = 'nftables' | 'iptables';

/** The backend these options ask for: the one named, else nftables where the kernel has it. */
export function firewallBackend(options: Pick<ControllerOptions, 'iptables' | 'firewallBackend'>, hostNs: NetNs): FirewallBackend | null {
  if (options.iptables === false) return null;
  return options.firewallBackend ?? (nftablesAvailable(hostNs) ? 'nftables' : 'iptables');
}

/** The backend's firewaller, which first removes what the other backend left. */
function firewaller(backend: FirewallBackend | null, hostNs: NetNs): Firewaller | null {
  if (backend === null) return null;
  const nftables = new NftablesFirewaller(hostNs);
  const iptables = new DualStackFirewaller(new IptablesFirewaller(hostNs, 4), new IptablesFirewaller(hostNs, 6));
  return backend === 'nftables' ? new ExclusiveFirewaller(nftables, iptables) : new ExclusiveFirewaller(iptables, nftables);
}

/** The controller's dependencies for these options. */
export function controllerDeps(options: ControllerOptions): ControllerDeps {
  const hostNs = options.hostNs ?? NetNs.current();
  return {
    store: Store.open(join(options.root, 'tsnet.db')),
    ipam: new Ipam({ ...(options.defaultPools ? { localPools: options.defaultPools } : {}) }),
    drivers: [new BridgeDriver(), new HostDriver(), new NullDriver(), new OverlayDriver(options.cluster?.advertise)],
    ...(options.cluster ? { cluster: options.cluster.state } : {}),
    hostNs,
    namespaces: new PinnedNamespaces(new NetnsDirectory(options.netnsDir ?? join(options.runDir ?? options.root, 'netns'))),
    sandboxFilesDir: join(options.runDir ?? options.root, 'sandboxes'),
    // Where an earlier version kept them: sandboxes made then keep their files there until they go.
    legacySandboxFilesDir: join(options.root, 'sandboxes'),
    ...(options.resolvConf ? { hostResolvConf: options.resolvConf } : {}),
    firewall: firewaller(firewallBackend(options, hostNs), hostNs),
    // The launcher is found when a delay is first set, so that a controller opens without it.
    delayEngine: {
      start: (spec) => new DelayRelays(launcherPath(), join(options.root, 'relays')).start(spec),
      stop: (pid, inIf) => new DelayRelays('', '').stop(pid, inIf),
      drain: (pid, inIf) => new DelayRelays('', '').drain(pid, inIf),
    },
  };
}

export function openController(options: ControllerOptions): Promise<{ controller: Controller; report: ReconcileReport }> {
  return Controller.open(controllerDeps(options));
}
