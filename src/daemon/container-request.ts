/**
 * A run request read for the runtime and the controller: everything it can be refused for (before anything is
 * made), the runtime's configuration of the container, and the sandbox a start makes for it.
 */
import type { PortSpec, RunBody } from '../api/containers.js';
import { NULL_NETWORK, type Controller, type SandboxCreateRequest } from '../cnm/controller.js';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { addressOf } from '../ipam/subnet.js';
import { parseExpose } from '../lib/port-syntax.js';
import { parseByteSize } from '../lib/sizes.js';
import { availableParallelism } from 'node:os';
import { checkCpus, parseMemory } from '../runtime/cgroups.js';
import { resolveUser } from '../runtime/users.js';
import type { ImageConfig } from '../runtime/images.js';
import type { CapabilityName } from '../runtime/security/capabilities.js';
import type { ContainerConfig, ContainerState, Runtime } from '../runtime/runtime.js';
import { parseRestartPolicy } from './container-plan.js';
import { checkMounts, resolveMounts } from './container-mounts.js';

/** --network container:NAME */
export const CONTAINER_MODE = 'container:';

/** The container label that names its sandbox. */
export const SANDBOX_LABEL = 'tsnet.sandbox';

/** What the daemon itself may add to a run (a lab's nodes): never from the API. */
export interface RunExtras {
  /** Capabilities given before --cap-add (lab nodes: NET_ADMIN, NET_RAW). */
  readonly baseCaps?: readonly CapabilityName[];
  /** Paths made writable below the read-only ones (lab nodes: /proc/sys/net). */
  readonly writablePaths?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  /** One sandbox from run to removal (lab nodes: their links live in it). */
  readonly keepSandbox?: boolean;
}

/** -p, and with -P the --expose ports not published already, on ephemeral host ports. */
function publishedPorts(req: RunBody, imageExposed: readonly string[]): PortSpec[] {
  const given = req.publish ?? [];
  const exposed = [...imageExposed, ...(req.expose ?? [])].map(parseExpose);
  if (!req.publishAll) return [...given];
  const taken = (e: PortSpec): boolean => given.some((g) => g.protocol === e.protocol && g.containerPort === e.containerPort);
  return [...given, ...exposed.filter((e) => !taken(e))];
}

/** What a container on another's network cannot ask for: that network's addresses, names and files are the other's. */
function checkShared(req: RunBody): void {
  const ref = req.networks![0]!.slice(CONTAINER_MODE.length);
  if (req.networks!.length > 1) throw new InvalidArgumentError(`a container on the network of container "${ref}" cannot join other networks`);
  if (req.publish?.length || req.publishAll) throw new InvalidArgumentError(`--network container:${ref} shares that container's ports: publish them there`);
  if (req.ip || req.ip6 || req.macAddress || req.networkAliases || req.hostname || req.dns || req.addHosts || req.links || req.sysctls) {
    throw new InvalidArgumentError(`--network container:${ref} shares that container's network: addresses, names and files cannot be set`);
  }
}

const ULIMITS = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
  'as',
];

/** --ulimit NAME=SOFT[:HARD] as the launcher takes it: NAME=SOFT:HARD. */
export function parseUlimit(text: string): string {
  const m = /^([a-z]+)=(\d+)(?::(\d+))?$/u.exec(text);
  if (!m || !ULIMITS.includes(m[1]!)) throw new InvalidArgumentError(`invalid --ulimit "${text}": use NAME=SOFT[:HARD] with NAME one of ${ULIMITS.join(', ')}`);
  const hard = m[3] ?? m[2]!;
  if (BigInt(m[2]!) > BigInt(hard)) throw new InvalidArgumentError(`invalid --ulimit "${text}": the soft limit is above the hard one`);
  return `${m[1]}=${m[2]}:${hard}`;
}

/** --tmpfs PATH[:OPTS]: an absolute path, and options of Docker's (flags, size=, mode=, uid=, gid=). */
export function checkTmpfs(text: string): string {
  const [path = '', opts] = text.split(':', 2);
  const word = /^(ro|rw|noexec|exec|nosuid|suid|nodev|dev|(size=\d+[kmg%]?)|(mode=[0-7]{3,4})|((uid|gid|nr_inodes)=\d+))$/u;
  if (!path.startsWith('/') || path.includes('..') || (opts !== undefined && !opts.split(',').every((w) => word.test(w)))) {
    throw new InvalidArgumentError(`invalid --tmpfs "${text}": use an absolute PATH[:OPTIONS], options such as rw,noexec,size=64m,mode=1777`);
  }
  return text;
}

/** --shm-size: a size with an optional unit b, k, m or g. */
function parseSize(text: string): number {
  const bytes = parseByteSize(text);
  if (!bytes) throw new InvalidArgumentError(`invalid --shm-size "${text}": use a number with an optional unit b, k, m or g (e.g. 64m)`);
  return bytes;
}

/** Everything a run can be refused for, before anything is made. */
export function checkRun(controller: Controller, runtime: Runtime, req: RunBody, shared = false): void {
  if (shared) checkShared(req);
  else checkNetworks(controller, req);
  const image = runtime.images.get(req.image);
  if (req.memory !== undefined) parseMemory(req.memory);
  checkCpus(req.cpus, req.cpuShares, availableParallelism());
  const userSpec = req.user ?? (image.config?.User || undefined);
  if (userSpec) resolveUser((rel) => runtime.images.findPath(image, rel), userSpec);
  for (const u of req.ulimits ?? []) parseUlimit(u);
  for (const t of req.tmpfs ?? []) checkTmpfs(t);
  if (req.shmSize !== undefined) parseSize(req.shmSize);
  checkMounts(runtime, req);
  parseRestartPolicy(req.restart);
  if (req.restart && req.restart !== 'no' && req.rm)
    throw new InvalidArgumentError('--restart and --rm cannot go together: a removed container cannot be restarted');
  if (req.name !== undefined && runtime.list().some((c) => c.name === req.name)) {
    throw new TsnetError('TSNET_ERR_CONFLICT', `a container named "${req.name}" already exists`);
  }
}

/** The networks asked for exist and go together. */
function checkNetworks(controller: Controller, req: RunBody): void {
  const networks = req.networks && req.networks.length > 0 ? req.networks : [controller.defaultNetwork()];
  for (const n of networks) controller.network(n); // 404 before anything is made
  if (networks.length > 1 && networks.some((n) => controller.network(n).name === NULL_NETWORK)) {
    throw new InvalidArgumentError(`a container on network "${NULL_NETWORK}" cannot join other networks`);
  }
  const hostNetwork = networks.some((n) => controller.network(n).driver === 'host');
  if (hostNetwork && networks.length > 1) throw new InvalidArgumentError('a container on the host network cannot join other networks');
  if ((req.ip !== undefined || req.ip6 !== undefined || req.macAddress !== undefined) && networks.length !== 1) {
    throw new InvalidArgumentError('--ip, --ip6 and --mac-address need exactly one --network');
  }
}

/** --link CONTAINER[:ALIAS]: lines for /etc/hosts with the running container's first address, as Docker writes them. */
function linkHosts(controller: Controller, runtime: Runtime, links: readonly string[]): string[] {
  return links.flatMap((link) => {
    const [name = '', alias] = link.split(':');
    const target = runtime.get(name);
    const sandboxId = target.config.labels?.[SANDBOX_LABEL];
    const live = target.status === 'running' && sandboxId && controller.hasSandbox(sandboxId);
    const address = live ? controller.joinedTo(sandboxId).find((e) => e.ipv4)?.ipv4 : undefined;
    if (!address) throw new InvalidArgumentError(`cannot link to container "${name}": it is not running with an IPv4 address`);
    return [...new Set([alias ?? target.name, target.name])].map((n) => `${n}:${addressOf(address)}`);
  });
}

/** The sandbox a start of this container makes. */
export function sandboxRequest(controller: Controller, runtime: Runtime, state: ContainerState, sandboxId: string, req: RunBody): SandboxCreateRequest {
  const networks = req.networks && req.networks.length > 0 ? req.networks : [controller.defaultNetwork()];
  const publish = publishedPorts(req, Object.keys(runtime.images.get(req.image).config?.ExposedPorts ?? {}));
  return {
    id: sandboxId,
    containerId: state.id,
    // As Docker: the host name is the short container id unless one is given.
    hostname: state.config.hostname ?? state.id.slice(0, 12),
    hostNamespace: networks.some((n) => controller.network(n).driver === 'host'),
    ...(req.dns ? { dns: req.dns } : {}),
    ...(req.dnsSearch ? { dnsSearch: req.dnsSearch } : {}),
    ...(req.dnsOptions ? { dnsOptions: req.dnsOptions } : {}),
    ...(req.addHosts || req.links ? { extraHosts: [...(req.addHosts ?? []), ...linkHosts(controller, runtime, req.links ?? [])] } : {}),
    ...(publish.length ? { publish } : {}),
    containerName: state.name,
  };
}

/**
 * What the container runs, as Docker decides it: the entrypoint (--entrypoint, else the image's) followed by the
 * command (the run's, else the image's, which --entrypoint drops); an image without either runs /bin/sh.
 */
function imageCommand(req: RunBody, ic: ImageConfig): string[] {
  const entrypoint = req.entrypoint !== undefined ? [req.entrypoint] : [...(ic.Entrypoint ?? [])];
  const cmd = req.command && req.command.length > 0 ? req.command : req.entrypoint !== undefined ? [] : [...(ic.Cmd ?? [])];
  const all = [...entrypoint, ...cmd];
  return all.length > 0 ? all : ['/bin/sh'];
}

/** The runtime's configuration of a container (its sandbox is given at each start). */
export function containerConfig(
  controller: Controller,
  runtime: Runtime,
  id: string,
  req: RunBody,
  sandboxId: string,
  hostname: string,
  extras: RunExtras = {},
): ContainerConfig {
  const memory = req.memory !== undefined ? parseMemory(req.memory) : undefined;
  const shared = controller.hasSandbox(sandboxId) ? controller.sandbox(sandboxId).record.hostname : undefined;
  const image = runtime.images.get(req.image);
  const ic = image.config ?? {};
  const userSpec = req.user ?? (ic.User || undefined);
  const user = userSpec ? resolveUser((rel) => runtime.images.findPath(image, rel), userSpec) : undefined;
  const workdir = req.workdir ?? (ic.WorkingDir || undefined);
  const command = imageCommand(req, ic);
  const { mounts, tmpfs } = resolveMounts(runtime, req);
  const allTmpfs = [...(req.tmpfs ?? []).map(checkTmpfs), ...tmpfs];
  return {
    id,
    image: req.image,
    command,
    ...(workdir ? { cwd: workdir } : {}),
    ...(user ? user : {}),
    ...(req.readOnly ? { readOnly: true } : {}),
    ...(allTmpfs.length ? { tmpfs: allTmpfs } : {}),
    ...(mounts.length ? { mounts } : {}),
    ...(req.shmSize !== undefined ? { shmSize: parseSize(req.shmSize) } : {}),
    ...(req.ulimits ? { ulimits: req.ulimits.map(parseUlimit) } : {}),
    ...(req.name ? { name: req.name } : {}),
    // The image's environment first: the run's -e and --env-file override it.
    env: [...(ic.Env ?? []), ...(req.env ?? [])],
    hostname: shared ?? hostname,
    limits: {
      ...(memory !== undefined ? { memory } : {}),
      ...(req.pidsLimit !== undefined ? { pids: req.pidsLimit } : {}),
      ...(req.cpus !== undefined ? { cpus: req.cpus } : {}),
      ...(req.cpuShares !== undefined ? { cpuShares: req.cpuShares } : {}),
    },
    init: req.init ?? false,
    security: {
      ...(req.privileged ? { privileged: true } : {}),
      ...(req.capAdd ? { capAdd: req.capAdd } : {}),
      ...(req.capDrop ? { capDrop: req.capDrop } : {}),
      ...(req.securityOpt ? { securityOpt: req.securityOpt } : {}),
      ...(req.devices ? { devices: req.devices } : {}),
      ...(extras.baseCaps ? { baseCaps: extras.baseCaps } : {}),
      ...(extras.writablePaths ? { writablePaths: extras.writablePaths } : {}),
    },
    autoRemove: req.rm ?? false,
    ...(req.tty ? { tty: true } : {}),
    ...(req.openStdin ? { openStdin: true } : {}),
    ...(req.stopSignal ? { stopSignal: req.stopSignal } : {}),
    ...(req.stopTimeout !== undefined ? { stopTimeout: req.stopTimeout } : {}),
    labels: { ...extras.labels, [SANDBOX_LABEL]: sandboxId },
  };
}
