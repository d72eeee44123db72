/**
 * `tsnet daemon`: starts in the order dockerd does (configuration, checks, working directory, store, networks
 * restored and reconciled, containers restored, then the API), listens on a unix socket (mode 0660), and on
 * SIGTERM stops accepting, finishes what is in flight and closes the store. Containers keep running and are
 * re-adopted by the next daemon.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { ReconcileReport } from '../cnm/controller.js';
import { missingKernelFeatures } from '../cnm/kernel-check.js';
import { firewallBackend, openController, type FirewallBackend } from './network-wiring.js';
import { TsnetError } from '../errors.js';
import { NetNs } from '../netns/netns.js';
import { Errno, errnoName } from '../native/errno.js';
import { native } from '../native/library.js';
import type { DefaultPool } from '../ipam/default-pools.js';
import { Runtime } from '../runtime/runtime.js';
import { TSNET_VERSION } from '../version.js';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { Controller } from '../cnm/controller.js';
import type { ClusterAgent } from '../cluster/agent.js';
import { DockerPlugin, dockerPluginRoutes } from '../plugin/docker-plugin.js';
import { buildApp } from './app.js';
import { ContainerService } from './containers.js';
import { startDns } from './dns.js';
import { LabService } from './labs/service.js';

export { parseDefaultPool } from '../ipam/default-pools.js';

export interface DaemonOptions {
  readonly root: string;
  readonly socket: string;
  /** The folder of what a reboot wipes (default: the socket's folder, /run/tsnet): namespace pins, sandboxes' files. */
  readonly execRoot?: string;
  readonly netnsDir?: string;
  readonly defaultPools?: readonly DefaultPool[];
  readonly iptables: boolean;
  /** nftables (the default where the kernel has nf_tables) or iptables. */
  readonly firewallBackend?: FirewallBackend;
  readonly debug: boolean;
  /** Serve Docker's network driver and IPAM plugin protocols on this socket (Docker names the plugin after it). */
  readonly dockerPluginSocket?: string;
  /** The default network's bridge interface (Docker's docker0), or "none" for no default network (dockerd's --bridge none). */
  readonly defaultBridge?: string;
  /** The host's resolver configuration, whose servers containers and the embedded resolver use (default /etc/resolv.conf). */
  readonly resolvConf?: string;
  /** The cluster of global networks, as the flags gave it (--cluster-store, --cluster-advertise, --cluster-store-opt, --cluster-lease-ttl). */
  readonly cluster?: { readonly store: string; readonly advertise?: string; readonly storeOpts?: readonly string[]; readonly leaseTtl?: string };
  /** Seconds between checks that tsnet's firewall rules are still there (a firewalld reload or `iptables -F` flushes them); 0: never. */
  readonly firewallCheckSeconds?: number;
}

export const DEFAULT_DOCKER_PLUGIN_SOCKET = '/run/docker/plugins/tsnet.sock';

/** The socket is root's and, like Docker's, the group's of that name when the machine has one: mode 0660. */
function restrictSocket(path: string, group = 'tsnet'): void {
  const line = existsSync('/etc/group')
    ? readFileSync('/etc/group', 'utf8')
        .split('\n')
        .find((l) => l.startsWith(`${group}:`))
    : undefined;
  const gid = line ? Number(line.split(':')[2]) : 0;
  chownSync(path, 0, Number.isInteger(gid) ? gid : 0);
  chmodSync(path, 0o660);
}

/** The daemon's hold on its root. */
interface RootLock {
  release(): void;
}

/**
 * Locks ROOT/tsnet.lock with flock: the kernel lets the lock go when the daemon ends, however it ends, so a restart
 * right after a kill -9 never finds a stale lock. The PID in ROOT/tsnet.pid is only for the message to whoever
 * finds the root taken.
 */
function takeLock(root: string): RootLock {
  const fd = native().lockFile(join(root, 'tsnet.lock'));
  const pidFile = join(root, 'tsnet.pid');
  if (fd === -Errno.EWOULDBLOCK) {
    const pid = existsSync(pidFile) ? readFileSync(pidFile, 'utf8').trim() : '?';
    throw new TsnetError('TSNET_ERR_CONFLICT', `another tsnet daemon (PID ${pid}) is using ${root}`);
  }
  if (fd < 0) throw new TsnetError('TSNET_ERR_INTERNAL', `cannot lock ${join(root, 'tsnet.lock')}: ${errnoName(-fd)}`);
  writeFileSync(pidFile, `${process.pid}\n`);
  return {
    release: () => {
      rmSync(pidFile, { force: true });
      native().close(fd);
    },
  };
}

/** Whether something answers on the socket. */
function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** The Docker plugin protocols: their own fastify instance on their own socket, on the same controller. */
async function listenDockerPlugin(controller: Controller, socket: string, debug: boolean): Promise<FastifyInstance> {
  const app = Fastify({ logger: { level: debug ? 'debug' : 'info' }, logController: new LogController({ disableRequestLogging: !debug }) });
  await app.register(dockerPluginRoutes(new DockerPlugin(controller)));
  mkdirSync(dirname(socket), { recursive: true, mode: 0o755 });
  if (existsSync(socket)) unlinkSync(socket);
  await app.listen({ path: socket });
  chmodSync(socket, 0o660);
  return app;
}

export interface RunningDaemon {
  readonly report: ReconcileReport;
  close(): Promise<void>;
}

/** Checks, then the working directory and its lock. */
async function prepare(options: DaemonOptions): Promise<RootLock> {
  if (process.getuid?.() !== 0)
    throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'tsnet daemon needs root: it creates namespaces, interfaces and firewall rules');
  const missing = await missingKernelFeatures();
  if (missing.length) throw new TsnetError('TSNET_ERR_INTERNAL', `the kernel lacks what tsnet needs:\n${missing.map((m) => `  - ${m}`).join('\n')}`);
  mkdirSync(options.root, { recursive: true, mode: 0o700 });
  const lock = takeLock(options.root);
  if (await socketAnswers(options.socket)) {
    lock.release();
    throw new TsnetError('TSNET_ERR_CONFLICT', `the socket ${options.socket} is served by another daemon`);
  }
  return lock;
}

/** The cluster agent, when the daemon is in a cluster (its modules, etcd's client among them, are loaded only then). */
async function clusterAgent(options: DaemonOptions): Promise<ClusterAgent | undefined> {
  if (!options.cluster) return undefined;
  const { ClusterAgent } = await import('../cluster/agent.js');
  const { parseClusterOptions } = await import('../cluster/options.js');
  return new ClusterAgent(parseClusterOptions(options.cluster), join(options.root, 'cluster'));
}

/** The folder of what a reboot wipes: the one given, else the socket's (/run/tsnet by default). */
const execRoot = (options: DaemonOptions): string => options.execRoot ?? dirname(options.socket);

/** Store, networks restored and reconciled; then containers; then the app (not yet listening). */
async function openState(options: DaemonOptions) {
  // Decided once: the controller is given the backend, and `tsnet info` says which it is.
  const firewall = firewallBackend(options, NetNs.current());
  const cluster = await clusterAgent(options);
  const { controller, report } = await openController({
    ...(cluster ? { cluster: { state: cluster.store, advertise: cluster.options.advertise } } : {}),
    root: join(options.root, 'network'),
    runDir: execRoot(options),
    ...(options.netnsDir ? { netnsDir: options.netnsDir } : {}),
    iptables: options.iptables,
    ...(firewall ? { firewallBackend: firewall } : {}),
    ...(options.resolvConf ? { resolvConf: options.resolvConf } : {}),
    ...(options.defaultPools ? { defaultPools: options.defaultPools } : {}),
  });
  // Failures of background work go to the app's log, which exists once the app does.
  const logs: { app?: FastifyInstance } = {};
  const onBackgroundError = (what: string, err: unknown): void => void logs.app?.log.error({ err }, what);
  const runtime = Runtime.open(join(options.root, 'runtime'), { onBackgroundError, runDir: execRoot(options) });
  const containers = new ContainerService(controller, runtime, onBackgroundError);
  await controller.ensurePredefinedNetworks({ host: true, ...(options.defaultBridge === 'none' ? {} : { defaultBridge: options.defaultBridge ?? 'tsnet0' }) });
  const released = await containers.adopt();
  const labs = LabService.open(join(options.root, 'labs'), controller, containers, runtime);
  const app = buildApp({
    controller,
    runtime,
    containers,
    labs,
    logLevel: options.debug ? 'debug' : 'info',
    info: () => ({
      version: TSNET_VERSION,
      daemon: {
        pid: process.pid,
        root: options.root,
        socket: options.socket,
        execRoot: execRoot(options),
        iptables: options.iptables,
        firewall: firewall ?? 'none',
      },
      store: join(options.root, 'network', 'tsnet.db'),
      ...(cluster
        ? { cluster: { store: cluster.options.store, advertise: cluster.options.advertise, host: cluster.hostId, connected: cluster.connected } }
        : {}),
      kernel: { features: ['netns', 'veth', 'bridge', 'overlay'], cgroups: runtime.cgroups.layout.kind },
    }),
  });
  logs.app = app;
  if (cluster) {
    const namesOf = (sandboxId: string): string[] => {
      const owner = containers.sandboxOwner(sandboxId);
      return owner ? [owner.name, owner.id.slice(0, 12)] : [];
    };
    await cluster.start(controller, namesOf, app.log);
  }
  app.log.info(
    { removed: report.removed, recreated: report.recreated, broken: report.broken, releasedSandboxes: released.length },
    'state restored and reconciled',
  );
  return { controller, report, runtime, app, containers, cluster };
}

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const lock = await prepare(options);
  try {
    const { controller, report, runtime, app, containers, cluster } = await openState(options);
    const dns = await startDns(controller, containers, app.log, options.resolvConf, cluster ? (id) => cluster.remoteNames(id) : undefined);
    // The API opens last.
    mkdirSync(dirname(options.socket), { recursive: true, mode: 0o755 });
    if (existsSync(options.socket)) unlinkSync(options.socket);
    await app.listen({ path: options.socket });
    restrictSocket(options.socket);
    const plugin = options.dockerPluginSocket ? await listenDockerPlugin(controller, options.dockerPluginSocket, options.debug) : undefined;
    app.log.info({ socket: options.socket, dockerPlugin: options.dockerPluginSocket ?? null, pid: process.pid }, 'tsnet daemon listening');
    const watch = watchFirewall(controller, app, options.firewallCheckSeconds ?? 5);
    const close = once(async () => {
      if (watch) clearInterval(watch);
      await plugin?.close();
      await app.close(); // stops accepting; in-flight requests finish
      await dns.close();
      cluster?.close();
      containers.close();
      runtime.close();
      await controller.close();
      rmSync(options.socket, { force: true });
      if (options.dockerPluginSocket) rmSync(options.dockerPluginSocket, { force: true });
      lock.release();
    });
    return { report, close };
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** Every few seconds: what of tsnet's firewall went missing is put back, and said in the log. */
function watchFirewall(controller: Controller, app: FastifyInstance, seconds: number): NodeJS.Timeout | undefined {
  if (!(seconds > 0)) return undefined;
  const timer = setInterval(() => {
    controller
      .repairDriverState()
      .then((missing) => missing.length > 0 && app.log.warn({ missing }, 'tsnet firewall rules were missing (flushed by someone else?): restored'))
      .catch((err: unknown) => app.log.error({ err }, 'checking the firewall failed'));
  }, seconds * 1000);
  timer.unref();
  return timer;
}

/** fn's first call's promise, for every call. */
function once<T>(fn: () => Promise<T>): () => Promise<T> {
  const memo: { result?: Promise<T> } = {};
  return () => (memo.result ??= fn());
}
