/**
 * Sandboxes (like libnetwork's osl): a namespace pinned in tsnet's folder with `lo` up and IPv6 off until an IPv6
 * network joins, its hosts and resolv.conf files, and its record. Removal takes its endpoints with it, the host ends
 * of all their veths in one request per driver.
 */
import { InvalidArgumentError } from '../../errors.js';
import { formatAddress, parseAddress } from '../../ipam/subnet.js';
import type { NetNs } from '../../netns/netns.js';
import { newId, type CnmCore } from '../core.js';
import { forgetEndpoint, releaseEndpoint } from '../endpoint/addresses.js';
import { leaveAll } from '../endpoint/leave.js';
import { refreshPorts } from '../ports/publish.js';
import { deleteOutlivingEnds, forgetWires, stopRelays, wiresOf } from '../wires/wires.js';
import { checkPortSpecs } from '../ports/specs.js';
import type { LiveSandbox } from '../state.js';
import type { PortSpec, SandboxRecord } from '../types.js';
import { UndoStack } from '../undo.js';
import { hostsFile, resolvConf } from './files.js';

export interface SandboxCreateRequest {
  readonly containerId: string;
  /** Its id (64 hex digits) when the caller keeps one for the container's every start; else a new one. */
  readonly id?: string;
  readonly hostname?: string;
  readonly dns?: readonly string[];
  /** The sandbox is the host's own namespace (for the host driver). */
  readonly hostNamespace?: boolean;
  readonly dnsSearch?: readonly string[];
  readonly dnsOptions?: readonly string[];
  /** "NAME:IP" lines for /etc/hosts (--add-host). */
  readonly extraHosts?: readonly string[];
  /** -p: published through the endpoint that will carry the sandbox's gateway. */
  readonly publish?: readonly PortSpec[];
  /** The container's name, for messages. */
  readonly containerName?: string;
}

const DNS_NAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,252})$/u;

/** Checks what ends up in the sandbox's files: addresses are addresses and names are names, nothing else slips in. */
function checkFiles(req: SandboxCreateRequest): { name: string; ip: string }[] {
  for (const s of req.dns ?? []) parseAddress(s, 'DNS server');
  for (const s of req.dnsSearch ?? []) if (!DNS_NAME_RE.test(s)) throw new InvalidArgumentError(`invalid DNS search domain "${s}"`);
  for (const o of req.dnsOptions ?? []) if (!/^[a-z0-9-]+(:[0-9]+)?$/iu.test(o)) throw new InvalidArgumentError(`invalid DNS option "${o}"`);
  return (req.extraHosts ?? []).map((line) => {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    const ip = line.slice(colon + 1);
    if (colon <= 0 || !DNS_NAME_RE.test(name)) throw new InvalidArgumentError(`invalid --add-host "${line}": expected NAME:IP`);
    return { name, ip: formatAddress(parseAddress(ip, `address of --add-host "${line}"`)) };
  });
}

const HOSTNAME_RE = /^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,62})$/u;

export async function createSandbox(core: CnmCore, req: SandboxCreateRequest): Promise<SandboxRecord> {
  if (!req.containerId) throw new InvalidArgumentError('a sandbox needs a container id');
  if (req.id !== undefined && (!/^[0-9a-f]{64}$/u.test(req.id) || core.state.findSandbox(req.id) !== undefined)) {
    throw new InvalidArgumentError(`invalid or duplicate sandbox id "${req.id}"`);
  }
  const id = req.id ?? newId();
  const hostname = req.hostname ?? req.containerId.slice(0, 12);
  if (!HOSTNAME_RE.test(hostname)) throw new InvalidArgumentError(`invalid hostname "${hostname}"`);
  const extraHosts = checkFiles(req);
  checkPortSpecs(req.publish ?? []);
  if (req.hostNamespace && req.publish?.length) {
    throw new InvalidArgumentError("published ports need a network of the container's own: on the host network its ports are the host's already");
  }
  return UndoStack.run(async (undo) => {
    const ns = req.hostNamespace ? core.deps.hostNs : await newNamespace(core, id, undo);
    const handle = core.openHandle(ns);
    undo.push(`close the netlink handle of sandbox ${id.slice(0, 12)}`, () => handle.close());
    if (!req.hostNamespace) await handle.linkSetUp('lo');
    const record: SandboxRecord = {
      id,
      containerId: req.containerId,
      created: new Date().toISOString(),
      netnsPath: req.hostNamespace ? core.deps.hostNs.path : ns.path,
      hostname,
      dns: [...(req.dns ?? [])],
      ...(req.dnsSearch?.length ? { dnsSearch: [...req.dnsSearch] } : {}),
      ...(req.dnsOptions?.length ? { dnsOptions: [...req.dnsOptions] } : {}),
      ...(extraHosts.length ? { extraHosts } : {}),
      ...(req.publish?.length ? { publish: [...req.publish] } : {}),
      ...(req.containerName ? { containerName: req.containerName } : {}),
    };
    const dns = {
      servers: record.dns,
      ...(record.dnsSearch ? { search: record.dnsSearch } : {}),
      ...(record.dnsOptions ? { options: record.dnsOptions } : {}),
    };
    await core.files.write(id, hostsFile(hostname, [], [], extraHosts), resolvConf(dns, core.deps.hostResolvConf));
    undo.push(`remove the files of sandbox ${id.slice(0, 12)}`, () => core.files.remove(id));
    core.deps.store.transaction(() => core.deps.store.putSandbox(record), 'volatile');
    core.state.putSandbox({ record, ns, handle });
    return record;
  });
}

async function newNamespace(core: CnmCore, id: string, undo: UndoStack): Promise<NetNs> {
  const ns = await core.deps.namespaces.create(id);
  undo.push(`delete namespace ${id.slice(0, 12)}`, () => core.deps.namespaces.delete(id));
  return ns;
}

/** Removes sandboxes and their endpoints. */
export async function deleteSandboxes(core: CnmCore, live: readonly LiveSandbox[]): Promise<void> {
  const endpoints = live.flatMap((s) => core.state.joinedTo(s.record.id));
  const ids = new Set(live.map((s) => s.record.id));
  const wires = wiresOf(core, ids);
  await leaveAll(core, endpoints);
  await stopRelays(core, wires);
  await deleteOutlivingEnds(core, wires, ids);
  for (const s of live) closeSandbox(core, s);
  // The rest of their wires go with the namespaces (deleting one end of a veth pair takes the other).
  forgetWires(core, wires);
  core.deps.store.transaction(() => {
    for (const e of endpoints) forgetEndpoint(core, e);
    for (const s of live) core.deps.store.delete('sandboxes', s.record.id);
  }, 'volatile');
  for (const e of endpoints) releaseEndpoint(core, e);
  for (const s of live) core.state.dropSandbox(s.record.id);
  core.files.retire(live.map((s) => s.record.id));
  await refreshPorts(core, endpoints);
}

/** Closes the sandbox's handle and deletes its namespace (unless it is the host's); its files go after. */
function closeSandbox(core: CnmCore, s: LiveSandbox): void {
  s.handle.close();
  if (!core.inHostNamespace(s)) core.deps.namespaces.delete(s.record.id);
}
