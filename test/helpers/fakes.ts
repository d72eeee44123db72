/**
 * The root-free tier's stand-ins: a controller on a real store and real IPAM, with a driver, netlink handles and
 * namespaces that record what they are asked instead of asking the kernel. They let the controller's logic
 * (validation, rollback, persistence, reconciliation, policies) be tested in milliseconds, without root.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, type ControllerDeps, type ReconcileReport } from '../../src/cnm/controller.js';
import type { SandboxNamespaces } from '../../src/cnm/sandbox/namespaces.js';
import { Store } from '../../src/cnm/store.js';
import type { DriverContext, JoinRequest, JoinResult, LeaveRequest, NetworkDriver } from '../../src/drivers/driver.js';
import { HostDriver } from '../../src/drivers/host/host-driver.js';
import { NullDriver } from '../../src/drivers/null/null-driver.js';
import { OverlayDriver } from '../../src/drivers/overlay/overlay-driver.js';
import type { DetachedEndpoint, EndpointBase, NetworkRecord } from '../../src/drivers/records.js';
import { Ipam } from '../../src/ipam/ipam.js';
import type { Handle } from '../../src/netlink/handle.js';
import type { HostPortBinder } from '../../src/cnm/ports/reservations.js';
import type { HeldPort } from '../../src/netns/host-port.js';
import { NetNs } from '../../src/netns/netns.js';

/** What a fake handle was asked, and what it answers. */
export class FakeHandle {
  readonly calls: string[] = [];
  /** Routes routeList() answers (the host's routes). */
  routes: { dst: string }[] = [];
  /** Links linkList() answers. */
  links: { name: string; alias?: string; index: number; kind?: string }[] = [];
  closed = false;
  readonly stats = { sends: 0, messages: 0, kernelMs: 0 };

  async routeList(): Promise<{ dst: string }[]> {
    return this.routes;
  }
  async linkList(): Promise<{ name: string; alias?: string; index: number; kind?: string }[]> {
    return this.links;
  }
  async linkSetUp(name: string): Promise<void> {
    this.calls.push(`up ${name}`);
  }
  async linkGet(name: string): Promise<{ index: number; name: string }> {
    return { index: 7, name };
  }
  async linkFind(name: string): Promise<{ index: number; name: string } | undefined> {
    return this.links.find((l) => l.name === name);
  }
  async linkDelete(ref: string | number): Promise<void> {
    this.calls.push(`delete ${ref}`);
  }
  async linkDeleteUnlisted(ref: string | number): Promise<void> {
    this.calls.push(`delete ${ref}`);
    this.links = this.links.filter((l) => l.name !== ref && l.index !== ref);
  }
  async linkDeleteMany(refs: readonly (string | number)[]): Promise<number> {
    const gone = this.links.filter((l) => refs.includes(l.name) || refs.includes(l.index));
    if (refs.length) this.calls.push(`delete-many ${gone.map((l) => l.name).join(',')}`);
    this.links = this.links.filter((l) => !gone.includes(l));
    return refs.length;
  }
  async routeReplace(route: { dst: string; gateway: string }): Promise<void> {
    this.calls.push(`route ${route.dst} via ${route.gateway}`);
  }
  close(): void {
    this.closed = true;
  }
  /** The fake where a Handle is expected: only the methods above are ever called by the controller. */
  asHandle(): Handle {
    return this as unknown as Handle;
  }
}

/** Namespaces as plain files in a folder: enough for the controller, which only creates, lists and removes them. */
export class FileNamespaces implements SandboxNamespaces {
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }
  create(id: string): Promise<NetNs> {
    writeFileSync(join(this.dir, id), '');
    return Promise.resolve(NetNs.fromPath(join(this.dir, id), id));
  }
  delete(id: string): void {
    rmSync(join(this.dir, id), { force: true });
  }
  list(): string[] {
    return existsSync(this.dir) ? readdirSync(this.dir).sort() : [];
  }
  isNamespace(path: string): boolean {
    return existsSync(path);
  }
}

/** Host ports as a set: held ones refuse a second hold with EADDRINUSE, as the kernel does. */
export class FakePortBinder implements HostPortBinder {
  readonly held = new Set<string>();
  private next = 40000;
  hold(proto: string, address: string, port: number): HeldPort {
    const chosen = port || this.next++;
    const key = `${proto}/${address}/${chosen}`;
    if (this.held.has(key)) throw Object.assign(new Error(`bind ${key}: EADDRINUSE`), { errno: 98 });
    this.held.add(key);
    return { fd: -1, port: chosen, key } as HeldPort;
  }
  release(h: HeldPort): void {
    this.held.delete((h as HeldPort & { key: string }).key);
  }
  holder(): string {
    return 'process 1 (fake)';
  }
}

type Step = 'createNetwork' | 'deleteNetwork' | 'join' | 'leave' | 'ports';

/** A driver named like the bridge driver that makes nothing: it records calls and fails where told to. */
export class RecordingDriver implements NetworkDriver<{ tag: string }> {
  readonly name = 'bridge' as const;
  readonly capabilities = { scope: 'local', needsIpam: true, hostNamespace: false, multipleNetworks: true } as const;
  readonly calls: string[] = [];
  /** Steps that throw the next time they run. */
  readonly failing = new Set<Step>();
  /** Endpoints whose interfaces endpointPresent() (detachedEndpoints.present() for Docker's) says are missing. */
  readonly missing = new Set<string>();

  private step(step: Step, what: string): void {
    this.calls.push(`${step} ${what}`);
    if (this.failing.delete(step)) throw new Error(`${step} failed on purpose`);
  }
  configure(input: { name: string; options: Readonly<Record<string, string>> }): { tag: string } {
    return { tag: input.options.tag ?? input.name };
  }
  async createNetwork(_ctx: DriverContext, n: NetworkRecord): Promise<void> {
    this.step('createNetwork', n.name);
  }
  async deleteNetwork(_ctx: DriverContext, n: NetworkRecord): Promise<void> {
    this.step('deleteNetwork', n.name);
  }
  createEndpoint(_n: NetworkRecord, e: EndpointBase): EndpointBase {
    return { ...e, mac: e.mac ?? '02:42:00:00:00:01' };
  }
  async join(_ctx: DriverContext, r: JoinRequest): Promise<{ hostIfname: string; ifname: string }> {
    this.step('join', `${r.endpoint.name} as ${r.ifname}${r.defaultRoute ? ' with the default route' : ''}`);
    return { hostIfname: `veth${r.endpoint.id.slice(0, 7)}`, ifname: r.ifname };
  }
  /** Endpoints (by name) that joinMany fails, each alone. */
  readonly failingInMany = new Set<string>();
  async joinMany(_ctx: DriverContext, rs: readonly JoinRequest[]): Promise<PromiseSettledResult<JoinResult>[]> {
    this.calls.push(`join-many ${rs.map((r) => `${r.endpoint.name} as ${r.ifname}`).join(',')}`);
    return rs.map((r) =>
      this.failingInMany.has(r.endpoint.name)
        ? { status: 'rejected', reason: new Error(`join of ${r.endpoint.name} failed on purpose`) }
        : { status: 'fulfilled', value: { hostIfname: `veth${r.endpoint.id.slice(0, 7)}`, ifname: r.ifname } },
    );
  }
  async leave(_ctx: DriverContext, rs: readonly LeaveRequest[]): Promise<void> {
    this.step('leave', rs.map((r) => r.endpoint.name).join(','));
  }
  async programExternalConnectivity(ctx: DriverContext): Promise<void> {
    const ports = ctx.networks().flatMap((n) => ctx.endpoints(n.id).flatMap((e) => (e.ports ?? []).map((p) => `${p.hostPort}->${e.name}:${p.containerPort}`)));
    this.step('ports', ports.join(',') || 'none');
  }
  async networkPresent(): Promise<boolean> {
    return true;
  }
  async endpointPresent(_ctx: DriverContext, r: JoinRequest): Promise<boolean> {
    return !this.missing.has(r.endpoint.id);
  }
  async restore(_ctx: DriverContext, networks: readonly NetworkRecord[]): Promise<void> {
    this.calls.push(`restore ${networks.map((n) => n.name).join(',')}`);
  }
  readonly detachedEndpoints = {
    create: async (_ctx: DriverContext, _n: NetworkRecord, e: EndpointBase) => ({
      hostIfname: `veth${e.id.slice(0, 7)}`,
      peerIfname: `tsv${e.id.slice(0, 7)}`,
    }),
    present: async (_ctx: DriverContext, e: DetachedEndpoint) => !this.missing.has(e.id),
  };
}

/** A controller on fakes, with its state in a temporary folder; reopen() makes a new one on the same state. */
export class UnitWorld {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsnet-unit-'));
  readonly driver = new RecordingDriver();
  readonly host = new FakeHandle();
  /** Handles opened in sandboxes, in order. */
  readonly sandboxHandles: FakeHandle[] = [];
  readonly namespaces = new FileNamespaces(join(this.dir, 'netns'));
  readonly ports = new FakePortBinder();
  deps!: ControllerDeps;
  controller!: Controller;

  async open(): Promise<ReconcileReport> {
    this.deps = {
      store: Store.open(join(this.dir, 'tsnet.db')),
      ipam: new Ipam(),
      drivers: [this.driver, new HostDriver(), new NullDriver(), new OverlayDriver(undefined)],
      hostNs: NetNs.current(),
      namespaces: this.namespaces,
      sandboxFilesDir: join(this.dir, 'sandboxes'),
      firewall: null,
      hostPorts: this.ports,
      openHandle: (ns) => {
        if (ns.path === null) return this.host.asHandle();
        const h = new FakeHandle();
        this.sandboxHandles.push(h);
        return h.asHandle();
      },
    };
    const { controller, report } = await Controller.open(this.deps);
    this.controller = controller;
    return report;
  }

  async reopen(): Promise<ReconcileReport> {
    await this.controller.close();
    return this.open();
  }

  async dispose(): Promise<void> {
    await this.controller?.close().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export async function unitWorld(): Promise<UnitWorld> {
  const w = new UnitWorld();
  await w.open();
  w.driver.calls.length = 0; // the start-up's restore is not what tests look at
  return w;
}
