/** `tsnet run` and `tsnet create`: their flags, as Docker's, and the API's run body they make. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { MountSpec, PortSpec, RunBody } from '../../api/containers.js';
import { parseMountFlag, parseVolumeFlag } from '../../lib/mount-syntax.js';
import { ClientError } from '../../client/client.js';
import { parsePublish } from '../../lib/port-syntax.js';
import { collect } from '../context.js';
import { keyValues } from '../format.js';
import { DEFAULT_DETACH_KEYS } from '../detach-keys.js';

export interface RunFlags {
  detach?: boolean;
  name?: string;
  network?: string[];
  ip?: string;
  hostname?: string;
  env?: string[];
  envFile?: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  readOnly?: boolean;
  tmpfs?: string[];
  shmSize?: string;
  ulimit?: string[];
  cpus?: number;
  cpuShares?: number;
  volume?: string[];
  mount?: string[];
  volumesFrom?: string[];
  memory?: string;
  pidsLimit?: number;
  rm?: boolean;
  init?: boolean;
  ip6?: string;
  macAddress?: string;
  networkAlias?: string[];
  dns?: string[];
  dnsSearch?: string[];
  dnsOption?: string[];
  addHost?: string[];
  link?: string[];
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  securityOpt?: string[];
  device?: string[];
  publish?: string[];
  publishAll?: boolean;
  expose?: string[];
  sysctl?: string[];
  interactive?: boolean;
  tty?: boolean;
  detachKeys: string;
  sigProxy: boolean;
  restart?: string;
  stopSignal?: string;
  stopTimeout?: number;
  pull: string;
}

/** -p values into the API's specs; a malformed one fails as a usage error, before the daemon is asked. */
function publishSpecs(values: readonly string[]): PortSpec[] {
  try {
    return values.map(parsePublish);
  } catch (err) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', (err as Error).message);
  }
}

export function runRequest(image: string, command: string[], o: RunFlags): RunBody {
  return {
    image,
    command,
    ...(o.name ? { name: o.name } : {}),
    ...(o.network ? { networks: o.network } : {}),
    ...(o.ip ? { ip: o.ip } : {}),
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(o.env || o.envFile ? { env: environment(o) } : {}),
    ...(o.workdir ? { workdir: o.workdir } : {}),
    ...(o.user ? { user: o.user } : {}),
    ...(o.entrypoint ? { entrypoint: o.entrypoint } : {}),
    ...(o.readOnly ? { readOnly: true } : {}),
    ...(o.tmpfs ? { tmpfs: o.tmpfs } : {}),
    ...(o.shmSize ? { shmSize: o.shmSize } : {}),
    ...(o.ulimit ? { ulimits: o.ulimit } : {}),
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
    ...(o.cpuShares !== undefined ? { cpuShares: o.cpuShares } : {}),
    ...(o.volume || o.mount ? { mounts: mountSpecs(o) } : {}),
    ...(o.volumesFrom ? { volumesFrom: o.volumesFrom } : {}),
    ...(o.memory ? { memory: o.memory } : {}),
    ...(o.pidsLimit !== undefined ? { pidsLimit: o.pidsLimit } : {}),
    ...(o.rm ? { rm: true } : {}),
    ...(o.init ? { init: true } : {}),
    ...(o.ip6 ? { ip6: o.ip6 } : {}),
    ...(o.macAddress ? { macAddress: o.macAddress } : {}),
    ...(o.networkAlias ? { networkAliases: o.networkAlias } : {}),
    ...(o.dns ? { dns: o.dns } : {}),
    ...(o.dnsSearch ? { dnsSearch: o.dnsSearch } : {}),
    ...(o.dnsOption ? { dnsOptions: o.dnsOption } : {}),
    ...(o.addHost ? { addHosts: o.addHost } : {}),
    ...(o.link ? { links: o.link } : {}),
    ...(o.privileged ? { privileged: true } : {}),
    ...(o.capAdd ? { capAdd: o.capAdd } : {}),
    ...(o.capDrop ? { capDrop: o.capDrop } : {}),
    ...(o.securityOpt ? { securityOpt: o.securityOpt.map(readSeccompProfile) } : {}),
    ...(o.device ? { devices: o.device } : {}),
    ...(o.publish ? { publish: publishSpecs(o.publish) } : {}),
    ...(o.publishAll ? { publishAll: true } : {}),
    ...(o.expose ? { expose: o.expose } : {}),
    ...(o.sysctl ? { sysctls: keyValues(o.sysctl, '--sysctl') } : {}),
    ...(o.tty ? { tty: true } : {}),
    ...(o.interactive ? { openStdin: true } : {}),
    ...(o.restart ? { restart: o.restart } : {}),
    ...(o.stopSignal ? { stopSignal: o.stopSignal.toUpperCase().startsWith('SIG') ? o.stopSignal.toUpperCase() : `SIG${o.stopSignal.toUpperCase()}` } : {}),
    ...(o.stopTimeout !== undefined ? { stopTimeout: o.stopTimeout } : {}),
    ...(o.tty && process.stdout.isTTY && process.stdout.rows ? { ttySize: { rows: process.stdout.rows, cols: process.stdout.columns } } : {}),
  };
}

/**
 * The environment as Docker's CLI makes it: --env-file lines first, then -e; a NAME without "=" takes the client's
 * own value (and is left out when the client has none); blank lines and "#" comments of a file are skipped.
 */
function environment(o: RunFlags): string[] {
  const fromFiles = (o.envFile ?? []).flatMap((file) => {
    try {
      return readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#'));
    } catch (err) {
      throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `--env-file ${file}: ${(err as Error).message}`);
    }
  });
  return [...fromFiles, ...(o.env ?? [])].flatMap((e) => (e.includes('=') ? [e] : process.env[e] !== undefined ? [`${e}=${process.env[e]}`] : []));
}

/** -v and --mount into the API's mount specs; a malformed one fails as a usage error. */
function mountSpecs(o: RunFlags): MountSpec[] {
  try {
    return [...(o.volume ?? []).map(parseVolumeFlag), ...(o.mount ?? []).map(parseMountFlag)];
  } catch (err) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', (err as Error).message);
  }
}

/** seccomp=FILE is read here and its text sent, as Docker's CLI does: the daemon never reads the client's files. */
function readSeccompProfile(opt: string): string {
  const m = /^seccomp[=:](.+)$/u.exec(opt);
  if (!m || m[1] === 'unconfined' || m[1]!.trim().startsWith('{')) return opt;
  try {
    return `seccomp=${readFileSync(m[1]!, 'utf8')}`;
  } catch (err) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `--security-opt ${opt}: cannot read the profile: ${(err as Error).message}`);
  }
}

/** The flags of `run` and `create`: what the container is and how it is attached. */
export function addContainerOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'container name')
    .option('--pull <policy>', 'pull the image first: missing (when not here), always or never', 'missing')
    .option('--network <network>', 'network to join (repeatable)', collect)
    .option('--ip <address>', 'IPv4 address on the network')
    .option('--ip6 <address>', 'IPv6 address on the network')
    .option('--mac-address <mac>', 'MAC address of the interface on the network')
    .option('--network-alias <name>', 'another name of the container on the network (repeatable)', collect)
    .option('--dns <address>', 'DNS server (repeatable)', collect)
    .option('--dns-search <domain>', 'DNS search domain (repeatable)', collect)
    .option('--dns-option <option>', 'resolver option, e.g. ndots:2 (repeatable)', collect)
    .option('--add-host <name:ip>', 'a line for /etc/hosts (repeatable)', collect)
    .option('--link <container[:alias]>', "the container's address in /etc/hosts, under its name and the alias (repeatable)", collect)
    .option('--hostname <name>', 'host name')
    .option('-e, --env <key[=value]>', "environment variable; a bare KEY takes the client's value (repeatable)", collect)
    .option('--env-file <file>', 'environment variables from a file of KEY=VALUE lines (repeatable)', collect)
    .option('-w, --workdir <dir>', 'working directory inside the container (made when missing)')
    .option('-u, --user <user[:group]>', "user and group, by name (from the image's /etc/passwd and /etc/group) or number")
    .option('--entrypoint <command>', 'the program to run, with the command as its arguments')
    .option('-v, --volume <spec>', 'a volume: NAME:/path[:ro], /host/path:/path[:ro], or /path for an anonymous one (repeatable)', collect)
    .option('--mount <spec>', 'type=volume|bind|tmpfs,source=...,target=...[,readonly][,tmpfs-size=64m] (repeatable)', collect)
    .option('--volumes-from <container[:ro|rw]>', "mount that container's volumes and bind mounts (repeatable)", collect)
    .option('--read-only', 'a read-only root file system')
    .option('--tmpfs <path[:options]>', 'a tmpfs mount, e.g. /run:rw,size=64m (repeatable)', collect)
    .option('--shm-size <bytes>', 'size of /dev/shm, e.g. 128m (default 64m)')
    .option('--ulimit <name=soft[:hard]>', 'a resource limit, e.g. nofile=1024:2048 (repeatable)', collect)
    .option('--cpus <number>', 'CPUs the container may use, e.g. 0.5', (v) => Number(v))
    .option('-c, --cpu-shares <weight>', 'relative CPU weight (default 1024)', (v) => Number(v))
    .option('--memory <bytes>', 'memory limit, e.g. 64m')
    .option('--pids-limit <n>', 'maximum number of processes', (v) => Number(v))
    .option('--rm', 'remove the container when it exits')
    .option('--init', 'run an init as PID 1 that reaps zombies')
    .option('--privileged', 'give the container every capability of the daemon, no seccomp filter and no masked paths')
    .option('--cap-add <capability>', 'add a capability, e.g. NET_ADMIN, or ALL (repeatable)', collect)
    .option('--cap-drop <capability>', 'drop a capability, or ALL (repeatable)', collect)
    .option('--security-opt <option>', 'seccomp=unconfined|PROFILE.json, no-new-privileges[=true|false] (repeatable)', collect)
    .option('--device <host[:container[:rwm]]>', 'make a host device available in the container (repeatable)', collect)
    .option('-p, --publish <[ip:][hostPort:]containerPort[/proto]>', "publish a container's port on the host (repeatable; ranges as 8000-8010:80-90)", collect)
    .option('-P, --publish-all', 'publish the exposed ports on ephemeral host ports')
    .option('--expose <port[-end][/proto]>', 'expose a port, published by -P (repeatable)', collect)
    .option('--sysctl <net.key=value>', "a network sysctl of the container's namespace (repeatable)", collect)
    .option('--restart <policy>', 'no, on-failure[:N], always or unless-stopped (honoured by the daemon, also after it restarts)')
    .option('--stop-signal <signal>', 'the signal stop sends first (default SIGTERM)')
    .option('--stop-timeout <seconds>', 'seconds stop waits before SIGKILL (default 10)', (v) => Number(v))
    .option('-i, --interactive', 'keep stdin open (and, attached, pass it to the container)')
    .option('-t, --tty', 'give the process a pseudo-terminal')
    .option('--detach-keys <keys>', 'the keys that detach from the container, leaving it running', DEFAULT_DETACH_KEYS)
    .option('--sig-proxy <bool>', 'pass the signals the client gets to the container (without -t)', (v) => v !== 'false', true);
}
