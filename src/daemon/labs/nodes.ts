/**
 * A lab's parts made and read back: its nodes as tsnet containers (NET_ADMIN, NET_RAW, /proc/sys/net writable,
 * and nothing more), its links as wires between their sandboxes, the companion file's addresses and routes, its
 * exec commands; and the view of a lab as it is now.
 */
import { isAbsolute, resolve } from 'node:path';
import type { MountSpec } from '../../api/containers.js';
import type { LabExecResult, LabView } from '../../api/labs.js';
import type { Controller, WireSpec } from '../../cnm/controller.js';
import { TsnetError } from '../../errors.js';
import { containerName, type LabEndpoint, type LabLink, type LabNode, type Topology } from '../../labs/topology.js';
import type { Runtime } from '../../runtime/runtime.js';
import { SANDBOX_LABEL, type ContainerService, type RunExtras, type RunRequest } from '../containers.js';
import type { LabRecord } from './records.js';
import { mapLimit, mapLimitEach } from '../../lib/map-limit.js';

export const LAB_LABEL = 'tsnet.lab';
export const labOwner = (name: string): string => `lab:${name}`;

/** A node that has nothing of its own to run sleeps (the image's own command is a shell, which would exit). */
const IDLE = ['sleep', '2147483647'];
/** Nodes started at once: measured best on 2 cores (16: 0.84-0.92 s for 50 nodes; 8: 0.96-1.33 s; 2: 0.95-1.29 s). */
const PARALLEL = 16;

/** A containerlab bind, HOST:CONTAINER[:ro|rw]: a relative HOST is read against the topology file's folder. */
function bindMount(t: Topology, bind: string): MountSpec {
  const [host = '', target = '', mode] = bind.split(':');
  if (!isAbsolute(host) && !t.dir) throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', `bind "${bind}": a relative path needs the topology file's folder`);
  return { type: 'bind', source: isAbsolute(host) ? host : resolve(t.dir!, host), target, ...(mode === 'ro' ? { readOnly: true } : {}) };
}

/** What a linux node runs as: the container request and what a lab adds to it. */
function nodeRequest(t: Topology, n: LabNode): [RunRequest, RunExtras] {
  return [
    {
      image: n.image!,
      name: containerName(t, n.name),
      hostname: n.name,
      networks: [n.networkMode === 'none' ? 'none' : t.mgmt.network],
      ...(n.mgmtIpv4 ? { ip: n.mgmtIpv4 } : {}),
      ...(n.mgmtIpv6 ? { ip6: n.mgmtIpv6 } : {}),
      command: [...(n.cmd ?? IDLE)],
      env: Object.entries(n.env).map(([k, v]) => `${k}=${v}`),
      ...(Object.keys(n.sysctls).length ? { sysctls: { ...n.sysctls } } : {}),
      ...(n.binds?.length ? { mounts: n.binds.map((b) => bindMount(t, b)) } : {}),
    },
    {
      baseCaps: ['CAP_NET_ADMIN', 'CAP_NET_RAW'],
      writablePaths: ['/proc/sys/net'],
      keepSandbox: true,
      // The node's own labels, as containerlab puts them on its containers; tsnet's marks last, never overridden.
      labels: { ...n.labels, [LAB_LABEL]: t.name, [`${LAB_LABEL}.node`]: n.name },
    },
  ];
}

const nodeError = (n: LabNode, err: unknown): TsnetError =>
  new TsnetError((err as TsnetError).code ?? 'TSNET_ERR_INTERNAL', `node ${n.name}: ${(err as Error).message}`, { cause: err });

/**
 * Starts the linux nodes; their sandbox ids by node name. Each node's container and sandbox are made (PARALLEL at
 * once) ahead of the starts (PARALLEL at once); once every sandbox is there, `meanwhile` gets them (the lab's links
 * are made then, while the nodes start). A failure names the node; it is thrown once both are done.
 */
export async function startNodes(
  t: Topology,
  containers: ContainerService,
  progress: (text: string) => void = () => undefined,
  meanwhile: (sandboxes: ReadonlyMap<string, string>) => Promise<void> = () => Promise.resolve(),
): Promise<Map<string, string>> {
  const linux = t.nodes.filter((n) => n.kind === 'linux');
  const prepared = mapLimitEach(linux, PARALLEL, async (n) => {
    try {
      const state = await containers.create(...nodeRequest(t, n));
      return { id: state.id, sandbox: await containers.prepareSandbox(state.id) };
    } catch (err) {
      throw nodeError(n, err);
    }
  });
  let started = 0;
  const starts = mapLimit(linux, PARALLEL, async (n, i) => {
    const { id } = await prepared[i]!;
    try {
      await containers.start(id);
    } catch (err) {
      throw nodeError(n, err);
    }
    progress(`nodes: ${++started}/${linux.length} started`);
  });
  const sandboxes = Promise.all(prepared).then((made) => new Map(made.map((m, i) => [linux[i]!.name, m.sandbox])));
  const [nodes, joined] = await Promise.allSettled([starts, sandboxes.then(async (s) => (await meanwhile(s), s))]);
  if (nodes.status === 'rejected') throw nodes.reason;
  if (joined.status === 'rejected') throw joined.reason;
  return joined.value;
}

/** A link's name on its wire: "link a:eth1 - b:eth1". */
export const linkLabel = (l: LabLink): string => `link ${l.a.node}:${l.a.iface} - ${l.b.node}:${l.b.iface}`;

/** The wires of the links: a linux node's end in its sandbox, a bridge node's end in the host, on that bridge. */
export function wireSpecs(t: Topology, sandboxes: ReadonlyMap<string, string>): WireSpec[] {
  const end = (e: LabEndpoint): WireSpec['ends'][number] => {
    const node = t.nodes.find((n) => n.name === e.node)!;
    const common = { ifname: e.iface, ...(e.mac ? { mac: e.mac } : {}) };
    if (node.kind === 'bridge') return { ...common, addresses: [], bridge: node.name };
    return { ...common, sandboxId: sandboxes.get(node.name)!, addresses: [...(node.addresses[e.iface] ?? [])] };
  };
  return t.links.map((l) => ({
    owner: labOwner(t.name),
    label: linkLabel(l),
    ...(l.mtu ? { mtu: l.mtu } : {}),
    ends: [end(l.a), end(l.b)],
  }));
}

/** The companion file's loopback addresses and routes, once the links are up. */
export async function configureNodes(t: Topology, sandboxes: ReadonlyMap<string, string>, controller: Controller): Promise<void> {
  for (const n of t.nodes) {
    const sandbox = sandboxes.get(n.name);
    if (!sandbox) continue;
    if (n.addresses.lo?.length) await controller.addSandboxAddresses(sandbox, 'lo', n.addresses.lo);
    if (n.routes.length) await controller.addSandboxRoutes(sandbox, n.routes);
  }
}

/** Each node's exec commands, in order per node, nodes side by side; results whatever their status. */
export async function runExec(t: Topology, runtime: Runtime, nodes: readonly LabNode[] = t.nodes): Promise<LabExecResult[]> {
  const per = await mapLimit(
    nodes.filter((n) => n.exec.length > 0),
    PARALLEL,
    async (n) => {
      const results: LabExecResult[] = [];
      for (const command of n.exec) results.push({ node: n.name, command, ...(await runtime.io.exec(containerName(t, n.name), ['sh', '-c', command])) });
      return results;
    },
  );
  return per.flat();
}

/** The lab as it is now: each node's container and state, management addresses, links. */
export function labView(record: LabRecord, runtime: Runtime, controller: Controller): LabView {
  const t = record.topology;
  const mgmt = controller.networks().find((n) => n.name === t.mgmt.network);
  const byName = new Map(runtime.list().map((x) => [x.name, x]));
  const nodes = t.nodes.map((n) => {
    if (n.kind === 'bridge') return { name: n.name, kind: n.kind, container: n.name, status: 'bridge' };
    const c = byName.get(containerName(t, n.name));
    const sandbox = c?.config.labels?.[SANDBOX_LABEL];
    const e = sandbox && controller.hasSandbox(sandbox) ? controller.joinedTo(sandbox).find((x) => x.networkId === mgmt?.id) : undefined;
    return {
      name: n.name,
      kind: n.kind,
      container: containerName(t, n.name),
      ...(n.image ? { image: n.image } : {}),
      status: c?.status ?? 'missing',
      ...(e?.ipv4 ? { mgmtIpv4: e.ipv4 } : {}),
      ...(e?.ipv6 ? { mgmtIpv6: e.ipv6 } : {}),
    };
  });
  const addressesOf = (e: LabEndpoint): string[] => [...(t.nodes.find((n) => n.name === e.node)?.addresses[e.iface] ?? [])];
  return {
    name: t.name,
    status: record.status,
    created: record.created,
    mgmt: { network: t.mgmt.network, ipv4Subnet: t.mgmt.ipv4Subnet },
    nodes,
    links: t.links.map((l) => ({ a: `${l.a.node}:${l.a.iface}`, b: `${l.b.node}:${l.b.iface}`, addresses: [...addressesOf(l.a), ...addressesOf(l.b)] })),
    ...(record.exec ? { exec: [...record.exec] } : {}),
  };
}
