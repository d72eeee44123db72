/**
 * Handle: rtnetlink verbs bound to one network namespace, named like iproute2 (linkAdd, addrAdd, routeReplace).
 * There is no default handle: whoever needs the kernel opens one on the namespace it means, and closes it.
 */
import { closeSync } from 'node:fs';
import { NetNs } from '../netns/netns.js';
import { addrAddRequest, addrDeleteRequest, addrListRequest, type Addr, type AddrOptions } from './addr.js';
import { InvalidArgumentError } from '../errors.js';
import { valueOf } from '../lib/settled.js';
import { Errno } from '../native/errno.js';
import { requestUntilEcho } from './echoed.js';
import { NetlinkBatchError, NetlinkError } from './errors.js';
import type { NetnsTarget } from './link-kinds.js';
import {
  linkAddRequest,
  linkDeleteGroupRequest,
  linkDeleteRequest,
  linkGetRequest,
  linkListRequest,
  linkSetRequest,
  type Link,
  type LinkAddSpec,
  type LinkChange,
  type LinkRef,
} from './link.js';
import { neighListRequest, type Neigh } from './neigh.js';
import { fdbListRequest, type FdbEntry } from './fdb.js';
import { routeAddRequest, routeDeleteRequest, routeListRequest, routeReplaceRequest, type Route, type RouteSpec } from './route.js';
import { NetlinkSocket, type NetlinkRequest, type NetlinkSocketOptions, type NetlinkSocketStats } from './socket.js';

/** A namespace given as a NetNs value, or already as an fd or pid. */
export type NetnsLike = NetNs | NetnsTarget;

/** LinkAddSpec whose namespaces may be NetNs values: the handle opens (and closes) their descriptors. */
export type LinkAddInput = LinkAddSpec extends infer S
  ? S extends LinkAddSpec
    ? Omit<S, 'netns' | 'peer'> & { readonly netns?: NetnsLike } & (S extends { peer: infer P }
          ? { readonly peer: Omit<P, 'netns'> & { readonly netns?: NetnsLike } }
          : unknown)
    : never
  : never;

/** A link to create under a name nobody else can hold, and the requests that finish it, addressed by that name. */
export interface UniqueLink {
  readonly create: NetlinkRequest<Link | undefined>;
  readonly finish: readonly NetlinkRequest<unknown>[];
  readonly name: string;
}

/** Deletions answered early that may hold worker threads at once (the threads are the process's file I/O's too). */
const MAX_FINISHING = 2;
const ECHO_TIMEOUT_MS = 30_000;

export class Handle {
  /** Deletions answered at their echo whose sends are still under way in the kernel. */
  private finishing = 0;

  private constructor(
    readonly netns: NetNs,
    private readonly socket: NetlinkSocket,
  ) {}

  /** Opens a handle whose every request acts inside netns (default: the caller's namespace). */
  static open(netns: NetNs = NetNs.current(), options: NetlinkSocketOptions = {}): Handle {
    return new Handle(netns, NetlinkSocket.open(netns.nativePath, options));
  }

  close(): void {
    this.socket.close();
  }

  /** Counters of the handle's socket (sends, messages, time spent in the kernel's calls). */
  get stats(): Readonly<NetlinkSocketStats> {
    return this.socket.stats;
  }

  /**
   * Runs fn with a descriptor of the handle's namespace, taken from its socket: no walk of the namespace's path, so
   * a veth's peer can be born in it cheaply. Closed when fn settles.
   */
  withNetnsFd<T>(fn: (fd: number) => Promise<T>): Promise<T> {
    return this.socket.withNetnsFd(fn);
  }

  /** Sends one prepared request. */
  request<T>(request: NetlinkRequest<T>): Promise<T> {
    return this.socket.request(request);
  }

  /** Sends prepared requests pipelined (see NetlinkSocket.pipeline). */
  pipeline(requests: readonly NetlinkRequest<unknown>[]): Promise<unknown[]> {
    return this.socket.pipeline(requests);
  }

  // ---- links

  /** Equivalent to: `ip link show` */
  linkList(): Promise<Link[]> {
    return this.socket.request(linkListRequest());
  }

  /** Equivalent to: `ip link show DEV`; throws NetlinkError ENODEV when there is none. */
  linkGet(ref: LinkRef): Promise<Link> {
    return this.socket.request(linkGetRequest(ref));
  }

  /** Like linkGet, but undefined when the link does not exist. */
  async linkFind(ref: LinkRef): Promise<Link | undefined> {
    try {
      return await this.linkGet(ref);
    } catch (err) {
      if (err instanceof NetlinkError && err.errno === Errno.ENODEV) return undefined;
      throw err;
    }
  }

  /**
   * linkFind of many links, asked for together (pipelined, as few sends as can be): each link, or undefined where
   * there is none. Cheaper than a listing of every link when they are few among many.
   */
  async linkFindMany(refs: readonly LinkRef[]): Promise<(Link | undefined)[]> {
    if (refs.length === 0) return [];
    try {
      return (await this.socket.pipeline(refs.map((ref) => linkGetRequest(ref)))) as Link[];
    } catch (err) {
      if (!(err instanceof NetlinkBatchError)) throw err;
      return err.results.map((r) => {
        if (r.status === 'fulfilled') return r.value as Link;
        if (r.reason instanceof NetlinkError && r.reason.errno === Errno.ENODEV) return undefined;
        throw r.reason;
      });
    }
  }

  /**
   * Equivalent to: `ip link add NAME [netns NS] type KIND ...`. A veth's peer can be created directly inside
   * another namespace. Returns the new link as the kernel reports it (for a veth: its linkIndex is the peer's
   * index inside the peer's namespace).
   */
  async linkAdd(input: LinkAddInput): Promise<Link> {
    const fds: number[] = [];
    const target = (ns: NetnsLike): NetnsTarget => {
      if (!(ns instanceof NetNs)) return ns;
      const fd = ns.openFd();
      fds.push(fd);
      return { fd };
    };
    try {
      const spec = {
        ...input,
        ...(input.netns ? { netns: target(input.netns) } : {}),
        ...('peer' in input ? { peer: { ...input.peer, ...(input.peer.netns ? { netns: target(input.peer.netns) } : {}) } } : {}),
      } as LinkAddSpec;
      const echoed = await this.createLink(spec);
      // Kernels before 6.3 do not echo a new link; a link created in another namespace is not visible here.
      if (echoed) return echoed;
      if (input.netns) return { index: 0, name: input.name, flags: 0, up: false, lowerUp: false, operState: 'unknown', mtu: 0 };
      return await this.linkGet(input.name);
    } finally {
      for (const fd of fds) closeSync(fd);
    }
  }

  /** Creates the link and tags it; if the tag cannot be set, the link is deleted again. */
  private async createLink(spec: LinkAddSpec): Promise<Link | undefined> {
    if (spec.alias !== undefined && spec.netns)
      throw new InvalidArgumentError(`link "${spec.name}": an alias cannot be set on a link created in another namespace`);
    const alias = spec.alias;
    return this.linkCreate(linkAddRequest(spec), (index) => (alias === undefined ? [] : [linkSetRequest(index, { alias })]), spec.name);
  }

  /**
   * Creates a link, then finishes it (its tag, bridge-port flags, up) with requests addressed by the index the
   * kernel gave it, never by name: a creation that fails (the name is someone else's) leaves everything alone, and
   * a finish that fails deletes the link this call made, by its index. Two sends: the kernel ignores IFLA_IFALIAS at
   * creation, and a request by name sent behind a failed creation would act on the other link of that name.
   */
  async linkCreate(
    create: NetlinkRequest<Link | undefined>,
    finish: (index: number) => readonly NetlinkRequest<unknown>[],
    name: string,
  ): Promise<Link | undefined> {
    const echoed = await this.socket.request(create);
    // Kernels before 6.3 do not echo: the name is this call's, since its creation has just succeeded.
    const index = echoed?.index ?? (echoed === undefined && create.object === name ? (await this.linkFind(name))?.index : undefined);
    const then = index ? finish(index) : [];
    if (then.length === 0) return echoed;
    try {
      await this.socket.pipeline(then);
      return echoed;
    } catch (err) {
      await this.linkDelete(index!).catch(() => undefined);
      throw err instanceof NetlinkBatchError ? err.errors[0] : err;
    }
  }

  /**
   * Creates a link and finishes it in the same send, the finishing requests addressed by the link's name: one round
   * trip instead of two. Only for a name nobody else can hold, such as one derived from a fresh random id: were the
   * creation to fail because the name is taken, the requests behind it would act on the link that holds it. If the
   * creation fails, its error is thrown; if a finishing request fails, the new link is deleted again.
   */
  async linkCreateUnique(create: NetlinkRequest<Link | undefined>, finish: readonly NetlinkRequest<unknown>[], name: string): Promise<Link | undefined> {
    return valueOf((await this.linkCreateUniqueMany([{ create, finish, name }]))[0]!);
  }

  /**
   * linkCreateUnique for many links in one send (many endpoints at once): each link's outcome is its own, and a
   * link whose finishing failed is deleted again, as linkCreateUnique does; the others stay.
   */
  async linkCreateUniqueMany(links: readonly UniqueLink[]): Promise<PromiseSettledResult<Link | undefined>[]> {
    const requests = links.flatMap((l) => [l.create, ...l.finish]);
    let results: readonly PromiseSettledResult<unknown>[];
    try {
      results = (await this.socket.pipeline(requests)).map((value) => ({ status: 'fulfilled', value }));
    } catch (err) {
      if (!(err instanceof NetlinkBatchError)) throw err;
      results = err.results;
    }
    let at = 0;
    const outcomes: PromiseSettledResult<Link | undefined>[] = [];
    for (const link of links) {
      const [created, ...finished] = results.slice(at, (at += 1 + link.finish.length));
      outcomes.push(await this.keepIfFinished(link.name, created!, finished));
    }
    return outcomes;
  }

  /** A created link whose finishing failed is deleted (by its index when echoed), and the first failure is its outcome. */
  private async keepIfFinished(
    name: string,
    created: PromiseSettledResult<unknown>,
    finished: readonly PromiseSettledResult<unknown>[],
  ): Promise<PromiseSettledResult<Link | undefined>> {
    if (created.status === 'rejected') return created;
    const echoed = created.value as Link | undefined;
    const failed = finished.find((r) => r.status === 'rejected');
    if (!failed) return { status: 'fulfilled', value: echoed };
    await this.linkDelete(echoed?.index ?? name).catch(() => undefined);
    return failed;
  }

  /** Equivalent to: `ip link del DEV` (for a veth, the peer goes too). */
  linkDelete(ref: LinkRef): Promise<void> {
    return this.socket.request(linkDeleteRequest(ref));
  }

  /**
   * `ip link del DEV`, answered as soon as the kernel has taken the link out of the namespace (its addresses, routes
   * and name gone) rather than when it has freed it, 20-40 ms later here (see echoed.ts). The kernel finishes on a
   * worker thread; while MAX_FINISHING deletions are still finishing, the next one waits for its own end instead.
   */
  async linkDeleteUnlisted(ref: LinkRef): Promise<void> {
    if (this.finishing >= MAX_FINISHING) return this.linkDelete(ref);
    this.finishing++;
    try {
      const change = await requestUntilEcho(this.netns.nativePath, linkDeleteRequest(ref), ECHO_TIMEOUT_MS);
      void change.finished.then(() => this.finishing--);
    } catch (err) {
      this.finishing--;
      throw err;
    }
  }

  /**
   * Deletes many links in one request: they are put in a device group of their own, then the group is deleted,
   * so the kernel's RCU grace period (about 16 ms a veth) is paid once, not once per link. Links already gone
   * count as deleted. Returns how many of the given links were found.
   */
  async linkDeleteMany(refs: readonly LinkRef[]): Promise<number> {
    if (refs.length === 0) return 0;
    const group = 0x10000000 + Math.floor(Math.random() * 0x6fffffff);
    const requests = [...refs.map((ref) => linkSetRequest(ref, { group })), linkDeleteGroupRequest(group)];
    try {
      await this.socket.pipeline(requests);
      return refs.length;
    } catch (err) {
      if (!(err instanceof NetlinkBatchError)) throw err;
      const setResults = err.results.slice(0, refs.length);
      const groupResult = err.results[refs.length];
      const isGone = (r: PromiseSettledResult<unknown> | undefined): boolean =>
        r?.status === 'rejected' && r.reason instanceof NetlinkError && r.reason.errno === Errno.ENODEV;
      const gone = setResults.filter(isGone).length;
      const setFailed = setResults.some((r) => r.status === 'rejected' && !isGone(r));
      // The group delete finds nothing (ENODEV) exactly when every link was already gone.
      const groupFailed = groupResult?.status === 'rejected' && !(gone === refs.length && isGone(groupResult));
      if (setFailed || groupFailed) throw err;
      return refs.length - gone;
    }
  }

  /** Equivalent to: `ip link set DEV [up|down] [name N] [mtu M] [address A] [alias S] [master B|nomaster] [netns NS]` */
  async linkSet(ref: LinkRef, change: Omit<LinkChange, 'netns'> & { readonly netns?: NetnsLike }): Promise<void> {
    const ns = change.netns;
    if (!(ns instanceof NetNs)) return this.socket.request(linkSetRequest(ref, change as LinkChange));
    return ns.withFd((fd) => this.socket.request(linkSetRequest(ref, { ...change, netns: { fd } })));
  }

  /** Equivalent to: `ip link set DEV up` */
  linkSetUp(ref: LinkRef): Promise<void> {
    return this.linkSet(ref, { up: true });
  }

  /** Equivalent to: `ip link set DEV down` */
  linkSetDown(ref: LinkRef): Promise<void> {
    return this.linkSet(ref, { up: false });
  }

  /** Equivalent to: `ip link set DEV master BRIDGE` */
  linkSetMaster(ref: LinkRef, masterIndex: number): Promise<void> {
    return this.linkSet(ref, { masterIndex });
  }

  /** Equivalent to: `ip link set DEV nomaster` */
  linkSetNoMaster(ref: LinkRef): Promise<void> {
    return this.linkSet(ref, { masterIndex: null });
  }

  /** Equivalent to: `ip link set DEV netns NS`. Costs 16-24 ms in the kernel: prefer creating links in place. */
  linkSetNs(ref: LinkRef, netns: NetnsLike): Promise<void> {
    return this.linkSet(ref, { netns });
  }

  /** Equivalent to: `ip link set DEV name NEW` (the link must be down). */
  linkRename(index: number, name: string): Promise<void> {
    return this.linkSet(index, { name });
  }

  /** Equivalent to: `ip link set DEV mtu MTU` */
  linkSetMtu(ref: LinkRef, mtu: number): Promise<void> {
    return this.linkSet(ref, { mtu });
  }

  /** Equivalent to: `ip link set DEV address MAC` */
  linkSetMac(ref: LinkRef, mac: string): Promise<void> {
    return this.linkSet(ref, { mac });
  }

  /** Equivalent to: `ip link set DEV alias TEXT` */
  linkSetAlias(ref: LinkRef, alias: string): Promise<void> {
    return this.linkSet(ref, { alias });
  }

  // ---- addresses

  /** Equivalent to: `ip addr add CIDR dev DEV` */
  addrAdd(index: number, cidr: string, options?: AddrOptions): Promise<void> {
    return this.socket.request(addrAddRequest(index, cidr, options));
  }

  /** Equivalent to: `ip addr del CIDR dev DEV` */
  addrDelete(index: number, cidr: string): Promise<void> {
    return this.socket.request(addrDeleteRequest(index, cidr));
  }

  /** Equivalent to: `ip addr show [dev DEV]` */
  addrList(filter?: { family?: 'inet' | 'inet6'; index?: number }): Promise<Addr[]> {
    return this.socket.request(addrListRequest(filter));
  }

  // ---- routes

  /** Equivalent to: `ip route add ...` */
  routeAdd(spec: RouteSpec): Promise<void> {
    return this.socket.request(routeAddRequest(spec));
  }

  /** Equivalent to: `ip route replace ...` */
  routeReplace(spec: RouteSpec): Promise<void> {
    return this.socket.request(routeReplaceRequest(spec));
  }

  /** Equivalent to: `ip route del ...` */
  routeDelete(spec: RouteSpec): Promise<void> {
    return this.socket.request(routeDeleteRequest(spec));
  }

  /** Equivalent to: `ip route show [table T]` */
  routeList(filter?: { family?: 'inet' | 'inet6'; table?: number }): Promise<Route[]> {
    return this.socket.request(routeListRequest(filter));
  }

  // ---- neighbours

  /** Equivalent to: `ip neigh show` */
  neighList(filter?: { family?: 'inet' | 'inet6' }): Promise<Neigh[]> {
    return this.socket.request(neighListRequest(filter));
  }

  /** Equivalent to: `bridge fdb show` */
  fdbList(): Promise<FdbEntry[]> {
    return this.socket.request(fdbListRequest());
  }
}
