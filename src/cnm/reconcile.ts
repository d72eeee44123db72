/**
 * Reconciliation at start-up: the store is read, IPAM restored, and the kernel brought in line with the records.
 * tsnet recognises its own kernel objects by their tags (IFLA_IFALIAS "tsnet:<kind>:<id>", rule comments,
 * namespaces in its run directory): what it owns but has no record of is removed; what is recorded but missing is
 * re-created, or, when that cannot be, reported broken with the reason; driver-wide state is rewritten whole.
 */
import { errorMessage } from '../errors.js';
import { NetNs } from '../netns/netns.js';
import { sandboxView, type CnmCore } from './core.js';
import { forgetEndpoint, releaseEndpoint } from './endpoint/addresses.js';
import { gatewayEndpoint } from './endpoint/gateway.js';
import { refreshPorts, rehold } from './ports/publish.js';
import { forgetWires, makeWire, stopRelays, wiresOf } from './wires/wires.js';
import { restorePool } from './pools.js';
import { writeSandboxFiles } from './sandbox/hosts.js';
import type { LiveSandbox } from './state.js';
import { parseOwnerTag } from '../drivers/records.js';
import type { DetachedEndpoint, JoinedEndpoint, SandboxRecord } from './types.js';

export interface ReconcileReport {
  /** Kernel objects and records tsnet owned but no longer should: removed. */
  readonly removed: string[];
  /** Recorded objects that were missing: made again. */
  readonly recreated: string[];
  /** Recorded objects that are missing and could not be made again, with why. */
  readonly broken: string[];
  /** Objects that carry tsnet's tag but are of a kind tsnet never makes (loopback, a physical NIC): left alone. */
  readonly leftAlone: string[];
}

/** The kind of link each tag is put on: a tag on anything else was not put there by tsnet. */
const TAGGED_KINDS = { network: 'bridge', endpoint: 'veth', wire: 'veth', tunnel: 'vxlan' } as const;

const emptyReport = (): ReconcileReport => ({ removed: [], recreated: [], broken: [], leftAlone: [] });

/** At start-up: the records restored, then the kernel brought in line with them; see the module comment. */
export async function reconcile(core: CnmCore): Promise<ReconcileReport> {
  const report = emptyReport();
  restoreRecords(core);
  for (const s of core.deps.store.sandboxes()) adoptOrDropSandbox(core, s, report);
  await kernelPass(core, report, true);
  report.broken.push(...rehold(core, core.state.endpointList()));
  await restoreDriverState(core);
  report.broken.push(...rewriteSandboxFiles(core));
  return report;
}

/**
 * Every sandbox's hosts and resolv.conf written again from the records: a crash between a connect's record and its
 * files, or a disconnect's, leaves them one endpoint behind. (Written in turn: 1,000 sandboxes take some 65 ms,
 * where libuv's threads took 230-300.)
 */
function rewriteSandboxFiles(core: CnmCore): string[] {
  const failed: string[] = [];
  for (const s of core.state.sandboxList()) {
    try {
      writeSandboxFiles(core, s);
    } catch (err) {
      failed.push(`files of sandbox ${s.record.id.slice(0, 12)}: ${errorMessage(err)}`);
    }
  }
  return failed;
}

/**
 * While running (`tsnet doctor`): what differs between the kernel, the firewall and the records, repaired when
 * apply is true, only reported otherwise (the report then says what a repair would do).
 */
export async function checkKernel(core: CnmCore, apply: boolean): Promise<ReconcileReport> {
  const report = emptyReport();
  for (const s of core.state.sandboxList()) {
    if (core.inHostNamespace(s) || core.deps.namespaces.isNamespace(s.record.netnsPath!)) continue;
    if (apply) dropSandbox(core, s.record, report);
    else report.removed.push(`sandbox ${s.record.id.slice(0, 12)}: its namespace ${s.record.netnsPath} is gone`);
  }
  await kernelPass(core, report, apply);
  report.recreated.push(...(await checkDriverState(core, apply)));
  return report;
}

/** What of each driver's driver-wide state (a firewall) is missing, restored when apply is true. */
export async function checkDriverState(core: CnmCore, apply: boolean): Promise<string[]> {
  const missing: string[] = [];
  for (const driver of core.driverList()) {
    const networks = core.state.networkList().filter((n) => n.driver === driver.name);
    const problems = (await driver.verify?.(core.driverCtx, networks)) ?? [];
    if (problems.length > 0 && apply) await driver.restore(core.driverCtx, networks);
    missing.push(...problems.map((p) => `${driver.name} driver: ${p}`));
  }
  return missing;
}

async function kernelPass(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  removeUnrecordedNamespaces(core, report, apply);
  await removeUnrecordedLinks(core, report, apply);
  await removeUnrecordedInterfaces(core, report, apply);
  await recreateNetworks(core, report, apply);
  await recreateEndpoints(core, report, apply);
  await dropVanishedDockerEndpoints(core, report, apply);
  await recreateWires(core, report, apply);
}

/**
 * Docker's endpoints whose veth pair is gone (a reboot, or the container's namespace destroyed while tsnet was down)
 * cannot be used again: dockerd makes a new endpoint for a container it starts. Their records go; a DeleteEndpoint
 * that dockerd still sends finds the endpoint gone already. (Such a record is what a power loss leaves when it
 * takes a DeleteEndpoint's commit, which is not synced: see docker.ts.)
 */
async function dropVanishedDockerEndpoints(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  const dropped: DetachedEndpoint[] = [];
  for (const e of core.state.endpointList()) {
    if (e.kind !== 'detached') continue;
    const driver = core.driver(core.network(e.networkId).driver);
    if (!driver.detachedEndpoints || (await driver.detachedEndpoints.present(core.driverCtx, e))) continue;
    report.removed.push(`Docker's endpoint ${e.name}: its veth pair is gone`);
    if (apply) dropped.push(e);
  }
  if (dropped.length === 0) return;
  core.deps.store.transaction(() => dropped.forEach((e) => forgetEndpoint(core, e)), 'volatile');
  for (const e of dropped) {
    core.state.dropEndpoint(e.id);
    core.ports.release(e.id);
  }
  await refreshPorts(core, dropped).catch((err: unknown) => report.broken.push(`published ports of Docker's endpoints: ${errorMessage(err)}`));
}

/** Recorded wires missing an end (its interface deleted by hand): the rest removed, the pair made again. */
async function recreateWires(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  for (const w of core.state.wireList()) {
    const present = await Promise.all(
      w.ends.map(async (e) => {
        const handle = e.sandboxId ? core.state.findSandbox(e.sandboxId)?.handle : core.driverCtx.host;
        return (await handle?.linkFind(e.ifname))?.alias === `tsnet:wire:${w.id}`;
      }),
    );
    if (present.every(Boolean)) continue;
    if (!apply) {
      report.recreated.push(`wire ${w.id.slice(0, 12)} (${w.owner}): an end is missing`);
      continue;
    }
    try {
      await makeWire(core, w);
      report.recreated.push(`wire ${w.id.slice(0, 12)} (${w.owner}): an end was missing`);
    } catch (err) {
      report.broken.push(`wire ${w.id.slice(0, 12)} (${w.owner}): cannot make it again: ${errorMessage(err)}`);
    }
  }
}

/** IPAM's pools with the addresses recorded as handed out, then the networks and endpoints into memory. */
function restoreRecords(core: CnmCore): void {
  const { store } = core.deps;
  const networks = store.networks();
  for (const n of networks) for (const p of [n.pools.v4, n.pools.v6]) if (p && !p.external) restorePool(core, p);
  for (const d of store.dockerPools()) restorePool(core, d);
  for (const n of networks) core.state.putNetwork(n);
  for (const e of store.endpoints()) core.state.putEndpoint(e);
  for (const w of store.wires()) core.state.putWire(w);
}

/** A sandbox whose namespace is gone cannot be brought back: its record and endpoints go. */
function adoptOrDropSandbox(core: CnmCore, s: SandboxRecord, report: ReconcileReport): void {
  const inHost = s.netnsPath === null || s.netnsPath === core.deps.hostNs.path;
  if (inHost || core.deps.namespaces.isNamespace(s.netnsPath!)) {
    const ns = inHost ? core.deps.hostNs : NetNs.fromPath(s.netnsPath!, s.id);
    core.state.putSandbox({ record: s, ns, handle: core.openHandle(ns) });
    return;
  }
  dropSandbox(core, s, report);
}

/** Forgets a sandbox whose namespace is gone, with its endpoints. */
function dropSandbox(core: CnmCore, s: SandboxRecord, report: ReconcileReport): void {
  const gone = core.state.joinedTo(s.id);
  const wires = wiresOf(core, new Set([s.id]));
  void stopRelays(core, wires); // a relay would hold the namespace that is gone from tsnet's folder
  forgetWires(core, wires);
  core.deps.store.transaction(() => {
    for (const e of gone) forgetEndpoint(core, e);
    core.deps.store.delete('sandboxes', s.id);
  });
  for (const e of gone) releaseEndpoint(core, e);
  core.state.findSandbox(s.id)?.handle.close();
  core.state.dropSandbox(s.id);
  core.files.remove(s.id);
  report.removed.push(`sandbox ${s.id.slice(0, 12)}: its namespace ${s.netnsPath} is gone (and with it ${gone.length} endpoint(s))`);
}

/** Namespaces in tsnet's folder that no sandbox records. */
function removeUnrecordedNamespaces(core: CnmCore, report: ReconcileReport, apply: boolean): void {
  for (const name of core.deps.namespaces.list()) {
    if (core.state.findSandbox(name)) continue;
    if (apply) core.deps.namespaces.delete(name);
    report.removed.push(`namespace ${name.slice(0, 12)}: no sandbox records it`);
  }
}

/** Tagged links in the host namespace that no network or endpoint records. */
async function removeUnrecordedLinks(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  const host = core.driverCtx.host;
  const orphans: number[] = [];
  for (const link of await host.linkList()) {
    const tag = parseOwnerTag(link.alias);
    if (!tag) continue;
    const { kind, id } = tag;
    const known =
      kind === 'network' || kind === 'tunnel' ? !!core.state.findNetwork(id) : kind === 'wire' ? !!core.state.findWire(id) : !!core.state.findEndpoint(id);
    if (known) continue;
    if (link.kind !== TAGGED_KINDS[kind]) {
      report.leftAlone.push(`${link.name}: tagged ${link.alias} but a ${link.kind ?? 'device without a kind'}, which tsnet never makes`);
      continue;
    }
    orphans.push(link.index);
    report.removed.push(`${kind} interface ${link.name}: no ${kind} records it`);
  }
  if (apply) await host.linkDeleteMany(orphans);
}

/**
 * Interfaces inside sandboxes' namespaces (tsnet's own, and all that is in them) that no endpoint records: what a
 * crash between a veth's creation and its record leaves. Deleting the inner end takes the pair.
 */
async function removeUnrecordedInterfaces(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  for (const s of core.state.sandboxList()) {
    if (core.inHostNamespace(s)) continue;
    const recorded = new Set(core.state.joinedTo(s.record.id).map((e) => e.ifname));
    for (const link of await s.handle.linkList()) {
      const tag = parseOwnerTag(link.alias);
      if (link.name === 'lo' || recorded.has(link.name) || (tag?.kind === 'wire' && core.state.findWire(tag.id))) continue;
      if (apply) await s.handle.linkDelete(link.index);
      report.removed.push(`interface ${link.name} in sandbox ${s.record.id.slice(0, 12)}: no endpoint records it`);
    }
  }
}

/** Recorded networks whose kernel objects are missing. */
async function recreateNetworks(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  for (const n of core.state.networkList()) {
    const driver = core.driver(n.driver);
    if (await driver.networkPresent(core.driverCtx, n)) continue;
    if (!apply) {
      report.recreated.push(`network ${n.name}: its kernel object (${n.driver}) is missing`);
      continue;
    }
    try {
      await driver.createNetwork(core.driverCtx, n);
      report.recreated.push(`network ${n.name}: its kernel object (${n.driver}) was missing`);
    } catch (err) {
      report.broken.push(`network ${n.name}: cannot re-create it: ${errorMessage(err)}`);
    }
  }
}

/** Joined endpoints whose interfaces are missing or detached: what is left goes, then they join again as they were. */
async function recreateEndpoints(core: CnmCore, report: ReconcileReport, apply: boolean): Promise<void> {
  for (const e of core.state.endpointList()) {
    if (e.kind !== 'joined' || !e.hostIfname || !e.ifname) continue;
    const sandbox = core.state.findSandbox(e.sandboxId);
    if (!sandbox) continue;
    try {
      if (await rejoin(core, e, e.ifname, sandbox, apply)) report.recreated.push(`endpoint ${e.name}: its interfaces were missing or detached`);
    } catch (err) {
      report.broken.push(`endpoint ${e.name}: cannot re-create its interfaces: ${errorMessage(err)}`);
    }
  }
}

/** Joins the endpoint again if its kernel objects are not as they should be; whether it had to. */
async function rejoin(core: CnmCore, e: JoinedEndpoint, ifname: string, sandbox: LiveSandbox, apply: boolean): Promise<boolean> {
  const network = core.network(e.networkId);
  const driver = core.driver(network.driver);
  const view = sandboxView(sandbox);
  const defaultRoute = gatewayEndpoint(core, sandbox.record.id)?.id === e.id;
  const request = { network, endpoint: e, sandbox: view, ifname, defaultRoute };
  if (await driver.endpointPresent(core.driverCtx, request)) return false;
  if (!apply) return true;
  await driver.leave(core.driverCtx, [{ network, endpoint: e, sandbox: view }]);
  const inside = await sandbox.handle.linkFind(ifname);
  if (inside) await sandbox.handle.linkDelete(inside.index);
  await driver.join(core.driverCtx, request);
  return true;
}

/** Driver-wide state (the firewall, sysctls), rewritten for each driver's networks. */
async function restoreDriverState(core: CnmCore): Promise<void> {
  for (const driver of core.driverList()) {
    await driver.restore(
      core.driverCtx,
      core.state.networkList().filter((n) => n.driver === driver.name),
    );
  }
}
