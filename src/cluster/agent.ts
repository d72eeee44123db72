/**
 * The cluster agent: this daemon's member of the cluster. It holds the host's lease, keeps the Controller's global
 * networks in line with the store's (made here as they appear, removed as they go), announces this host's endpoints
 * on them (Holdings), and programs the other hosts' endpoints into this host's kernel as they come and go: a watch,
 * not a poll. When etcd cannot be reached, local work goes on and global operations fail; when it answers again,
 * the agent takes a new lease and reconciles everything with the store.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IKeyValue, Watcher } from 'etcd3';
import type { Controller } from '../cnm/controller.js';
import type { RemotePeer } from '../cnm/types.js';
import { SerialQueue } from '../lib/serial-queue.js';
import { ClusterConnection } from './connection.js';
import { GlobalStore } from './global-store.js';
import { Holdings } from './holdings.js';
import { keys, parseAnnouncement, parseNetwork, type Announcement, type HostRecord } from './keys.js';
import type { ClusterOptions } from './options.js';

export interface AgentLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A name of another host's container on a network, for the embedded resolver. */
export interface RemoteName {
  readonly names: readonly string[];
  readonly ipv4: string;
}

const RETRY_MS = 1000;
/**
 * How often every network's remote endpoints are programmed again even when nothing changed in the store: what the
 * kernel lost meanwhile (a VXLAN device made again by `tsnet doctor --fix`) comes back. Nothing is sent when the
 * kernel already matches.
 */
const RESYNC_MS = 5000;

/** The host's id in the cluster: made once per state folder, so that a restarted daemon is the same member. */
function hostIdOf(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'host-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const id = randomBytes(16).toString('hex');
  writeFileSync(file, `${id}\n`);
  return id;
}

export class ClusterAgent {
  readonly store: GlobalStore;
  readonly hostId: string;
  private readonly conn: ClusterConnection;
  private readonly holdings: Holdings;
  /** The other hosts' endpoints, by network, then by endpoint id. */
  private readonly remote = new Map<string, Map<string, Announcement>>();
  private readonly work = new SerialQueue();
  private readonly dirtyPeers = new Set<string>();
  private watcher: Watcher | undefined;
  private live = { controller: undefined as Controller | undefined, namesOf: (_: string): readonly string[] => [], log: undefined as AgentLog | undefined };
  private status: 'down' | 'up' | 'closed' = 'down';
  private retry: NodeJS.Timeout | undefined;
  private resync: NodeJS.Timeout | undefined;
  /** Syncs of this host's holdings, one at a time (after operations, and after a new lease). */
  private readonly syncQueue = new SerialQueue();
  /** Set while a failed sync waits to be tried again. */
  private syncRetry: NodeJS.Timeout | undefined;

  constructor(
    readonly options: ClusterOptions,
    stateDir: string,
  ) {
    this.hostId = hostIdOf(stateDir);
    this.conn = new ClusterConnection(options);
    this.holdings = new Holdings(this.conn, this.hostId);
    this.store = new GlobalStore(this.conn, this.hostId, this.holdings);
  }

  /** Joins the cluster (in the background when etcd does not answer yet) and follows the controller's changes. */
  async start(controller: Controller, namesOf: (sandboxId: string) => readonly string[], log: AgentLog): Promise<void> {
    this.live = { controller, namesOf, log };
    controller.watchChanges(() => this.holdingsChanged());
    await this.establish();
    this.resync = setInterval(() => {
      if (this.status !== 'up') return;
      for (const n of controller.networks()) if (controller.isGlobal(n)) this.dirtyPeers.add(n.id);
      void this.flushPeers();
    }, RESYNC_MS);
    this.resync.unref();
  }

  /** Whether this host is a member now (it holds a lease). */
  get connected(): boolean {
    return this.status === 'up';
  }

  /** The names of other hosts' containers on a network. */
  remoteNames(networkId: string): RemoteName[] {
    return [...(this.remote.get(networkId)?.values() ?? [])].map((a) => ({ names: a.names, ipv4: a.ipv4 }));
  }

  close(): void {
    this.status = 'closed';
    if (this.retry) clearTimeout(this.retry);
    if (this.syncRetry) clearTimeout(this.syncRetry);
    if (this.resync) clearInterval(this.resync);
    void this.watcher?.cancel().catch(() => undefined);
    this.conn.close();
  }

  /** Lease, membership, networks, the other hosts' endpoints, this host's: all read and reconciled, then watched. */
  private establish(): Promise<void> {
    return this.work.run(async () => {
      if (this.status !== 'down') return;
      const { controller, log } = this.live;
      try {
        await this.conn.grantLease((err) => this.lost(err));
        const host: HostRecord = { id: this.hostId, address: this.options.advertise, started: new Date().toISOString() };
        await this.conn.call('announce this host', () => this.conn.lease().put(keys.host(this.hostId)).value(JSON.stringify(host)).exec());
        const revision = await this.readAll(controller!, log!);
        await this.syncQueue.run(async () => {
          await this.holdings.load();
          await this.holdings.sync(this.wanted(), true, log!);
        });
        await this.watch(revision);
        this.status = 'up';
        log?.info({ host: this.hostId, store: this.options.store }, 'joined the cluster');
        for (const id of this.remote.keys()) this.dirtyPeers.add(id);
        void this.flushPeers();
      } catch (err) {
        this.conn.dropLease();
        log?.warn({ err: (err as Error).message }, 'the cluster store does not answer; global networks wait for it');
        this.retryLater();
      }
    });
  }

  private retryLater(): void {
    if (this.status === 'closed' || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      void this.establish();
    }, RETRY_MS);
  }

  /** The lease expired unrenewed (etcd was away longer than its TTL): everything this host held went with it. */
  private lost(err: Error): void {
    if (this.status !== 'up') return;
    this.status = 'down';
    this.live.log?.warn({ err: err.message }, 'lost the cluster lease; rejoining when the store answers');
    void this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    this.conn.dropLease();
    this.retryLater();
  }

  /** Networks and announcements read at one revision; the controller's global networks made to match. */
  private async readAll(controller: Controller, log: AgentLog): Promise<string> {
    const [networks, endpoints] = await this.conn.call('read the cluster', (kv) =>
      Promise.all([kv.getAll().prefix(keys.networks).exec(), kv.getAll().prefix(keys.endpoints).exec()]),
    );
    const stored = networks.kvs.flatMap((kv) => parseNetwork(kv.value.toString()) ?? []);
    const ids = new Set(stored.map((n) => n.id));
    for (const n of controller.networks()) if (controller.isGlobal(n) && !ids.has(n.id)) await this.forget(n.id, log);
    for (const n of stored) await this.adopt(n, log);
    this.remote.clear();
    for (const kv of endpoints.kvs) this.remember(kv);
    // The two reads may see different revisions: the watch starts after the earlier, so that nothing made between
    // them is missed (what it sees again is applied again, to the same effect).
    return String(Math.min(Number(networks.header.revision), Number(endpoints.header.revision)));
  }

  private async adopt(n: NonNullable<ReturnType<typeof parseNetwork>>, log: AgentLog): Promise<void> {
    try {
      await this.live.controller!.adoptGlobalNetwork(n);
    } catch (err) {
      log.error({ err: (err as Error).message, network: n.name }, 'a global network could not be made on this host');
    }
  }

  private async forget(id: string, log: AgentLog): Promise<void> {
    try {
      await this.live.controller!.forgetGlobalNetwork(id);
    } catch (err) {
      log.error({ err: (err as Error).message, network: id }, 'a global network gone from the cluster could not be removed here');
    }
  }

  /** An announcement of another host, kept; its network's peers to be programmed. */
  private remember(kv: IKeyValue): void {
    const a = parseAnnouncement(kv.value.toString());
    if (!a || a.host === this.hostId) return;
    const table = this.remote.get(a.network) ?? new Map<string, Announcement>();
    table.set(a.id, a);
    this.remote.set(a.network, table);
    this.dirtyPeers.add(a.network);
  }

  private async watch(revision: string): Promise<void> {
    await this.watcher?.cancel().catch(() => undefined);
    const watcher = await this.conn.kv
      .watch()
      .prefix('')
      .startRevision(String(Number(revision) + 1))
      .create();
    watcher.on('put', (kv) => this.onPut(kv));
    watcher.on('delete', (kv) => this.onDelete(kv));
    this.watcher = watcher;
  }

  private onPut(kv: IKeyValue): void {
    const key = kv.key.toString();
    if (key.startsWith(keys.endpoints)) {
      this.remember(kv);
      void this.flushPeers();
    } else if (key.startsWith(keys.networks)) {
      const n = parseNetwork(kv.value.toString());
      if (n) void this.work.run(() => this.adopt(n, this.live.log!));
    }
  }

  private onDelete(kv: IKeyValue): void {
    const key = kv.key.toString();
    if (key.startsWith(keys.endpoints)) {
      const [networkId, endpointId] = key.slice(keys.endpoints.length).split('/');
      if (networkId && endpointId && this.remote.get(networkId)?.delete(endpointId)) {
        this.dirtyPeers.add(networkId);
        void this.flushPeers();
      }
    } else if (key.startsWith(keys.networks)) {
      const id = key.slice(keys.networks.length);
      this.remote.delete(id);
      void this.work.run(() => this.forget(id, this.live.log!));
    }
  }

  /** Programs the networks whose remote endpoints changed (coalesced: one pass per network for a burst of events). */
  private flushPeers(): Promise<void> {
    return this.work.run(async () => {
      const ids = [...this.dirtyPeers];
      this.dirtyPeers.clear();
      for (const id of ids) {
        const peers: RemotePeer[] = [...(this.remote.get(id)?.values() ?? [])].map((a) => ({ mac: a.mac, ipv4: a.ipv4, vtep: a.vtep }));
        try {
          await this.live.controller!.programRemotePeers(id, peers);
        } catch (err) {
          this.live.log?.error({ err: (err as Error).message, network: id }, 'programming the remote endpoints of a global network failed');
        }
      }
    });
  }

  private wanted(): Map<string, string> {
    return this.holdings.desired(this.live.controller!, this.live.namesOf, this.options.advertise);
  }

  /**
   * After any controller operation, before it answers: this host's announcements and addresses brought in line, so
   * that a container removed here is gone from the cluster when its removal returns. Nothing is sent when nothing
   * differs. Once a sync has failed (the store is away), operations no longer wait for it: it is retried in the
   * background until it succeeds.
   */
  private async holdingsChanged(): Promise<void> {
    if (this.status !== 'up') return;
    if (this.syncRetry) return;
    try {
      await this.syncQueue.run(() => this.holdings.sync(this.wanted(), false, this.live.log!));
    } catch (err) {
      this.live.log?.warn({ err: (err as Error).message }, "this host's endpoints could not be announced; trying again");
      this.retrySync();
    }
  }

  private retrySync(): void {
    if (this.syncRetry || this.status === 'closed') return;
    this.syncRetry = setTimeout(() => {
      this.syncRetry = undefined;
      if (this.status !== 'up') return;
      this.syncQueue.run(() => this.holdings.sync(this.wanted(), false, this.live.log!)).catch(() => this.retrySync());
    }, RETRY_MS);
    this.syncRetry.unref();
  }
}
