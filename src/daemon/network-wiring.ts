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
import { DualStackFirewaller, IptablesFirewaller } from '../iptables/firewaller.js';
import type { DefaultPool } from '../ipam/default-pools.js';
import { Ipam } from '../ipam/ipam.js';
import { NetNs, NetnsDirectory } from '../netns/netns.js';
import { DelayRelays } from '../runtime/delay-relays.js';
import { launcherPath } from '../runtime/launcher-process.js';

export interface ControllerOptions {
  /** The state folder: the store and the sandboxes' files. */
  readonly root: string;
  /** Where sandbox namespaces are pinned (default ROOT/netns). */
  readonly netnsDir?: string;
  /** tsnet's host namespace (default: the process's own). */
  readonly hostNs?: NetNs;
  /** false: leave iptables alone. */
  readonly iptables?: boolean;
  readonly defaultPools?: readonly DefaultPool[];
  /** The host's resolver configuration (default /etc/resolv.conf). */
  readonly resolvConf?: string;
}

/** The controller's dependencies for these options. */
export function controllerDeps(options: ControllerOptions): ControllerDeps {
  const hostNs = options.hostNs ?? NetNs.current();
  return {
    store: Store.open(join(options.root, 'tsnet.db')),
    ipam: new Ipam({ ...(options.defaultPools ? { localPools: options.defaultPools } : {}) }),
    drivers: [new BridgeDriver(), new HostDriver(), new NullDriver()],
    hostNs,
    namespaces: new PinnedNamespaces(new NetnsDirectory(options.netnsDir ?? join(options.root, 'netns'))),
    sandboxFilesDir: join(options.root, 'sandboxes'),
    ...(options.resolvConf ? { hostResolvConf: options.resolvConf } : {}),
    firewall: options.iptables === false ? null : new DualStackFirewaller(new IptablesFirewaller(hostNs, 4), new IptablesFirewaller(hostNs, 6)),
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
