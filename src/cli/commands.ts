/**
 * The client commands of `tsnet`, with Docker's words and flags. Each talks to the daemon through TsnetClient and
 * prints a table for people or JSON for scripts.
 */
import type { Command } from 'commander';
import { ApiError, TsnetClient, resolveHost } from '../client/client.js';
import { keyValues, printJson, printTable, shortId, withProgress } from './format.js';

interface NetworkView {
  id: string;
  name: string;
  driver: string;
  internal: boolean;
  owner: string;
  pools: { v4?: { subnet: string; gateway?: string }; v6?: { subnet: string } };
  containers: { container: string | null; ipv4: string | null }[];
}
interface ContainerView {
  id: string;
  name: string;
  image: string;
  command: string[];
  status: string;
  exitCode?: number;
  created: string;
  networks: Record<string, { ipv4?: string }>;
}
interface ImageView {
  name: string;
  id: string;
  created: string;
  size: number;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Docker's codes for `run`: 125 for tsnet's own failure, 126 for a command that cannot run, 127 for one not found. */
export class ExitCodeError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

export function registerClientCommands(program: Command): void {
  const client = (): TsnetClient => new TsnetClient(resolveHost(program.opts<{ host?: string }>().host));

  program
    .command('version')
    .description('show the versions of the client and of the daemon')
    .option('--format <format>', 'json for scripts')
    .action(async (o: { format?: string }) => {
      const { TSNET_VERSION } = await import('../version.js');
      const daemon = await client()
        .call<Record<string, string>>('GET', '/v1/version')
        .catch((err: Error) => ({ error: err.message }));
      if (o.format === 'json') return printJson({ client: { version: TSNET_VERSION }, daemon });
      console.log(`client: ${TSNET_VERSION}`);
      console.log('error' in daemon ? `daemon: ${daemon.error}` : `daemon: ${daemon.version} (API ${daemon.api}, Node ${daemon.node})`);
    });

  program
    .command('info')
    .description('show the daemon, its store, counts and kernel features')
    .option('--format <format>', 'json for scripts')
    .action(async (o: { format?: string }) => {
      const info = await client().call<Record<string, unknown>>('GET', '/v1/info');
      if (o.format === 'json') return printJson(info);
      const d = info.daemon as Record<string, unknown>;
      const c = info.counts as Record<string, number>;
      console.log(`daemon:     PID ${String(d.pid)}, root ${String(d.root)}, socket ${String(d.socket)}, iptables ${String(d.iptables)}`);
      console.log(`store:      ${String(info.store)}`);
      console.log(`counts:     ${c.networks} networks, ${c.containers} containers (${c.running} running), ${c.images} images, ${c.endpoints} endpoints`);
      console.log(`kernel:     ${JSON.stringify(info.kernel)}`);
    });

  const network = program.command('network').description('manage networks');
  network
    .command('create')
    .description('create a network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'bridge, host or null', 'bridge')
    .option('--subnet <cidr>', 'subnet, e.g. 10.1.0.0/24; give an IPv6 one too with --ipv6 (repeatable)', collect)
    .option('--gateway <ip>', 'gateway address')
    .option('--ip-range <cidr>', 'allocate container addresses from this range')
    .option('--ipv6', 'enable IPv6 (with a second --subnet that is IPv6)')
    .option('--internal', 'no route out, no NAT')
    .option('-o, --opt <key=value>', 'driver option (repeatable)', collect)
    .option('--label <key=value>', 'label (repeatable)', collect)
    .action(async (name: string, o: { driver: string; subnet?: string[]; gateway?: string; ipRange?: string; ipv6?: boolean; internal?: boolean; opt?: string[]; label?: string[] }) => {
      const v4 = o.subnet?.find((s) => !s.includes(':'));
      const v6 = o.subnet?.find((s) => s.includes(':'));
      const n = await client().call<NetworkView>('POST', '/v1/networks', {
        name,
        driver: o.driver,
        ...(v4 ? { subnet: v4 } : {}),
        ...(v6 ? { subnet6: v6 } : {}),
        ...(o.gateway ? { gateway: o.gateway } : {}),
        ...(o.ipRange ? { ipRange: o.ipRange } : {}),
        ...(o.internal ? { internal: true } : {}),
        ...(o.opt ? { options: keyValues(o.opt, 'option') } : {}),
        ...(o.label ? { labels: keyValues(o.label, 'label') } : {}),
        ...(o.ipv6 ? { ipv6: true } : {}),
      });
      console.log(n.id);
    });
  network
    .command('ls')
    .description('list networks')
    .option('-q, --quiet', 'only ids')
    .option('--format <format>', 'json for scripts')
    .action(async (o: { quiet?: boolean; format?: string }) => {
      const list = await client().call<NetworkView[]>('GET', '/v1/networks');
      if (o.format === 'json') return printJson(list);
      if (o.quiet) return list.forEach((n) => console.log(shortId(n.id)));
      printTable(
        ['NETWORK ID', 'NAME', 'DRIVER', 'SUBNET', 'CONTAINERS', 'OWNER'],
        list.map((n) => [shortId(n.id), n.name, n.driver, n.pools.v4?.subnet ?? '-', String(n.containers.length), n.owner === 'docker' ? 'docker' : 'tsnet']),
      );
    });
  network
    .command('inspect')
    .description('show networks in detail')
    .argument('<network...>')
    .action(async (refs: string[]) => printJson(await Promise.all(refs.map((r) => client().call('GET', `/v1/networks/${encodeURIComponent(r)}`)))));
  network
    .command('rm')
    .description('remove networks')
    .argument('<network...>')
    .action(async (refs: string[]) => {
      let failed = 0;
      for (const r of refs) {
        try {
          await client().call('DELETE', `/v1/networks/${encodeURIComponent(r)}`);
          console.log(r);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          failed++;
          console.error(`tsnet: ${err.message}`);
        }
      }
      if (failed) process.exitCode = 1;
    });
  network
    .command('prune')
    .description('remove every network that no container uses')
    .action(async () => {
      const { deleted } = await client().call<{ deleted: string[] }>('POST', '/v1/networks/prune');
      console.log(deleted.length ? `Deleted networks:\n${deleted.join('\n')}` : 'no unused network');
    });
  network
    .command('connect')
    .description('connect a container to a network')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <address>', 'IPv4 address')
    .option('--alias <name>', 'network-scoped alias (repeatable)', collect)
    .action(async (net: string, container: string, o: { ip?: string; alias?: string[] }) => {
      await client().call('POST', `/v1/networks/${encodeURIComponent(net)}/connect`, { container, ...(o.ip ? { ip: o.ip } : {}), ...(o.alias ? { aliases: o.alias } : {}) });
    });
  network
    .command('disconnect')
    .description('disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'force')
    .action(async (net: string, container: string, o: { force?: boolean }) => {
      await client().call('POST', `/v1/networks/${encodeURIComponent(net)}/disconnect`, { container, ...(o.force ? { force: true } : {}) });
    });

  const image = program.command('image').description('manage images');
  image
    .command('import')
    .description('import a root filesystem tarball (as docker export writes it, gzip too)')
    .argument('<file>')
    .argument('<name>')
    .action(async (file: string, name: string) => {
      const { resolve } = await import('node:path');
      const img = await withProgress('importing', client().call<ImageView>('POST', '/v1/images/import', { file: resolve(file), name }));
      console.log(img.id);
    });
  image
    .command('busybox')
    .description("build the busybox image from Debian's busybox-static package")
    .option('--name <name>', 'image name', 'busybox:latest')
    .action(async (o: { name: string }) => {
      const img = await withProgress('building the busybox image', client().call<ImageView>('POST', '/v1/images/busybox', { name: o.name }));
      console.log(img.id);
    });
  image
    .command('ls')
    .description('list images')
    .option('--format <format>', 'json for scripts')
    .action(async (o: { format?: string }) => {
      const list = await client().call<ImageView[]>('GET', '/v1/images');
      if (o.format === 'json') return printJson(list);
      printTable(['NAME', 'IMAGE ID', 'CREATED', 'SIZE'], list.map((i) => [i.name, shortId(i.id), i.created, `${(i.size / 1e6).toFixed(1)}MB`]));
    });
  image
    .command('rm')
    .description('remove images')
    .argument('<image...>')
    .action(async (refs: string[]) => {
      for (const r of refs) await client().call('DELETE', `/v1/images/${encodeURIComponent(r)}`);
    });

  program
    .command('run')
    .description('run a command in a new container')
    .argument('<image>')
    .argument('[command...]')
    .option('-d, --detach', 'run in the background and print the container id')
    .option('--name <name>', 'container name')
    .option('--network <network>', 'network to join (repeatable)', collect)
    .option('--ip <address>', 'IPv4 address on the network')
    .option('--hostname <name>', 'host name')
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect)
    .option('--memory <bytes>', 'memory limit, e.g. 64m')
    .option('--pids-limit <n>', 'maximum number of processes', (v) => Number(v))
    .option('--rm', 'remove the container when it exits')
    .option('--init', 'run an init as PID 1 that reaps zombies')
    .passThroughOptions()
    .action(async (img: string, command: string[], o: { detach?: boolean; name?: string; network?: string[]; ip?: string; hostname?: string; env?: string[]; memory?: string; pidsLimit?: number; rm?: boolean; init?: boolean }) => {
      const c = client();
      let created: ContainerView;
      try {
        created = await c.call<ContainerView>('POST', '/v1/containers', {
          image: img,
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
        });
      } catch (err) {
        if (!(err instanceof ApiError)) throw err;
        throw new ExitCodeError(err.message, /exec: ENOENT/u.test(err.message) ? 127 : /exec: EACCES/u.test(err.message) ? 126 : 125);
      }
      if (o.detach) return console.log(created.id);
      await c.stream(`/v1/containers/${created.id}/logs?follow=true`, (chunk) => process.stdout.write(chunk));
      const { exitCode } = await c.call<{ exitCode: number }>('POST', `/v1/containers/${created.id}/wait`);
      if (o.rm) await c.call('DELETE', `/v1/containers/${created.id}`);
      process.exitCode = exitCode;
    });

  program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default: running ones)')
    .option('-q, --quiet', 'only ids')
    .option('--format <format>', 'json for scripts')
    .action(async (o: { all?: boolean; quiet?: boolean; format?: string }) => {
      const list = await client().call<ContainerView[]>('GET', `/v1/containers${o.all ? '?all=true' : ''}`);
      if (o.format === 'json') return printJson(list);
      if (o.quiet) return list.forEach((c) => console.log(shortId(c.id)));
      printTable(
        ['CONTAINER ID', 'NAME', 'IMAGE', 'COMMAND', 'STATUS', 'NETWORKS'],
        list.map((c) => [
          shortId(c.id),
          c.name,
          c.image,
          JSON.stringify(c.command.join(' ').slice(0, 30)),
          c.status === 'exited' ? `exited (${c.exitCode ?? '?'})` : c.status,
          Object.entries(c.networks)
            .map(([n, e]) => (e.ipv4 ? `${n}:${e.ipv4}` : n))
            .join(', '),
        ]),
      );
    });

  program
    .command('exec')
    .description('run a command in a running container')
    .argument('<container>')
    .argument('<command...>')
    .option('-e, --env <key=value>', 'environment variable (repeatable)', collect)
    .passThroughOptions()
    .action(async (ref: string, command: string[], o: { env?: string[] }) => {
      const r = await client().call<{ exitCode: number; stdout: string; stderr: string }>('POST', `/v1/containers/${encodeURIComponent(ref)}/exec`, { command, ...(o.env ? { env: o.env } : {}) });
      process.stdout.write(r.stdout);
      process.stderr.write(r.stderr);
      process.exitCode = r.exitCode;
    });

  program
    .command('logs')
    .description("show a container's output")
    .argument('<container>')
    .option('-f, --follow', 'follow until the container exits')
    .action(async (ref: string, o: { follow?: boolean }) => {
      await client().stream(`/v1/containers/${encodeURIComponent(ref)}/logs${o.follow ? '?follow=true' : ''}`, (chunk) => process.stdout.write(chunk));
    });

  program
    .command('stop')
    .description('stop containers: SIGTERM, then SIGKILL after the timeout')
    .argument('<container...>')
    .option('-t, --time <seconds>', 'seconds to wait before killing', (v) => Number(v), 10)
    .action(async (refs: string[], o: { time: number }) => {
      for (const r of refs) {
        await withProgress(`stopping ${r}`, client().call('POST', `/v1/containers/${encodeURIComponent(r)}/stop`, { timeout: o.time }));
        console.log(r);
      }
    });

  program
    .command('rm')
    .description('remove containers')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], o: { force?: boolean }) => {
      for (const r of refs) {
        await client().call('DELETE', `/v1/containers/${encodeURIComponent(r)}${o.force ? '?force=true' : ''}`);
        console.log(r);
      }
    });

  program
    .command('inspect')
    .description('show containers in detail')
    .argument('<container...>')
    .action(async (refs: string[]) => printJson(await Promise.all(refs.map((r) => client().call('GET', `/v1/containers/${encodeURIComponent(r)}`)))));
}
