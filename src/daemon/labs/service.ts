/**
 * Labs: containerlab topologies deployed as tsnet containers joined by wires. The LabService owns the lab records
 * and runs one lab operation at a time; a deploy that fails half way is removed whole, and the error names the node
 * or link that failed. A daemon that died during a deploy finds the lab "failed" at its next start, for destroy.
 */
import type {
  LabDeployBody,
  LabExecBody,
  LabExecResult,
  LabGraphBody,
  LabLinkSetBody,
  LabLinkStateBody,
  LabLinkView,
  LabRunReport,
  LabScheduleView,
  LabView,
} from '../../api/labs.js';
import type { Controller } from '../../cnm/controller.js';
import { InvalidArgumentError, TsnetError } from '../../errors.js';
import { renderGraph } from '../../labs/graph.js';
import { CompiledSchemas } from '../../labs/schema-check.js';
import { CompanionSchema, TopologySchema } from '../../labs/schema.js';
import { containerName, parseTopology, type Topology } from '../../labs/topology.js';
import { SerialQueue } from '../../lib/serial-queue.js';
import type { Runtime } from '../../runtime/runtime.js';
import { SANDBOX_LABEL, type ContainerService } from '../containers.js';
import { configureNodes, LAB_LABEL, labOwner, labView, runExec, startNodes, wireSpecs } from './nodes.js';
import { LabRecords, type LabRecord } from './records.js';
import { applyDeclaredImpairments, linkViews, setLinkImpairment } from './links.js';
import { LabSchedule } from './schedule.js';
import { runExperiments } from './experiments.js';
import { toInput, type ImpairmentInput } from '../../lib/impairment.js';
import type { ImpairmentSupport } from '../../cnm/wires/impair-support.js';

/**
 * Milliseconds of each phase of a deploy, for the deploy's answer (and benches): the time since the previous phase
 * ended, and as NAME.cpu the daemon's own CPU time (a phase much longer than its CPU waits on processes or the
 * kernel). The links (then configure) are made while the nodes start: "nodes" is what the starts took beyond them.
 */
function phaseClock(): { lap(name: string): void; laps: Record<string, number> } {
  let last = process.hrtime.bigint();
  let lastCpu = process.cpuUsage();
  const laps: Record<string, number> = {};
  return {
    laps,
    lap: (name) => {
      const now = process.hrtime.bigint();
      const cpu = process.cpuUsage(lastCpu);
      laps[name] = Math.round(Number(now - last) / 1e5) / 10;
      laps[`${name}.cpu`] = Math.round((cpu.user + cpu.system) / 100) / 10;
      last = now;
      lastCpu = process.cpuUsage();
    },
  };
}

export class LabService {
  private readonly queue = new SerialQueue();
  /** The running schedules of labs' events, by lab. */
  private readonly schedules = new Map<string, LabSchedule>();

  /** Every deploy checks a file against the schemas: compiled once, at the service's start. */
  private readonly schemas = new CompiledSchemas();

  private constructor(
    private readonly controller: Controller,
    private readonly containers: ContainerService,
    private readonly runtime: Runtime,
    private readonly records: LabRecords,
  ) {
    this.schemas.check(TopologySchema, null);
    this.schemas.check(CompanionSchema, null);
  }

  /** Opens the records; a lab left "deploying" by a daemon that died is marked failed. */
  static open(dir: string, controller: Controller, containers: ContainerService, runtime: Runtime): LabService {
    const records = new LabRecords(dir);
    for (const r of records.list()) if (r.status === 'deploying') records.put({ ...r, status: 'failed' });
    return new LabService(controller, containers, runtime, records);
  }

  list(): LabView[] {
    return this.records.list().map((r) => labView(r, this.runtime, this.controller));
  }

  inspect(name: string): LabView {
    return labView(this.record(name), this.runtime, this.controller);
  }

  private record(name: string): LabRecord {
    const r = this.records.find(name);
    if (!r) throw new TsnetError('TSNET_ERR_NOT_FOUND', `lab "${name}" not found`);
    return r;
  }

  /** Deploys; progress, when given, is told each step as it is done (nodes started, links made, exec run). */
  deploy(body: LabDeployBody, progress: (text: string) => void = () => undefined): Promise<LabView> {
    const clock = phaseClock();
    const topology = parseTopology({
      text: body.topology,
      file: body.file ?? 'topology',
      ...(body.dir ? { dir: body.dir } : {}),
      ...(body.companion !== undefined ? { companion: body.companion } : {}),
      env: body.env ?? {},
      checker: this.schemas,
    });
    return this.queue.run(async () => {
      const existing = this.records.find(topology.name);
      if (existing && !body.reconfigure) {
        throw new TsnetError('TSNET_ERR_CONFLICT', `lab "${topology.name}" is deployed already: destroy it first, or deploy with --reconfigure`);
      }
      if (existing) await this.sweep(existing);
      this.checkBeforeDeploy(topology);
      const record: LabRecord = { name: topology.name, status: 'deploying', created: new Date().toISOString(), topology };
      this.records.put(record, body.topology);
      clock.lap('check');
      try {
        const view = await this.make(record, progress, clock);
        if (body.events && record.topology.events.length) this.startSchedule(record.topology);
        return view;
      } catch (err) {
        await this.sweep(record).catch(() => undefined);
        this.records.remove(topology.name, false);
        await this.releaseMgmtNetwork(topology).catch(() => undefined);
        throw err;
      }
    });
  }

  /** Images there and container names free, before anything is made. */
  private checkBeforeDeploy(t: Topology): void {
    for (const n of t.nodes) if (n.kind === 'linux') this.runtime.images.get(n.image!);
    const names = new Set(this.runtime.list().map((c) => c.name));
    const taken = t.nodes.filter((n) => n.kind === 'linux' && names.has(containerName(t, n.name)));
    if (taken.length) throw new TsnetError('TSNET_ERR_CONFLICT', `containers named ${taken.map((n) => containerName(t, n.name)).join(', ')} exist already`);
  }

  private async make(record: LabRecord, progress: (text: string) => void, clock: ReturnType<typeof phaseClock>): Promise<LabView> {
    const t = record.topology;
    // A bridge the lab makes carries its tag: sweep finds it by that, also after a crash.
    for (const n of t.nodes.filter((x) => x.kind === 'bridge')) await this.controller.ensureHostBridge(n.name, labOwner(t.name));
    await this.ensureMgmtNetwork(t);
    // The links are made (and impaired, and the nodes' addresses and routes set) while the nodes start: all they
    // need is the sandboxes.
    await startNodes(t, this.containers, progress, async (made) => {
      const wires = await this.controller.createWires(wireSpecs(t, made));
      progress(`links: ${t.links.length} made`);
      clock.lap('links');
      const impaired = await applyDeclaredImpairments(t, wires, this.controller);
      if (impaired) progress(`impairments: ${impaired} link end(s) impaired`);
      await configureNodes(t, made, this.controller);
      clock.lap('configure');
    });
    clock.lap('nodes');
    const exec = await runExec(t, this.runtime);
    if (exec.length) progress(`exec: ${exec.length} command(s) run, ${exec.filter((e) => e.exitCode !== 0).length} failed`);
    clock.lap('exec');
    const done: LabRecord = { ...record, status: 'running', exec };
    this.records.put(done);
    const view = labView(done, this.runtime, this.controller);
    clock.lap('record');
    return { ...view, timings: clock.laps };
  }

  /** The management network (containerlab's `clab` on 172.20.20.0/24 unless the file says otherwise), made once and shared. */
  private async ensureMgmtNetwork(t: Topology): Promise<void> {
    if (!t.nodes.some((n) => n.kind === 'linux' && n.networkMode !== 'none')) return;
    if (this.controller.networks().some((n) => n.name === t.mgmt.network)) return;
    await this.controller.createNetwork({
      name: t.mgmt.network,
      driver: 'bridge',
      subnet: t.mgmt.ipv4Subnet,
      ...(t.mgmt.ipv4Gateway ? { gateway: t.mgmt.ipv4Gateway } : {}),
      ...(t.mgmt.ipv6Subnet ? { ipv6: true, subnet6: t.mgmt.ipv6Subnet } : {}),
      ...(t.mgmt.ipv6Gateway ? { gateway6: t.mgmt.ipv6Gateway } : {}),
      options: {
        ...(t.mgmt.mtu ? { 'com.docker.network.driver.mtu': String(t.mgmt.mtu) } : {}),
        ...(t.mgmt.bridge ? { 'com.docker.network.bridge.name': t.mgmt.bridge } : {}),
      },
      labels: { [`${LAB_LABEL}.mgmt`]: 'true' },
    });
  }

  /**
   * Removes what a lab made, found by its marks (so also after a crash that left no record): its containers (their
   * wires go with them), its other wires, the bridges it made; how many things went.
   */
  private async sweep(record: Pick<LabRecord, 'name'>): Promise<number> {
    const mine = this.runtime.list().filter((c) => c.config.labels?.[LAB_LABEL] === record.name);
    await this.containers.removeMany(mine.map((c) => c.id));
    const wires = await this.controller.deleteWires(labOwner(record.name));
    const bridges = await this.controller.removeHostBridges(labOwner(record.name));
    return mine.length + wires + bridges;
  }

  /** Destroys a lab; its management network goes too when the lab made it and nothing else uses it (as containerlab's). */
  destroy(name: string, cleanup = false): Promise<void> {
    return this.queue.run(async () => {
      this.schedules.get(name)?.cancel();
      this.schedules.delete(name);
      const record = this.records.find(name);
      const swept = await this.sweep({ name });
      if (!record && swept === 0) throw new TsnetError('TSNET_ERR_NOT_FOUND', `lab "${name}" not found`);
      this.records.remove(name, cleanup);
      if (record) await this.releaseMgmtNetwork(record.topology);
    });
  }

  /** The management network goes with the last lab that uses it, when a lab made it (as containerlab's). */
  private async releaseMgmtNetwork(t: Topology): Promise<void> {
    const mgmt = this.controller.networks().find((n) => n.name === t.mgmt.network);
    const shared = this.records.list().some((r) => r.topology.mgmt.network === mgmt?.name);
    if (mgmt?.labels[`${LAB_LABEL}.mgmt`] === 'true' && !shared && this.controller.endpointsOf({ networkId: mgmt.id }).length === 0) {
      await this.controller.deleteNetwork(mgmt.id);
    }
  }

  async exec(name: string, body: LabExecBody): Promise<LabExecResult[]> {
    const t = this.record(name).topology;
    const linux = t.nodes.filter((n) => n.kind === 'linux');
    if (!body.all && !body.node) throw new InvalidArgumentError('name a node, or run on all of them');
    const targets = body.all ? linux : linux.filter((n) => n.name === body.node);
    if (targets.length === 0) throw new TsnetError('TSNET_ERR_NOT_FOUND', `lab "${name}" has no linux node "${body.node}"`);
    const command = body.command;
    return Promise.all(
      targets.map(async (n) => ({ node: n.name, command: command.join(' '), ...(await this.runtime.io.exec(containerName(t, n.name), command)) })),
    );
  }

  /** lab link set: an end's impairment changed (see LabLinkSetBody); the lab's links as they are then. */
  linkSet(name: string, body: LabLinkSetBody): Promise<LabLinkView[]> {
    return this.queue.run(async () => {
      const t = this.record(name).topology;
      await this.applyLinkSet(t, body);
      return linkViews(t, this.controller);
    });
  }

  private applyLinkSet(t: Topology, body: LabLinkSetBody, due?: bigint): Promise<void> {
    return setLinkImpairment(
      t,
      this.controller,
      body.endpoint,
      body.peerToo ?? false,
      (current) => {
        const { rate, burst, ...rest } = { ...(body.clear ? {} : toInput(current)), ...body.impairment } as ImpairmentInput;
        // rate 0 takes the rate (and its burst) away
        return rate === 0 || rate === '0' ? rest : { ...rest, ...(rate !== undefined ? { rate } : {}), ...(burst !== undefined ? { burst } : {}) };
      },
      true,
      due,
    );
  }

  /** lab link down|up: an end's link taken down (all it sends is lost) or up, its other impairments kept. */
  linkState(name: string, body: LabLinkStateBody): Promise<LabLinkView[]> {
    return this.queue.run(async () => {
      const t = this.record(name).topology;
      await this.applyLinkState(t, body);
      return linkViews(t, this.controller);
    });
  }

  private applyLinkState(t: Topology, body: LabLinkStateBody, due?: bigint): Promise<void> {
    return setLinkImpairment(t, this.controller, body.endpoint, false, ({ down: _down, ...rest }) => (body.up ? rest : { ...rest, down: true }), false, due);
  }

  /** Starts the lab's events (replacing a schedule running); they are applied outside the queue, on time. */
  private startSchedule(t: Topology): void {
    this.schedules.get(t.name)?.cancel();
    this.controller.prepareImpairments();
    this.schedules.set(
      t.name,
      new LabSchedule(t.events, async (e, due) => {
        if (e.set || e.clear) await this.applyLinkSet(t, { endpoint: e.endpoint, peerToo: e.peerToo, clear: e.clear, impairment: e.set ?? {} }, due);
        if (e.state) await this.applyLinkState(t, { endpoint: e.endpoint, up: e.state === 'up' }, due);
      }),
    );
  }

  /** lab run's measuring: the lab's experiments, one after another, and the report (with its exit status). */
  async runExperiments(name: string, progress: (text: string) => void = () => undefined): Promise<LabRunReport> {
    const t = this.record(name).topology;
    const netns = (node: string): string => {
      const sandbox = this.runtime.get(containerName(t, node)).config.labels?.[SANDBOX_LABEL];
      const path = sandbox ? this.controller.sandbox(sandbox).ns.path : null;
      if (!path) throw new TsnetError('TSNET_ERR_CONFLICT', `node ${node} of lab "${name}" has no network namespace (is it running?)`);
      return path;
    };
    const schedule = (): LabScheduleView | undefined => this.schedules.get(name)?.view();
    return runExperiments(t, { netns, links: () => linkViews(t, this.controller), schedule }, progress);
  }

  /** What the lab's schedule has done so far. */
  schedule(name: string): LabScheduleView {
    const s = this.schedules.get(name);
    if (!s) throw new TsnetError('TSNET_ERR_NOT_FOUND', `lab "${name}" has no schedule running (deploy it with --events)`);
    return s.view();
  }

  /** Which impairments this kernel can apply (lab doctor). */
  impairmentSupport(): Promise<ImpairmentSupport[]> {
    return this.controller.impairmentSupport();
  }

  linkShow(name: string): Promise<LabLinkView[]> {
    return linkViews(this.record(name).topology, this.controller);
  }

  /** The topology drawn; a deployed lab's management addresses on its nodes. */
  graph(body: LabGraphBody): string {
    const t = parseTopology({
      text: body.topology,
      file: body.file ?? 'topology',
      env: body.env ?? {},
      forDrawing: true,
      checker: this.schemas,
      ...(body.companion !== undefined ? { companion: body.companion } : {}),
    });
    const deployed = this.records.find(t.name);
    const mgmt = deployed ? Object.fromEntries(this.inspect(t.name).nodes.flatMap((n) => (n.mgmtIpv4 ? [[n.name, n.mgmtIpv4]] : []))) : {};
    return renderGraph(t, body.format, mgmt);
  }
}
