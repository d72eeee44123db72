/**
 * What this host holds in the cluster store under its lease: its endpoints' announcements and addresses. They are
 * derived from the Controller's state and written as differences; after a new lease (a start, or etcd back after
 * the old one expired) all of them are written again under it.
 */
import type { Namespace } from 'etcd3';
import type { Controller } from '../cnm/controller.js';
import { addressOf } from '../ipam/subnet.js';
import type { ClusterConnection } from './connection.js';
import { keys, parseAddress, parseAnnouncement, type AddressRecord, type Announcement } from './keys.js';

/** An address taken but whose endpoint is not in the state yet (its connect is running) is kept this long. */
const TAKEN_GRACE_MS = 60_000;

export interface HoldingsLog {
  warn(obj: object, msg: string): void;
}

export class Holdings {
  /** key -> value, as this host last wrote (or found) them. */
  private readonly held = new Map<string, string>();
  /** Address keys taken by a connect still running, and when. */
  private readonly taken = new Map<string, number>();

  constructor(
    private readonly conn: ClusterConnection,
    private readonly hostId: string,
  ) {}

  /** An address a connect took (GlobalStore): held, and kept while the connect runs. */
  addressTaken(key: string, value: string): void {
    this.held.set(key, value);
    this.taken.set(key, Date.now());
  }

  addressReleased(key: string): void {
    this.held.delete(key);
    this.taken.delete(key);
  }

  /** Reads what the store holds for this host (after a new lease), so that stale keys are found and removed. */
  async load(): Promise<void> {
    const [endpoints, addresses] = await this.conn.call("read this host's endpoints", (kv) =>
      Promise.all([kv.getAll().prefix(keys.endpoints).strings(), kv.getAll().prefix(keys.allAddresses).strings()]),
    );
    this.held.clear();
    for (const [k, v] of Object.entries(endpoints)) if (parseAnnouncement(v)?.host === this.hostId) this.held.set(k, v);
    for (const [k, v] of Object.entries(addresses)) if (parseAddress(v)?.host === this.hostId) this.held.set(k, v);
  }

  /** The keys this host's state calls for: an announcement and an address per endpoint on a global network. */
  desired(controller: Controller, namesOf: (sandboxId: string) => readonly string[], vtep: string): Map<string, string> {
    const want = new Map<string, string>();
    for (const n of controller.networks()) {
      if (!controller.isGlobal(n)) continue;
      for (const e of controller.endpointsOf({ networkId: n.id })) {
        if (e.kind !== 'joined' || !e.ipv4 || !e.mac) continue;
        const ipv4 = addressOf(e.ipv4);
        const announcement: Announcement = {
          id: e.id,
          network: n.id,
          host: this.hostId,
          vtep,
          mac: e.mac,
          ipv4,
          names: [...new Set([...namesOf(e.sandboxId), ...e.aliases])],
        };
        const address: AddressRecord = { endpoint: e.id, host: this.hostId };
        want.set(keys.endpoint(n.id, e.id), JSON.stringify(announcement));
        want.set(keys.address(n.id, ipv4), JSON.stringify(address));
      }
    }
    return want;
  }

  /** Writes what differs from want (all of it when rewrite: a new lease), and removes what this host holds beyond it. */
  async sync(want: ReadonlyMap<string, string>, rewrite: boolean, log: HoldingsLog): Promise<void> {
    const lease = this.conn.lease();
    await this.conn.call("announce this host's endpoints", async (kv) => {
      for (const [key, value] of want) {
        if (!rewrite && this.held.get(key) === value) continue;
        if (await this.put(kv, lease, key, value)) this.held.set(key, value);
        else log.warn({ key }, 'an address of an endpoint of this host is held by another host in the cluster store');
      }
      const now = Date.now();
      for (const key of [...this.held.keys()]) {
        if (want.has(key) || now - (this.taken.get(key) ?? 0) < TAKEN_GRACE_MS) continue;
        await kv.if(key, 'Value', '==', this.held.get(key)!).then(kv.delete().key(key)).commit();
        this.held.delete(key);
        this.taken.delete(key);
      }
    });
    for (const key of want.keys()) this.taken.delete(key);
  }

  /** Puts a key under the lease; an address key only if it is free or already this endpoint's. */
  private async put(kv: Namespace, lease: ReturnType<ClusterConnection['lease']>, key: string, value: string): Promise<boolean> {
    if (!key.startsWith(keys.allAddresses)) {
      await lease.put(key).value(value).exec();
      return true;
    }
    const free = await kv.if(key, 'Create', '==', 0).then(lease.put(key).value(value)).commit();
    if (free.succeeded) return true;
    const mine = await kv.if(key, 'Value', '==', value).then(lease.put(key).value(value)).commit();
    return mine.succeeded;
  }
}
