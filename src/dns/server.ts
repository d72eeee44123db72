/**
 * The embedded DNS resolver: one per daemon, listening on UDP and TCP port 53 of each user-defined network's gateway
 * address (as netavark's aardvark does, so that no firewall rule is needed per container). It answers the names in
 * the client's scope itself and forwards the rest.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket, { type Packet } from 'dns-packet';
import { failure, ownAnswer } from './answer.js';
import type { ClientScope, NameDirectory } from './directory.js';
import { forward } from './forward.js';

export const DNS_PORT = 53;
/** The largest UDP answer without EDNS (RFC 1035). */
const UDP_LIMIT = 512;

export interface DnsLog {
  warn(fields: object, message: string): void;
  debug(fields: object, message: string): void;
}

interface Listener {
  readonly udp: Socket;
  readonly tcp: Server;
}

/** The UDP size the client accepts: its EDNS payload size, else 512. */
function udpLimit(query: Packet): number {
  const opt = (query.additionals ?? []).find((a) => a.type === 'OPT') as { udpPayloadSize?: number } | undefined;
  return Math.max(UDP_LIMIT, opt?.udpPayloadSize ?? UDP_LIMIT);
}

/** An answer too large for UDP: the header and question with TC set, so the client asks again over TCP. */
function truncated(answer: Packet): Buffer {
  return dnsPacket.encode({ ...answer, flags: (answer.flags ?? 0) | (1 << 9), answers: [], authorities: [], additionals: [] });
}

export class DnsServer {
  private readonly listeners = new Map<string, Listener>();
  /**
   * Own answers already encoded, by scope and by the query's bytes after its id: a repeated question is answered
   * by copying them with the new id, without decoding or encoding. Emptied whenever the directory's scope changes.
   */
  private readonly answered = new WeakMap<ClientScope, Map<string, Buffer>>();

  constructor(
    private readonly directory: NameDirectory,
    private readonly log: DnsLog,
    private readonly port = DNS_PORT,
  ) {}

  private remember(scope: ClientScope, raw: Buffer, transport: string, answer: Buffer): void {
    let byQuery = this.answered.get(scope);
    if (!byQuery) this.answered.set(scope, (byQuery = new Map()));
    if (byQuery.size < 10_000) byQuery.set(`${transport}${raw.toString('latin1', 2)}`, answer);
  }

  /** A remembered own answer to these bytes, with this query's id. */
  private recall(raw: Buffer, client: string, local: string, transport: string): Buffer | undefined {
    const scope = raw.length > 12 ? this.directory.scopeOf(client, local) : undefined;
    const known = scope && this.answered.get(scope)?.get(`${transport}${raw.toString('latin1', 2)}`);
    if (!known) return undefined;
    const answer = Buffer.from(known);
    raw.copy(answer, 0, 0, 2);
    return answer;
  }

  /** The answer to one query from client that arrived at local. */
  async resolve(raw: Buffer, client: string, local: string, transport: 'udp' | 'tcp'): Promise<Buffer | undefined> {
    const known = this.recall(raw, client, local, transport);
    if (known) return known;
    let query: Packet;
    try {
      query = dnsPacket.decode(raw);
    } catch {
      return raw.length >= 2 ? dnsPacket.encode(failure({ id: raw.readUInt16BE(0), type: 'query', flags: 0 } as Packet, 'FORMERR')) : undefined;
    }
    const scope = this.directory.scopeOf(client, local);
    if (!scope) return dnsPacket.encode(failure(query, 'REFUSED'));
    const own = ownAnswer(query, scope);
    if (own) {
      const bytes = dnsPacket.encode(own);
      const answer = transport === 'udp' && bytes.length > udpLimit(query) ? truncated(own) : bytes;
      this.remember(scope, raw, transport, answer);
      return answer;
    }
    if (scope.upstreams.length === 0) return dnsPacket.encode(failure(query, 'REFUSED'));
    try {
      return await forward(raw, scope.upstreams, transport);
    } catch (err) {
      this.log.debug({ err, question: query.questions?.[0]?.name }, 'dns: forwarding failed');
      return dnsPacket.encode(failure(query, 'SERVFAIL'));
    }
  }

  /** Resolves and sends; a failure of tsnet's own is logged and answered SERVFAIL, never left unhandled. */
  private answer(raw: Buffer, client: string, local: string, transport: 'udp' | 'tcp', send: (answer: Buffer) => void): void {
    this.resolve(raw, client, local, transport)
      .catch((err: unknown) => {
        this.log.warn({ err, client, local }, 'dns: answering failed');
        return raw.length >= 2 ? dnsPacket.encode(failure({ id: raw.readUInt16BE(0), type: 'query', flags: 0 } as Packet, 'SERVFAIL')) : undefined;
      })
      .then((answer) => answer && send(answer))
      .catch((err: unknown) => this.log.warn({ err, client }, 'dns: sending the answer failed'));
  }

  /** Listens on exactly these addresses: new ones opened, gone ones closed. A failure is logged, not thrown. */
  async sync(addresses: readonly string[]): Promise<void> {
    const wanted = new Set(addresses);
    for (const [address, l] of this.listeners) {
      if (wanted.has(address)) continue;
      this.listeners.delete(address);
      l.udp.close();
      l.tcp.close();
    }
    for (const address of wanted) {
      if (this.listeners.has(address)) continue;
      try {
        this.listeners.set(address, await this.listen(address));
      } catch (err) {
        this.log.warn({ err, address }, 'dns: cannot listen on the gateway address; its containers will not resolve names');
      }
    }
  }

  close(): Promise<void> {
    return this.sync([]);
  }

  private async listen(address: string): Promise<Listener> {
    const udp = createSocket('udp4');
    udp.on('message', (msg, rinfo) => {
      this.answer(msg, rinfo.address, address, 'udp', (answer) => udp.send(answer, rinfo.port, rinfo.address));
    });
    udp.on('error', (err) => this.log.warn({ err, address }, 'dns: udp socket error'));
    const tcp = createServer((conn) => this.serveTcp(conn, address));
    try {
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.port, address, () => resolve());
      });
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject);
        tcp.listen(this.port, address, () => resolve());
      });
    } catch (err) {
      udp.close();
      tcp.close();
      throw err;
    }
    return { udp, tcp };
  }

  /** Length-prefixed queries on one connection, answered in turn. */
  private serveTcp(conn: TcpSocket, local: string): void {
    let data = Buffer.alloc(0);
    conn.setTimeout(10_000, () => conn.destroy());
    conn.on('error', () => conn.destroy());
    conn.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      while (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        const query = data.subarray(2, 2 + data.readUInt16BE(0));
        data = data.subarray(2 + query.length);
        this.answer(query, conn.remoteAddress ?? '', local, 'tcp', (answer) => {
          if (!conn.destroyed) conn.write(Buffer.concat([Buffer.from([answer.length >> 8, answer.length & 0xff]), answer]));
        });
      }
    });
  }
}
