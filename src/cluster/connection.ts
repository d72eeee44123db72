/**
 * The connection to etcd: a client scoped to tsnet's prefix, calls bounded in time (a store that does not answer
 * fails global operations with a clear error rather than hanging them), and this host's lease, which binds what the
 * host holds in the store to its being alive.
 */
import { ExponentialBackoff } from 'cockatiel';
import { Etcd3, type Lease, type Namespace } from 'etcd3';
import { TsnetError } from '../errors.js';
import { PREFIX } from './keys.js';
import type { ClusterOptions } from './options.js';

/** How long one call to etcd may take before the operation that needs it fails. */
const CALL_DEADLINE_MS = 3000;

export class ClusterConnection {
  private readonly client: Etcd3;
  readonly kv: Namespace;
  private current: Lease | undefined;

  constructor(readonly options: ClusterOptions) {
    this.client = new Etcd3({
      hosts: [...options.endpoints],
      dialTimeout: CALL_DEADLINE_MS,
      // Streams (watches, keepalives) live on; single calls have a deadline.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      // A watch broken by an etcd restart comes back within a second or two (the client's default waits up to 30 s).
      faultHandling: { watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1500 }).next() },
      ...(options.tls
        ? {
            credentials: {
              rootCertificate: options.tls.ca,
              ...(options.tls.key ? { privateKey: options.tls.key } : {}),
              ...(options.tls.cert ? { certChain: options.tls.cert } : {}),
            },
          }
        : {}),
    });
    this.kv = this.client.namespace(PREFIX);
  }

  /** Runs a call; a store that cannot be reached (or a lease that expired) becomes TSNET_ERR_CLUSTER_UNAVAILABLE. */
  async call<T>(what: string, op: (kv: Namespace) => Promise<T>): Promise<T> {
    try {
      return await op(this.kv);
    } catch (err) {
      if (err instanceof TsnetError) throw err;
      throw new TsnetError(
        'TSNET_ERR_CLUSTER_UNAVAILABLE',
        `cannot ${what}: the cluster store ${this.options.store} did not answer (${(err as Error).message})`,
        {
          cause: err,
        },
      );
    }
  }

  /** This host's lease, while it holds one. */
  lease(): Lease {
    if (!this.current || this.current.revoked()) {
      throw new TsnetError('TSNET_ERR_CLUSTER_UNAVAILABLE', `this host has no lease in the cluster store ${this.options.store}: it is unreachable, or was`);
    }
    return this.current;
  }

  /** Grants a new lease (kept alive by the client); onLost is told when it expires unrenewed. */
  async grantLease(onLost: (err: Error) => void): Promise<Lease> {
    this.dropLease();
    const lease = this.kv.lease(this.options.leaseTtlSeconds);
    lease.on('lost', onLost);
    await this.call('take a lease', () => lease.grant());
    this.current = lease;
    return lease;
  }

  /** Forgets the lease without revoking it (it expires on its own). */
  dropLease(): void {
    this.current?.removeAllListeners('lost');
    this.current?.release();
    this.current = undefined;
  }

  close(): void {
    this.dropLease();
    this.client.close();
  }
}
