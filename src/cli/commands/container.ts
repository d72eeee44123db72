/** `tsnet run/ps/exec/logs/stop/rm/inspect`, with Docker's words, flags and exit statuses. */
import { readFileSync } from 'node:fs';
import type { ContainerView, ExecBody, ExecResult, PortSpec, RunBody, StopBody, WaitResult } from '../../api/containers.js';
import { formatBinding, parsePublish } from '../../lib/port-syntax.js';
import { ClientError } from '../../client/client.js';
import { collect, type Cli } from '../context.js';
import { CliFailure, runExitStatus } from '../errors.js';
import { parseFilters, passes } from '../filters.js';
import { dockerContainer } from '../docker-shape.js';
import { formatOption, inspectFormatOption, keyValues, printInspected, printTable, shortId, withProgress } from '../format.js';

interface RunFlags {
  detach?: boolean;
  name?: string;
  network?: string[];
  ip?: string;
  hostname?: string;
  env?: string[];
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
}

/** -p values into the API's specs; a malformed one fails as a usage error, before the daemon is asked. */
function publishSpecs(values: readonly string[]): PortSpec[] {
  try {
    return values.map(parsePublish);
  } catch (err) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', (err as Error).message);
  }
}

function runRequest(image: string, command: string[], o: RunFlags): RunBody {
  return {
    image,
    command,
    ...(o.name ? { name: o.name } : {}),
    ...(o.network ? { networks: o.network } : {}),
    ...(o.ip ? { ip: o.ip } : {}),
    ...(o.hostname ? { hostname: o.hostname } : {}),
    ...(o.env ? { env: o.env } : {}),
    ...(o.memory ? { memory: o.memory } : {}),
    ...(o.pidsLimit !== undefined ? { pidsLimit: o.pidsLimit } : {}),
    // Attached, the client removes the container after it has read all of its output.
    ...(o.rm && o.detach ? { rm: true } : {}),
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
  };
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

const containerPath = (ref: string, tail = ''): string => `/v1/containers/${encodeURIComponent(ref)}${tail}`;

function registerRun(cli: Cli): void {
  cli.program
    .command('run')
    .description('run a command in a new container')
    .argument('<image>')
    .argument('[command...]')
    .option('-d, --detach', 'run in the background and print the container id')
    .option('--name <name>', 'container name')
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
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect)
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
    .passThroughOptions()
    // As docker run: a usage error exits 125 (help still exits 0).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 125))
    .action(async (image: string, command: string[], o: RunFlags) => {
      const c = cli.client();
      const created = await Promise.resolve()
        .then(() => c.call<ContainerView>('POST', '/v1/containers', runRequest(image, command, o)))
        .catch((err: unknown) => {
          throw err instanceof ClientError ? new CliFailure(err, runExitStatus(err)) : err;
        });
      if (o.detach) return console.log(created.id);
      await c.stream(containerPath(created.id, '/logs?follow=true'), (chunk) => process.stdout.write(chunk));
      const { exitCode } = await c.call<WaitResult>('POST', containerPath(created.id, '/wait'));
      if (o.rm) await c.call('DELETE', containerPath(created.id));
      if (exitCode === null) throw new CliFailure(new ClientError('TSNET_ERR_INTERNAL', `the exit status of container ${created.name} is unknown`), 125);
      process.exitCode = exitCode;
    });
}

function registerPs(cli: Cli): void {
  cli.program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default: running ones)')
    .option('-q, --quiet', 'only ids')
    .option('-f, --filter <key=value>', 'name, id, status or network (repeatable)', collect)
    .option('--no-trunc', 'whole ids and commands')
    .addOption(formatOption())
    .action(async (o: { all?: boolean; quiet?: boolean; format?: string; filter?: string[]; trunc: boolean }) => {
      const filters = parseFilters(o.filter, ['name', 'id', 'status', 'network']);
      // As docker ps: a status filter looks at every container, not only the running ones.
      const all = o.all || filters.has('status');
      const list = (await cli.client().call<ContainerView[]>('GET', `/v1/containers${all ? '?all=true' : ''}`)).filter((c) =>
        passes(filters, (key, v) =>
          key === 'name' ? c.name.includes(v) : key === 'id' ? c.id.startsWith(v) : key === 'status' ? c.status === v : v in c.networks,
        ),
      );
      const id = (full: string): string => (o.trunc ? shortId(full) : full);
      // As docker ps --format json: one JSON object per line, for line-by-line tools.
      if (o.format === 'json') return list.forEach((c) => console.log(JSON.stringify(c)));
      if (o.quiet) return list.forEach((c) => console.log(id(c.id)));
      printTable(
        ['CONTAINER ID', 'NAME', 'IMAGE', 'COMMAND', 'STATUS', 'NETWORKS'],
        list.map((c) => [
          id(c.id),
          c.name,
          c.image,
          JSON.stringify(o.trunc ? c.command.join(' ').slice(0, 30) : c.command.join(' ')),
          c.status === 'exited' ? `exited (${c.exitCode ?? '?'})` : c.status,
          Object.entries(c.networks)
            .map(([n, e]) => (e.ipv4 ? `${n}:${e.ipv4}` : n))
            .join(', '),
        ]),
      );
    });
}

function registerExecAndLogs(cli: Cli): void {
  cli.program
    .command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect)
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: { env?: string[] }) => {
      const body: ExecBody = { command, ...(o.env ? { env: o.env } : {}) };
      const r = await cli.client().call<ExecResult>('POST', containerPath(ref, '/exec'), body);
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    });

  cli.program
    .command('logs')
    .description("show a container's output")
    .argument('<container>')
    .option('-f, --follow', 'follow until the container exits')
    .action(async (ref: string, o: { follow?: boolean }) => {
      await cli.client().stream(containerPath(ref, `/logs${o.follow ? '?follow=true' : ''}`), (chunk) => process.stdout.write(chunk));
    });
}

function registerLifecycle(cli: Cli): void {
  cli.program
    .command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after the timeout')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'seconds to wait before killing', (v) => Number(v), 10)
    .action(async (refs: string[], o: { time: number }) => {
      for (const r of refs) {
        const body: StopBody = { timeout: o.time };
        await withProgress(`stopping ${r}`, cli.client().call('POST', containerPath(r, '/stop'), body));
        console.log(r);
      }
    });

  cli.program
    .command('rm')
    .description('remove containers')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], o: { force?: boolean }) => {
      for (const r of refs) {
        await cli.client().call('DELETE', containerPath(r, o.force ? '?force=true' : ''));
        console.log(r);
      }
    });

  cli.program
    .command('inspect')
    .description('show containers in detail')
    .argument('<container...>')
    .addOption(inspectFormatOption())
    .action(async (refs: string[], o: { format?: string }) => {
      const views = await Promise.all(refs.map((r) => cli.client().call<ContainerView>('GET', containerPath(r))));
      printInspected(views.map(dockerContainer), o.format);
    });
}

function registerPort(cli: Cli): void {
  cli.program
    .command('port')
    .description("list a container's published ports, or the host addresses of one of them")
    .argument('<container>')
    .argument('[port]', 'PORT[/PROTO]')
    .action(async (ref: string, port: string | undefined) => {
      const c = await cli.client().call<ContainerView>('GET', containerPath(ref));
      const [number, proto = 'tcp'] = (port ?? '').split('/');
      const ports = (c.ports ?? []).filter((p) => !port || (String(p.containerPort) === number && p.protocol === proto));
      if (port && ports.length === 0) throw new ClientError('TSNET_ERR_NOT_FOUND', `no public port '${number}/${proto}' published for ${c.name}`);
      const sorted = [...ports].sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
      for (const p of sorted) console.log(port ? formatBinding(p).replace(/^.* -> /u, '') : formatBinding(p));
    });
}

export function registerContainerCommands(cli: Cli): void {
  registerPort(cli);
  registerRun(cli);
  registerPs(cli);
  registerExecAndLogs(cli);
  registerLifecycle(cli);
}
