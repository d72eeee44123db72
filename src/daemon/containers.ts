/**
 * Containers as the daemon offers them: a runtime container plus its network sandbox, as Docker's lifecycle has
 * them. `create` records the container and what it asked for (networks, ports, names, policies) and makes no
 * sandbox; every start makes the sandbox with that id and joins the networks (addresses are taken then), and its
 * end releases it, unless the restart policy starts it again (in the same sandbox). Lab nodes and containers that
 * share another's network keep one sandbox from run to removal. The sandbox id is kept in the container's labels.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ContainerView, RunBody, TtySize } from '../api/containers.js';
import type { Controller } from '../cnm/controller.js';
import type { JoinedEndpoint } from '../cnm/types.js';
import { TsnetError } from '../errors.js';
import type { ContainerState, Runtime, StartNetwork } from '../runtime/runtime.js';
import { UndoStack } from '../cnm/undo.js';
import { containerView } from './container-view.js';
import { planOf, plannedNetworks, restartDelayMs, restartsAfterExit, restartsAtDaemonStart, type ContainerPlan, type JoinedLater } from './container-plan.js';
import { CONTAINER_MODE, checkRun, containerConfig, sandboxRequest, type RunExtras } from './container-request.js';

export { SANDBOX_LABEL } from './container-request.js';
export type { RunExtras } from './container-request.js';
import { SANDBOX_LABEL } from './container-request.js';

/** What `run` asks for: the API's run body. */
export type RunRequest = RunBody;

export interface StartRequest {
  /** The client attaches right after: the output waits for it. */
  readonly attach?: boolean;
  readonly ttySize?: TtySize;
}

const sandboxIdOf = (c: ContainerState): string | undefined => c.config.labels?.[SANDBOX_LABEL];

export class ContainerService {
  /** The removals under way of --rm containers that have exited (their sandboxes being released). */
  private readonly removals = new Map<string, Promise<void>>();
  /** Restarts waiting for their back-off, by container id. */
  private readonly restartTimers = new Map<string, NodeJS.Timeout>();
  /** What is being done about containers that have just ended, by id (stop waits for it). */
  private readonly endings = new Map<string, Promise<void>>();
  /** Sandbox releases under way, by sandbox id: an end and a removal at once release it once. */
  private readonly releases = new Map<string, Promise<void>>();

  constructor(
    private readonly controller: Controller,
    private readonly runtime: Runtime,
    /** Where failures of background work go (the daemon's log). */
    private readonly onError: (what: string, err: unknown) => void = () => undefined,
  ) {}

  view(c: ContainerState): ContainerView {
    return containerView(this.controller, c, sandboxIdOf(c));
  }

  /** Records a container and what it asks for; nothing runs and no address is taken until it starts. */
  async create(req: RunRequest, extras: RunExtras = {}): Promise<ContainerState> {
    const shared = req.networks?.[0]?.startsWith(CONTAINER_MODE);
    const sandboxId = shared ? this.sharedSandboxId(req) : randomBytes(32).toString('hex');
    if (!shared) checkRun(this.controller, this.runtime, req);
    const id = randomBytes(32).toString('hex');
    const plan: ContainerPlan = { request: req, ...(shared || extras.keepSandbox ? { keepSandbox: true } : {}) };
    const config = containerConfig(this.controller, this.runtime, id, req, sandboxId, req.hostname ?? id.slice(0, 12), extras);
    return this.runtime.create(config, plan as unknown as Record<string, unknown>);
  }

  /** Creates and starts a container; removed whole if the start fails. */
  async run(req: RunRequest, extras: RunExtras = {}): Promise<ContainerState> {
    const state = await this.create(req, extras);
    try {
      return await this.start(state.id, { ...(req.attach ? { attach: true } : {}), ...(req.ttySize ? { ttySize: req.ttySize } : {}) });
    } catch (err) {
      await this.runtime.remove(state.id, { force: true }).catch(() => undefined);
      throw err;
    }
  }

  /** Starts a created or exited container: its sandbox made and joined to its networks, then its process. */
  async start(ref: string, req: StartRequest = {}): Promise<ContainerState> {
    const state = this.runtime.get(ref);
    if (state.status === 'running') return state; // as docker start
    const plan = this.planOf(state);
    this.clearRestart(state.id);
    if (plan.stoppedByUser) this.updatePlan(state, { ...plan, stoppedByUser: false });
    const options = { ...(req.attach ? { holdForAttach: true } : {}), ...(req.ttySize ? { ttySize: req.ttySize } : {}) };
    await UndoStack.run(async (undo) => {
      const network = await this.ensureSandbox(state, plan, undo);
      await this.runtime.start(state.id, { ...options, network });
    });
    this.watchEnd(state);
    return state;
  }

  /**
   * The sandbox of a created container that keeps its own (a lab node), made before it starts, so that what joins
   * the sandbox from outside (a lab's links) is made while the container starts; its id.
   */
  async prepareSandbox(ref: string): Promise<string> {
    const state = this.runtime.get(ref);
    const plan = this.planOf(state);
    if (!plan.keepSandbox || state.status !== 'created') {
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}": only a created container that keeps its sandbox gets it before its start`);
    }
    await UndoStack.run((undo) => this.ensureSandbox(state, plan, undo));
    return sandboxIdOf(state)!;
  }

  /** The sandbox a start joins: made now from the plan, or (kept, shared, or restarting) the one there is. */
  private async ensureSandbox(state: ContainerState, plan: ContainerPlan, undo: UndoStack): Promise<StartNetwork> {
    const sandboxId = sandboxIdOf(state)!;
    if (plan.request.networks?.[0]?.startsWith(CONTAINER_MODE) && !this.controller.hasSandbox(sandboxId)) {
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" shares the network of a container that is gone or not running`);
    }
    if (!this.controller.hasSandbox(sandboxId)) {
      const req = plan.request;
      const sandbox = await this.controller.createSandbox(sandboxRequest(this.controller, this.runtime, state, sandboxId, req));
      undo.push(`remove sandbox ${sandboxId.slice(0, 12)}`, () => this.controller.deleteSandbox(sandboxId));
      if (req.sysctls) await this.controller.setSandboxSysctls(sandbox.id, req.sysctls);
      // As docker run: --ip, --ip6, --mac-address and --network-alias apply to the first network given.
      const first = {
        ...(req.ip ? { ip: req.ip } : {}),
        ...(req.ip6 ? { ip6: req.ip6 } : {}),
        ...(req.macAddress ? { mac: req.macAddress } : {}),
        ...(req.networkAliases ? { aliases: req.networkAliases } : {}),
      };
      const firstAsked = req.networks?.[0] ?? this.controller.defaultNetwork();
      for (const [i, j] of plannedNetworks(plan, this.controller.defaultNetwork()).entries()) {
        const isFirst = j.network === firstAsked && !(plan.joined ?? []).includes(j) && i === 0;
        await this.controller.connect(j.network, sandbox.id, isFirst ? { ...first, ...connectOptions(j) } : connectOptions(j));
      }
    }
    const record = this.controller.sandbox(sandboxId).record;
    return {
      netnsPath: record.netnsPath ?? `/proc/${process.pid}/ns/net`,
      hostsFile: join(this.controller.sandboxFilesDir(sandboxId), 'hosts'),
      resolvFile: join(this.controller.sandboxFilesDir(sandboxId), 'resolv.conf'),
    };
  }

  /** When the container ends: --rm removes it, its policy may start it again, else its sandbox is released. */
  private watchEnd(state: ContainerState): void {
    const ending = this.runtime
      .wait(state.id)
      .then((code) => this.ended(state, code))
      .catch((err: unknown) => this.onError(`container ${state.name}: after its end`, err))
      .finally(() => this.endings.delete(state.id));
    this.endings.set(state.id, ending);
  }

  private async ended(state: ContainerState, exitCode: number | null): Promise<void> {
    if (state.config.autoRemove) {
      const removal = this.releaseSandbox(state).finally(() => this.removals.delete(state.id));
      this.removals.set(state.id, removal);
      return removal;
    }
    const plan = planOf(state);
    if (!plan || state.status !== 'exited') return;
    if (restartsAfterExit(plan, exitCode)) return this.scheduleRestart(state, plan);
    if (!plan.keepSandbox) await this.releaseSandbox(state);
  }

  /** Starts it again after the back-off, in the sandbox it kept (its addresses with it). */
  private scheduleRestart(state: ContainerState, plan: ContainerPlan): void {
    const count = plan.restartCount ?? 0;
    const timer = setTimeout(() => {
      this.restartTimers.delete(state.id);
      if (!this.runtime.list().some((c) => c.id === state.id) || state.status !== 'exited') return;
      this.updatePlan(state, { ...this.planOf(state), restartCount: count + 1 });
      this.start(state.id).catch((err: unknown) => {
        this.onError(`container ${state.name}: restarting it failed`, err);
        void this.releaseSandbox(state).catch(() => undefined);
      });
    }, restartDelayMs(count));
    timer.unref();
    this.restartTimers.set(state.id, timer);
  }

  private clearRestart(id: string): void {
    const t = this.restartTimers.get(id);
    if (t) clearTimeout(t);
    this.restartTimers.delete(id);
  }

  /** Stops it through the API: its restart policy leaves it stopped. */
  async stop(ref: string, timeoutSeconds?: number): Promise<ContainerState> {
    const state = this.runtime.get(ref);
    this.clearRestart(state.id);
    const plan = planOf(state);
    if (plan) this.updatePlan(state, { ...plan, stoppedByUser: true });
    await this.runtime.stop(state.id, timeoutSeconds);
    await this.endings.get(state.id); // its sandbox released: its addresses are free when stop answers
    return state;
  }

  async restart(ref: string, timeoutSeconds?: number): Promise<ContainerState> {
    await this.stop(ref, timeoutSeconds);
    return this.start(ref);
  }

  /** Resolves once an exited --rm container is gone with its sandbox (at once for any other). */
  async removed(id: string): Promise<void> {
    await this.removals.get(id);
  }

  private planOf(state: ContainerState): ContainerPlan {
    const plan = planOf(state);
    if (!plan) throw new TsnetError('TSNET_ERR_CONFLICT', `container "${state.name}" was made before tsnet kept containers' plans: it cannot be started again`);
    return plan;
  }

  private updatePlan(state: ContainerState, plan: ContainerPlan): void {
    this.runtime.setDaemonRecord(state.id, plan as unknown as Record<string, unknown>);
  }

  /** --network container:NAME: the running container's sandbox id (its namespace, addresses, files are shared). */
  private sharedSandboxId(req: RunRequest): string {
    const ref = req.networks![0]!.slice(CONTAINER_MODE.length);
    checkRun(this.controller, this.runtime, req, true);
    const target = this.runtime.get(ref);
    const sandboxId = sandboxIdOf(target);
    if (target.status !== 'running' || !sandboxId || !this.controller.hasSandbox(sandboxId)) {
      throw new TsnetError('TSNET_ERR_CONFLICT', `container "${target.name}" is not running: its network cannot be shared`);
    }
    return sandboxId;
  }

  /**
   * The container of each sandbox, by sandbox id (a shared sandbox gets its first container): one pass over the
   * containers for whoever names many endpoints' containers (a network's view, its DNS names).
   */
  sandboxOwners(): Map<string, { readonly id: string; readonly name: string }> {
    const owners = new Map<string, { id: string; name: string }>();
    for (const c of this.runtime.list()) {
      const id = sandboxIdOf(c);
      if (id && !owners.has(id)) owners.set(id, { id: c.id, name: c.name });
    }
    return owners;
  }

  /** Container names by their sandbox id (a shared sandbox gets its first container's). */
  sandboxNames(): Map<string, string> {
    return new Map([...this.sandboxOwners()].map(([sandbox, c]) => [sandbox, c.name]));
  }

  /** The container whose sandbox this is, if any (a shared sandbox's first). */
  sandboxOwner(sandboxId: string): { readonly id: string; readonly name: string } | undefined {
    return this.runtime.withLabel(SANDBOX_LABEL, sandboxId)[0];
  }

  /** Removes a container and its sandbox (with volumes: its anonymous volumes too). */
  async remove(ref: string, force: boolean, volumes = false): Promise<void> {
    const state = this.runtime.get(ref);
    this.clearRestart(state.id);
    await this.runtime.remove(state.id, { force, volumes });
    await this.endings.get(state.id);
    await this.releaseSandbox(state);
  }

  /**
   * Removes many containers side by side, each with its own outcome. With force, the running ones are killed
   * together, and their sandboxes, released as each one ends, are deleted together once all have ended: one store
   * transaction, and the host ends of all their veths in one request (one pass of the kernel's grace periods).
   */
  async removeEach(refs: readonly string[], force: boolean, volumes = false): Promise<PromiseSettledResult<void>[]> {
    if (force) this.holdSandboxesUntilEnded(refs);
    return Promise.allSettled(refs.map((r) => this.remove(r, force, volumes)));
  }

  /** Removes many containers side by side, with force (see removeEach); throws the first failure. */
  async removeMany(refs: readonly string[]): Promise<void> {
    const failed = (await this.removeEach(refs, true)).find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Stops many containers side by side, each with its own outcome; their sandboxes go together (see removeEach). */
  async stopEach(refs: readonly string[], timeoutSeconds?: number): Promise<PromiseSettledResult<ContainerState>[]> {
    this.holdSandboxesUntilEnded(refs);
    return Promise.allSettled(refs.map((r) => this.stop(r, timeoutSeconds)));
  }

  /**
   * Sandbox deletions wait until the running ones of these containers have ended. What is waited for is the
   * runtime's record of each end, which comes before (and never waits for) the release of its sandbox.
   */
  private holdSandboxesUntilEnded(refs: readonly string[]): void {
    const found = refs.flatMap((r) => {
      try {
        return [this.runtime.get(r)];
      } catch {
        return []; // its own removal or stop says why
      }
    });
    const running = found.filter((c) => c.status === 'running' || c.status === 'paused');
    if (running.length > 1) this.controller.holdSandboxDeletions(Promise.allSettled(running.map((c) => this.runtime.wait(c.id))));
  }

  /** Removes the container's sandbox, unless another running container still shares it (once, however many ask). */
  private async releaseSandbox(state: ContainerState): Promise<void> {
    const sandboxId = sandboxIdOf(state);
    if (!sandboxId) return;
    const under = this.releases.get(sandboxId);
    if (under) return under;
    // Only the containers of this sandbox are read (a removal of many would otherwise read all of them, each).
    const sharers = this.runtime.withLabel(SANDBOX_LABEL, sandboxId).filter((c) => c.id !== state.id && (c.status === 'running' || c.status === 'paused'));
    if (sharers.length > 0 || !this.controller.hasSandbox(sandboxId)) return;
    const release = this.controller.deleteSandbox(sandboxId).finally(() => this.releases.delete(sandboxId));
    this.releases.set(sandboxId, release);
    return release;
  }

  /** The container's sandbox, when it has one now (it runs, or keeps its sandbox). */
  private liveSandbox(state: ContainerState): string | undefined {
    const id = sandboxIdOf(state);
    return id !== undefined && this.controller.hasSandbox(id) ? id : undefined;
  }

  /**
   * network connect: a running container joins now and keeps the network for its next starts; a stopped one only
   * records it (joined at its next start, as Docker does).
   */
  async connect(network: string, ref: string, options: Omit<JoinedLater, 'network'>): Promise<JoinedEndpoint | undefined> {
    const state = this.runtime.get(ref);
    const plan = planOf(state);
    const name = this.controller.network(network).name;
    const live = this.liveSandbox(state);
    if (!live && !plan) throw new TsnetError('TSNET_ERR_SANDBOX_NOT_FOUND', `container "${state.name}" has no network sandbox`);
    const endpoint = live ? await this.controller.connect(network, live, connectOptions({ network, ...options })) : undefined;
    if (plan && !plan.keepSandbox) {
      this.updatePlan(state, {
        ...plan,
        left: (plan.left ?? []).filter((n) => n !== name && n !== network),
        joined: [...(plan.joined ?? []), { network: name, ...options }],
      });
    }
    return endpoint;
  }

  async disconnect(network: string, ref: string): Promise<void> {
    const state = this.runtime.get(ref);
    const plan = planOf(state);
    const n = this.controller.network(network);
    const live = this.liveSandbox(state);
    if (live) await this.controller.disconnect(network, live);
    else if (!plan) throw new TsnetError('TSNET_ERR_SANDBOX_NOT_FOUND', `container "${state.name}" has no network sandbox`);
    if (plan && !plan.keepSandbox) {
      const joined = (plan.joined ?? []).filter((j) => j.network !== n.name && j.network !== n.id && j.network !== network);
      this.updatePlan(state, { ...plan, joined, left: [...(plan.left ?? []), n.name, n.id, network] });
    }
  }

  /**
   * At start-up: sandboxes whose container is gone or not running are released (they ended while the daemon was
   * down), running containers are watched again, and the restart policies apply.
   */
  async adopt(): Promise<string[]> {
    const live = new Set(
      this.runtime.list().flatMap((c) => (c.status === 'running' || c.status === 'paused' || planOf(c)?.keepSandbox ? [sandboxIdOf(c)] : [])),
    );
    const orphans = this.controller
      .sandboxes()
      .map((s) => s.record.id)
      .filter((id) => !live.has(id));
    if (orphans.length) await this.controller.deleteSandboxes(orphans);
    for (const c of this.runtime.list()) {
      const plan = planOf(c);
      if (c.status === 'running' || c.status === 'paused') this.watchEnd(c);
      else if (c.status === 'exited' && plan && !plan.keepSandbox && restartsAtDaemonStart(plan, c.exitCode)) {
        this.updatePlan(c, { ...plan, restartCount: (plan.restartCount ?? 0) + 1 });
        await this.start(c.id).catch((err: unknown) => this.onError(`container ${c.name}: starting it by its restart policy failed`, err));
      }
    }
    return orphans;
  }

  /** Stops the restarts waiting for their back-off (the daemon is stopping). */
  close(): void {
    for (const id of [...this.restartTimers.keys()]) this.clearRestart(id);
  }
}

function connectOptions(j: JoinedLater): { ip?: string; ip6?: string; aliases?: readonly string[] } {
  return { ...(j.ip ? { ip: j.ip } : {}), ...(j.ip6 ? { ip6: j.ip6 } : {}), ...(j.aliases ? { aliases: j.aliases } : {}) };
}
