/**
 * The durable store: embedded SQLite (better-sqlite3) in the daemon's root directory. Each change is one
 * transaction, committed (synchronous=FULL, so on disk) before the change is acknowledged. Records are JSON
 * documents keyed by id; addresses handed out of a pool are rows of their own so that one allocation writes one
 * row. The WAL is copied into the database once the store has been idle for a moment (see checkpointWhenIdle).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { TsnetError } from '../errors.js';
import type { DockerPoolRecord, EndpointRecord, NetworkRecord, SandboxRecord, WireRecord } from './types.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS networks (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS endpoints (id TEXT PRIMARY KEY, network_id TEXT NOT NULL, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sandboxes (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pool_cursors (pool_id TEXT PRIMARY KEY, next_search TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docker_pools (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS addresses (pool_id TEXT NOT NULL, address TEXT NOT NULL, PRIMARY KEY (pool_id, address));
CREATE TABLE IF NOT EXISTS wires (id TEXT PRIMARY KEY, doc TEXT NOT NULL);
`;

/**
 * Quiet after a commit before the WAL is copied into the database. SQLite's own checkpoint runs inside whichever
 * commit crosses 1,000 pages and makes that commit take milliseconds (it syncs the database file); done when the
 * daemon is idle, it leaves the commits out of it, and SQLite's own stays as the bound under a steady load.
 */
const IDLE_CHECKPOINT_MS = 100;

type Kind = 'networks' | 'endpoints' | 'sandboxes' | 'wires';

/** Records as stores of tsnet 0.1 wrote them: the bridge's config under `bridge`, endpoints without `kind`. */
type LegacyNetwork = Omit<NetworkRecord, 'config'> & { config?: object; bridge?: object };
type LegacyEndpoint = EndpointRecord | (Omit<EndpointRecord, 'kind'> & { kind?: undefined; peerIfname?: string; sandboxId?: string });

function upgradeNetwork(doc: LegacyNetwork): NetworkRecord {
  if (doc.config) return doc as NetworkRecord;
  const { bridge, ...rest } = doc;
  return { ...rest, config: bridge ?? {} };
}

function upgradeEndpoint(doc: LegacyEndpoint): EndpointRecord {
  if (doc.kind) return doc;
  const legacy = doc as unknown as Record<string, unknown>;
  return (legacy.peerIfname ? { ...legacy, kind: 'detached' } : { ...legacy, kind: 'joined', joinSeq: legacy.joinSeq ?? 0 }) as unknown as EndpointRecord;
}

export class Store {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /** better-sqlite3's transaction wrapper, made once: runs its argument between BEGIN and COMMIT (ROLLBACK on a throw). */
  private readonly inTransaction: (fn: () => unknown) => unknown;
  /** Re-armed by each commit: fires once the store has been idle for IDLE_CHECKPOINT_MS. */
  private readonly idleCheckpoint: NodeJS.Timeout;

  /** Prepared once, reused: the store is on every change's path. */
  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  private constructor(path: string) {
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.db = new Database(path);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('busy_timeout = 5000');
      this.db.exec(SCHEMA);
      this.inTransaction = this.db.transaction((fn: () => unknown) => fn());
      this.idleCheckpoint = setTimeout(() => this.checkpointWhenIdle(), IDLE_CHECKPOINT_MS).unref();
    } catch (err) {
      throw new TsnetError('TSNET_ERR_STORE', `cannot open the store ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  static open(path: string): Store {
    return new Store(path);
  }

  close(): void {
    clearTimeout(this.idleCheckpoint);
    if (this.db.open) this.db.close();
  }

  /** Copies what the WAL holds into the database, as far as no reader holds it back (nothing waits: PASSIVE). */
  private checkpointWhenIdle(): void {
    try {
      if (this.db.open) this.sql('PRAGMA wal_checkpoint(PASSIVE)').get();
    } catch {
      // A full disk, say: what the WAL holds is safe there, and the next commit's own checkpoint tries again.
    }
  }

  /**
   * Runs fn in one transaction: all of its writes are committed together, or none. A "volatile" transaction is
   * for records of what a reboot wipes anyway (sandboxes in /run, their endpoints and wires): it survives a crash of
   * tsnet (the WAL is written before the commit returns) but is not synced to the disk itself; the next durable
   * commit syncs it with its own. Everything else is synced before it is acknowledged.
   */
  transaction<T>(fn: () => T, durability: 'durable' | 'volatile' = 'durable'): T {
    this.idleCheckpoint.refresh();
    if (durability === 'durable') return this.inTransaction(fn) as T;
    // Prepared once (a pragma through db.pragma() is compiled at each call).
    this.sql('PRAGMA synchronous = NORMAL').run();
    try {
      return this.inTransaction(fn) as T;
    } finally {
      this.sql('PRAGMA synchronous = FULL').run();
    }
  }

  private all<T>(kind: Kind): T[] {
    return (this.sql(`SELECT doc FROM ${kind} ORDER BY rowid`).all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as T);
  }

  networks(): NetworkRecord[] {
    return this.all<LegacyNetwork>('networks').map(upgradeNetwork);
  }
  endpoints(): EndpointRecord[] {
    return this.all<LegacyEndpoint>('endpoints').map(upgradeEndpoint);
  }
  sandboxes(): SandboxRecord[] {
    return this.all('sandboxes');
  }

  putNetwork(n: NetworkRecord): void {
    this.sql('INSERT INTO networks (id, name, doc) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, doc = excluded.doc').run(
      n.id,
      n.name,
      JSON.stringify(n),
    );
  }
  putEndpoint(e: EndpointRecord): void {
    this.sql('INSERT INTO endpoints (id, network_id, doc) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc').run(
      e.id,
      e.networkId,
      JSON.stringify(e),
    );
  }
  wires(): WireRecord[] {
    return this.all('wires');
  }
  putWire(w: WireRecord): void {
    this.sql('INSERT INTO wires (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc').run(w.id, JSON.stringify(w));
  }
  putSandbox(s: SandboxRecord): void {
    this.sql('INSERT INTO sandboxes (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc').run(s.id, JSON.stringify(s));
  }
  delete(kind: Kind, id: string): void {
    this.sql(`DELETE FROM ${kind} WHERE id = ?`).run(id);
  }

  addresses(poolId: string): string[] {
    return (this.sql('SELECT address FROM addresses WHERE pool_id = ?').all(poolId) as { address: string }[]).map((r) => r.address);
  }
  addAddress(poolId: string, address: string): void {
    this.sql('INSERT INTO addresses (pool_id, address) VALUES (?, ?)').run(poolId, address);
  }
  removeAddress(poolId: string, address: string): void {
    this.sql('DELETE FROM addresses WHERE pool_id = ? AND address = ?').run(poolId, address);
  }
  cursor(poolId: string): bigint | undefined {
    const row = this.sql('SELECT next_search FROM pool_cursors WHERE pool_id = ?').get(poolId) as { next_search: string } | undefined;
    return row ? BigInt(row.next_search) : undefined;
  }
  setCursor(poolId: string, next: bigint): void {
    this.sql('INSERT INTO pool_cursors (pool_id, next_search) VALUES (?, ?) ON CONFLICT (pool_id) DO UPDATE SET next_search = excluded.next_search').run(
      poolId,
      next.toString(),
    );
  }
  /** Pools Docker took through tsnet's IPAM plugin (not tied to a network of tsnet's). */
  dockerPools(): DockerPoolRecord[] {
    return (this.sql('SELECT doc FROM docker_pools ORDER BY rowid').all() as { doc: string }[]).map((r) => JSON.parse(r.doc) as DockerPoolRecord);
  }
  putDockerPool(p: DockerPoolRecord): void {
    this.sql('INSERT INTO docker_pools (id, doc) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET doc = excluded.doc').run(p.id, JSON.stringify(p));
  }
  deleteDockerPool(id: string): void {
    this.sql('DELETE FROM docker_pools WHERE id = ?').run(id);
    this.deletePool(id);
  }

  deletePool(poolId: string): void {
    this.sql('DELETE FROM addresses WHERE pool_id = ?').run(poolId);
    this.sql('DELETE FROM pool_cursors WHERE pool_id = ?').run(poolId);
  }
}
