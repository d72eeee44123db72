/**
 * Containers as the daemon offers them: a runtime container plus its network sandbox. Running one creates a
 * sandbox (joined to the requested networks, or to the null network when none), then the container inside it;
 * removing one removes both. The sandbox id is kept in the container's labels.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ContainerView, PortSpec, RunBody } from '../api/containers.js';
import { parseExpose } from '../lib/port-syntax.js';
import { NULL_NETWORK, type Controller } from '../cnm/controller.js';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { addressOf } from '../ipam/subnet.js';
import { parseMemory } from '../runtime/cgroups.js';
import type { CapabilityName } from '../runtime/security/capabilities.js';
import type { ContainerConfig, ContainerState, Runtime } from '../runtime/runtime.js';
import type { SandboxRecord } from '../cnm/types.js';
import { UndoStack } from '../cnm/undo.js';

/** --network container:NAME */
const CONTAINER_MODE = 'container:';

/** -p, and with -P the --expose ports not published already, on ephemeral host ports. */
function publishedPorts(req: RunRequest): PortSpec[] {
  const given = req.publish ?? [];
  const exposed = (req.expose ?? []).map(parseExpose);
  if (!req.publishAll) return [...given];
  const taken = (e: PortSpec): boolean => given.some((g) => g.protocol === e.protocol && g.containerPort === e.containerPort);
  return [...given, ...exposed.filter((e) => !taken(e))];
}

/** The container label that names its sandbox. */
export const SANDBOX_LABEL = 'tsnet.sandbox';

/** What `run` asks for: the API's run body. */
export type RunRequest = RunBody;

/** What the daemon itself may add to a run (a lab's nodes): never from the API. */
export interface RunExtras {
  /** Capabilities given before --cap-add (lab nodes: NET_ADMIN, NET_RAW). */
  readonly baseCaps?: readonly CapabilityName[];
  /** Paths made writable below the read-only ones (lab nodes: /proc/sys/net). */
  readonly writablePaths?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
}

export class ContainerService {
  /** The removals under way of --rm containers that have exited (their sandboxes being released). */
  private readonly removals = new Map<string, Promise<void>>();

  constructor(
    private readonly controller: Controller,
    private readonly runtime: Runtime,
    /** Where failures of background work go (the daemon's log). */
    private readonly onError: (what: string, err: unknown) => void = () => undefined,
  ) {}

  view(c: ContainerState): ContainerView {
    const sandboxId = c.config.labels?.[SANDBOX_LABEL];
    const networks: ContainerView['networks'] = {};
    if (sandboxId) {
      for (const e of this.controller.joinedTo(sandboxId)) {
        const n = this.controller.networks().find((x) => x.id === e.networkId);
        if (n)
          networks[n.name] = {
            networkId: n.id,
            endpointId: e.id,
            aliases: [...e.aliases],
            ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
            ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
            ...(e.mac ? { mac: e.mac } : {}),
            ...(e.ifname ? { ifname: e.ifname } : {}),
            ...(n.pools.v4?.gateway && !n.internal ? { gateway: n.pools.v4.gateway } : {}),
            ...(n.pools.v6?.gateway && e.ipv6 && !n.internal ? { gateway6: n.pools.v6.gateway } : {}),
          };
      }
    }
    const ports = sandboxId && this.controller.hasSandbox(sandboxId) ? this.controller.joinedTo(sandboxId).flatMap((e) => e.ports ?? []) : [];
    return {
      id: c.id,
      name: c.name,
      image: c.imageName,
      command: [...c.config.command],
      status: c.status,
      ...(c.pid !== undefined && c.status === 'running' ? { pid: c.pid } : {}),
      ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
      ...(c.oomKilled !== undefined ? { oomKilled: c.oomKilled } : {}),
      created: c.created,
      ...(sandboxId ? { sandbox: sandboxId } : {}),
      hostname: c.config.hostname ?? '',
      env: [...(c.config.env ?? [])],
      labels: { ...c.config.labels },
      ...(c.config.tty ? { tty: true } : {}),
      ...(c.config.openStdin ? { openStdin: true } : {}),
      ...(ports.length ? { ports: ports.map((p) => ({ ...p })) } : {}),
      networks,
    };
  }

  /** Creates and starts a container with its sandbox; undone whole if any step fails. */
  async run(req: RunRequest, extras: RunExtras = {}): Promise<ContainerState> {
    const shared = req.networks?.[0]?.startsWith(CONTAINER_MODE) ? this.sharedSandbox(req) : undefined;
    if (shared) {
      const state = this.runtime.create(this.containerConfig(randomBytes(32).toString('hex'), req, shared, extras));
      return this.start(state, req).catch(async (err: unknown) => {
        await this.runtime.remove(state.id, { force: true }).catch(() => undefined);
        throw err;
      });
    }
    const { networks, hostNetwork } = this.checkRun(req);
    const publish = publishedPorts(req);
    const id = randomBytes(32).toString('hex');
    return UndoStack.run(async (undo) => {
      // As Docker: the host name is the short container id unless one is given.
      const sandbox = await this.controller.createSandbox({
        containerId: id,
        hostname: req.hostname ?? id.slice(0, 12),
        hostNamespace: hostNetwork,
        ...(req.dns ? { dns: req.dns } : {}),
        ...(req.dnsSearch ? { dnsSearch: req.dnsSearch } : {}),
        ...(req.dnsOptions ? { dnsOptions: req.dnsOptions } : {}),
        ...(req.addHosts || req.links ? { extraHosts: [...(req.addHosts ?? []), ...this.linkHosts(req.links ?? [])] } : {}),
        ...(publish.length ? { publish } : {}),
        ...(req.name ? { containerName: req.name } : {}),
      });
      undo.push(`remove sandbox ${sandbox.id.slice(0, 12)}`, () => this.controller.deleteSandbox(sandbox.id));
      // As docker run: --ip, --ip6, --mac-address and --network-alias apply to the (first) network given.
      const first = {
        ...(req.ip ? { ip: req.ip } : {}),
        ...(req.ip6 ? { ip6: req.ip6 } : {}),
        ...(req.macAddress ? { mac: req.macAddress } : {}),
        ...(req.networkAliases ? { aliases: req.networkAliases } : {}),
      };
      if (req.sysctls) await this.controller.setSandboxSysctls(sandbox.id, req.sysctls);
      for (const [i, n] of networks.entries()) await this.controller.connect(n, sandbox.id, i === 0 ? first : {});
      const state = this.runtime.create(this.containerConfig(id, req, sandbox, extras));
      undo.push(`remove container ${state.id.slice(0, 12)}`, () => this.runtime.remove(state.id, { force: true }));
      return this.start(state, req);
    });
  }

  /** Starts a created container; with --rm, its sandbox goes when it ends. */
  private async start(state: ContainerState, req: RunRequest): Promise<ContainerState> {
    await this.runtime.start(state.id, { ...(req.attach ? { holdForAttach: true } : {}), ...(req.ttySize ? { ttySize: req.ttySize } : {}) });
    if (req.rm) {
      const removal = this.runtime
        .wait(state.id)
        .then(() => this.releaseSandbox(state))
        .catch((err: unknown) => this.onError(`container ${state.name}: releasing its sandbox after --rm failed`, err))
        .finally(() => this.removals.delete(state.id));
      this.removals.set(state.id, removal);
    }
    return state;
  }

  /** Resolves once an exited --rm container is gone with its sandbox (at once for any other). */
  async removed(id: string): Promise<void> {
    await this.removals.get(id);
  }

  /** --network container:NAME: the running container's sandbox, shared (its namespace, addresses, files). */
  private sharedSandbox(req: RunRequest): SandboxRecord {
    const ref = req.networks![0]!.slice(CONTAINER_MODE.length);
    if (req.networks!.length > 1) throw new InvalidArgumentError(`a container on the network of container "${ref}" cannot join other networks`);
    if (req.publish?.length || req.publishAll) throw new InvalidArgumentError(`--network container:${ref} shares that container's ports: publish them there`);
    if (req.ip || req.ip6 || req.macAddress || req.networkAliases || req.hostname || req.dns || req.addHosts || req.links || req.sysctls) {
      throw new InvalidArgumentError(`--network container:${ref} shares that container's network: addresses, names and files cannot be set`);
    }
    const target = this.runtime.get(ref);
    const sandboxId = target.config.labels?.[SANDBOX_LABEL];
    if (target.status !== 'running' || !sandboxId || !this.controller.hasSandbox(sandboxId)) {
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${target.name}" is not running: its network cannot be shared`);
    }
    this.runtime.images.get(req.image);
    if (req.name !== undefined && this.runtime.list().some((c) => c.name === req.name)) {
      throw new TsnetError('TSNET_ERR_CONFLICT', `a container named "${req.name}" already exists`);
    }
    return this.controller.sandbox(sandboxId).record;
  }

  /** --link CONTAINER[:ALIAS]: lines for /etc/hosts with the running container's first address, as Docker writes them. */
  private linkHosts(links: readonly string[]): string[] {
    return links.flatMap((link) => {
      const [name = '', alias] = link.split(':');
      const target = this.runtime.get(name);
      const sandboxId = target.config.labels?.[SANDBOX_LABEL];
      const address = target.status === 'running' && sandboxId ? this.controller.joinedTo(sandboxId).find((e) => e.ipv4)?.ipv4 : undefined;
      if (!address) throw new InvalidArgumentError(`cannot link to container "${name}": it is not running with an IPv4 address`);
      return [...new Set([alias ?? target.name, target.name])].map((n) => `${n}:${addressOf(address)}`);
    });
  }

  /** Everything a run can be refused for, before anything is made. */
  private checkRun(req: RunRequest): { networks: readonly string[]; hostNetwork: boolean } {
    const networks = req.networks && req.networks.length > 0 ? req.networks : [this.controller.defaultNetwork()];
    for (const n of networks) this.controller.network(n); // 404 before anything is made
    if (networks.length > 1 && networks.some((n) => this.controller.network(n).name === NULL_NETWORK)) {
      throw new InvalidArgumentError(`a container on network "${NULL_NETWORK}" cannot join other networks`);
    }
    const hostNetwork = networks.some((n) => this.controller.network(n).driver === 'host');
    if (hostNetwork && networks.length > 1) throw new InvalidArgumentError('a container on the host network cannot join other networks');
    this.runtime.images.get(req.image);
    if (req.memory !== undefined) parseMemory(req.memory);
    if ((req.ip !== undefined || req.ip6 !== undefined || req.macAddress !== undefined) && networks.length !== 1) {
      throw new InvalidArgumentError('--ip, --ip6 and --mac-address need exactly one --network');
    }
    if (req.name !== undefined && this.runtime.list().some((c) => c.name === req.name)) {
      throw new TsnetError('TSNET_ERR_CONFLICT', `a container named "${req.name}" already exists`);
    }
    return { networks, hostNetwork };
  }

  /** The runtime's configuration of a container run in this sandbox. */
  private containerConfig(id: string, req: RunRequest, sandbox: SandboxRecord, extras: RunExtras = {}): ContainerConfig {
    const memory = req.memory !== undefined ? parseMemory(req.memory) : undefined;
    return {
      id,
      image: req.image,
      command: req.command && req.command.length > 0 ? req.command : ['/bin/sh'],
      ...(req.name ? { name: req.name } : {}),
      env: req.env ?? [],
      hostname: sandbox.hostname,
      // The host network's sandbox is tsnet's own namespace: when that is the daemon's, its /proc entry names it.
      netnsPath: sandbox.netnsPath ?? `/proc/${process.pid}/ns/net`,
      hostsFile: join(this.controller.sandboxFilesDir(sandbox.id), 'hosts'),
      resolvFile: join(this.controller.sandboxFilesDir(sandbox.id), 'resolv.conf'),
      limits: { ...(memory !== undefined ? { memory } : {}), ...(req.pidsLimit !== undefined ? { pids: req.pidsLimit } : {}) },
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
      labels: { ...extras.labels, [SANDBOX_LABEL]: sandbox.id },
    };
  }

  /** Container names by their sandbox id (a shared sandbox gets its first container's). */
  sandboxNames(): Map<string, string> {
    const names = new Map<string, string>();
    for (const c of this.runtime.list()) {
      const id = c.config.labels?.[SANDBOX_LABEL];
      if (id && !names.has(id)) names.set(id, c.name);
    }
    return names;
  }

  /** The id of the container whose sandbox this is, if any. */
  containerIdOfSandbox(sandboxId: string): string | undefined {
    return this.runtime.list().find((c) => c.config.labels?.[SANDBOX_LABEL] === sandboxId)?.id;
  }

  /** The name of the container whose sandbox this is, if any. */
  containerOfSandbox(sandboxId: string): string | undefined {
    return this.runtime.list().find((c) => c.config.labels?.[SANDBOX_LABEL] === sandboxId)?.name;
  }

  /** Removes a container and its sandbox. */
  async remove(ref: string, force: boolean): Promise<void> {
    const state = this.runtime.get(ref);
    await this.runtime.remove(state.id, { force });
    await this.releaseSandbox(state);
  }

  /**
   * Removes many containers: all killed and removed side by side, then their sandboxes in one controller operation
   * (one store transaction, the host ends of all their veths in one request).
   */
  async removeMany(refs: readonly string[]): Promise<void> {
    const states = refs.map((r) => this.runtime.get(r));
    await Promise.all(states.map((s) => this.runtime.remove(s.id, { force: true })));
    const gone = new Set(states.map((s) => s.id));
    const left = this.runtime.list().filter((c) => !gone.has(c.id));
    const sandboxes = new Set(states.flatMap((s) => s.config.labels?.[SANDBOX_LABEL] ?? []));
    const unshared = [...sandboxes].filter((id) => this.controller.hasSandbox(id) && !left.some((c) => c.config.labels?.[SANDBOX_LABEL] === id));
    if (unshared.length) await this.controller.deleteSandboxes(unshared);
  }

  /** Removes the container's sandbox, unless another container still shares it (--network container:NAME). */
  private async releaseSandbox(state: ContainerState): Promise<void> {
    const sandboxId = state.config.labels?.[SANDBOX_LABEL];
    const sharers = this.runtime.list().filter((c) => c.id !== state.id && c.config.labels?.[SANDBOX_LABEL] === sandboxId);
    if (sandboxId && sharers.length === 0 && this.controller.hasSandbox(sandboxId)) await this.controller.deleteSandbox(sandboxId);
  }

  /** The sandbox of a container, for network connect/disconnect. */
  sandboxOf(ref: string): string {
    const state = this.runtime.get(ref);
    const id = state.config.labels?.[SANDBOX_LABEL];
    if (!id || !this.controller.hasSandbox(id)) throw new TsnetError('TSNET_ERR_SANDBOX_NOT_FOUND', `container "${state.name}" has no network sandbox`);
    return id;
  }

  /** Sandboxes whose container is gone (removed while the daemon was down): released at start-up. */
  async releaseOrphanSandboxes(): Promise<string[]> {
    const used = new Set(this.runtime.list().map((c) => c.config.labels?.[SANDBOX_LABEL]));
    const orphans = this.controller
      .sandboxes()
      .map((s) => s.record.id)
      .filter((id) => !used.has(id));
    if (orphans.length) await this.controller.deleteSandboxes(orphans);
    return orphans;
  }
}
