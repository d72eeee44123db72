/**
 * Opening the controller: the store is read, IPAM restored, and the kernel reconciled with the records. tsnet
 * recognises its own kernel objects by their tags (IFLA_IFALIAS "tsnet:<kind>:<id>", rule comments, namespaces
 * in its run directory): what it owns but has no record of is removed; what is recorded but missing is re-created,
 * or, when that cannot be, reported broken with the reason; the firewall is rewritten whole.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BridgeDriver } from '../drivers/bridge/bridge-driver.js';
import type { NetworkDriver } from '../drivers/driver.js';
import { HostDriver } from '../drivers/host/host-driver.js';
import { NullDriver } from '../drivers/null/null-driver.js';
import { DualStackFirewaller, IptablesFirewaller } from '../iptables/firewaller.js';
import type { DefaultPool } from '../ipam/default-pools.js';
import { Ipam } from '../ipam/ipam.js';
import { NetNs, NetnsDirectory } from '../netns/netns.js';
import { Controller, type LiveSandbox } from './controller.js';
import { Store } from './store.js';

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
}

export interface ReconcileReport {
  /** Kernel objects and records tsnet owned but no longer should: removed. */
  readonly removed: string[];
  /** Recorded objects that were missing: made again. */
  readonly recreated: string[];
  /** Recorded objects that are missing and could not be made again, with why. */
  readonly broken: string[];
}

const TAG = /^tsnet:(network|endpoint):([0-9a-f]+)$/u;

export async function openController(options: ControllerOptions): Promise<{ controller: Controller; report: ReconcileReport }> {
  const hostNs = options.hostNs ?? NetNs.current();
  const store = Store.open(join(options.root, 'tsnet.db'));
  const drivers: NetworkDriver[] = [new BridgeDriver(), new HostDriver(), new NullDriver()];
  const controller = new Controller({
    store,
    ipam: new Ipam({ ...(options.defaultPools ? { localPools: options.defaultPools } : {}) }),
    drivers,
    hostNs,
    netnsDir: new NetnsDirectory(options.netnsDir ?? join(options.root, 'netns')),
    sandboxFilesDir: join(options.root, 'sandboxes'),
    firewall: options.iptables === false ? null : new DualStackFirewaller(new IptablesFirewaller(hostNs, 4), new IptablesFirewaller(hostNs, 6)),
  });
  const report = await reconcile(controller);
  return { controller, report };
}

/** Brings the kernel and the records in line; see the module comment. Safe to run on a clean start. */
export async function reconcile(controller: Controller): Promise<ReconcileReport> {
  const { store, ipam, netnsDir } = controller.deps;
  const report: ReconcileReport = { removed: [], recreated: [], broken: [] };
  const networks = store.networks();
  let endpoints = store.endpoints();
  const sandboxes = store.sandboxes();

  // IPAM: pools and the addresses recorded as handed out.
  for (const n of networks) {
    for (const p of [n.pools.v4, n.pools.v6]) {
      if (!p || p.external) continue;
      const pool = ipam.addPool(
        ipam.planPool({ id: p.id, space: p.space, subnet: p.subnet, gateway: p.gateway ?? null, auxAddresses: p.auxAddresses, ...(p.ipRange ? { ipRange: p.ipRange } : {}) }),
      );
      pool.restore(store.addresses(p.id), store.cursor(p.id) ?? pool.nextSearch);
    }
  }
  for (const d of store.dockerPools()) {
    const pool = ipam.addPool(ipam.planPool({ id: d.id, space: d.space, subnet: d.subnet, gateway: null, ...(d.ipRange ? { ipRange: d.ipRange } : {}) }));
    pool.restore(store.addresses(d.id), store.cursor(d.id) ?? pool.nextSearch);
  }
  controller.adopt({ networks, endpoints });

  // Sandboxes whose namespace is gone cannot be brought back: their records and endpoints go.
  const live = new Map<string, LiveSandbox>();
  for (const s of sandboxes) {
    if (s.netnsPath !== null && s.netnsPath !== controller.deps.hostNs.path && !existsSync(s.netnsPath)) {
      const gone = endpoints.filter((e) => e.sandboxId === s.id);
      store.transaction(() => {
        for (const e of gone) controller.forgetEndpoint(e);
        store.delete('sandboxes', s.id);
      });
      for (const e of gone) controller.releaseAddresses(e);
      endpoints = endpoints.filter((e) => e.sandboxId !== s.id);
      controller.files.remove(s.id);
      report.removed.push(`sandbox ${s.id.slice(0, 12)}: its namespace ${s.netnsPath} is gone (and with it ${gone.length} endpoint(s))`);
      continue;
    }
    live.set(s.id, controller.adoptSandbox(s));
  }
  // Namespaces in tsnet's folder that no sandbox records.
  for (const name of netnsDir.list()) {
    if (!live.has(name)) {
      netnsDir.delete(name, { ignoreMissing: true });
      report.removed.push(`namespace ${name.slice(0, 12)}: no sandbox records it`);
    }
  }

  // Tagged links in the host namespace without a record.
  const host = controller.ctx.host;
  const orphans: string[] = [];
  for (const link of await host.linkList()) {
    const m = TAG.exec(link.alias ?? '');
    if (!m) continue;
    const [, kind, id] = m;
    // A tsnet endpoint is known while joined; a Docker endpoint as long as it is recorded.
    const known = kind === 'network' ? controller.networks.has(id!) : endpoints.some((e) => e.id === id && (e.sandboxId || e.peerIfname));
    if (!known) {
      orphans.push(link.name);
      report.removed.push(`${kind} interface ${link.name}: no ${kind} records it`);
    }
  }
  await host.linkDeleteMany(orphans);

  // Recorded networks whose kernel objects are missing.
  for (const n of networks) {
    const driver = controller.driver(n.driver);
    if (await driver.networkPresent(controller.ctx, n)) continue;
    try {
      await driver.createNetwork(controller.ctx, n);
      report.recreated.push(`network ${n.name}: its ${n.bridge?.bridgeName ?? n.driver} was missing`);
    } catch (err) {
      report.broken.push(`network ${n.name}: cannot re-create it: ${(err as Error).message}`);
    }
  }

  // Joined endpoints whose interfaces are missing.
  for (const e of endpoints) {
    const sandbox = e.sandboxId ? live.get(e.sandboxId) : undefined;
    const network = controller.networks.get(e.networkId);
    if (!sandbox || !network || !e.hostIfname || !e.ifname) continue;
    const view = { id: sandbox.record.id, ns: sandbox.ns, handle: sandbox.handle };
    const joined = controller.endpointsOf({ sandboxId: sandbox.record.id });
    const defaultRoute = joined.find((x) => controller.providesGateway(x))?.id === e.id;
    const driver = controller.driver(network.driver);
    const request = { network, endpoint: e, sandbox: view, ifname: e.ifname, defaultRoute };
    if (await driver.endpointPresent(controller.ctx, request)) continue;
    try {
      // Whatever is left of it goes first, then it is joined again as it was.
      await driver.leave(controller.ctx, [{ network, endpoint: e, sandbox: view }]);
      const inside = await sandbox.handle.linkFind(e.ifname);
      if (inside) await sandbox.handle.linkDelete(inside.index);
      await driver.join(controller.ctx, request);
      report.recreated.push(`endpoint ${e.name}: its interfaces were missing or detached`);
    } catch (err) {
      report.broken.push(`endpoint ${e.name}: cannot re-create its interfaces: ${(err as Error).message}`);
    }
  }

  await controller.enableForwardingFor(networks);
  await controller.applyFirewall();
  return report;
}
