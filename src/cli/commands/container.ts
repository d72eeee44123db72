/** `tsnet run/ps/exec/logs/stop/rm/inspect`, with Docker's words, flags and exit statuses. */
import type { ContainerView } from '../../api/containers.js';
import { formatBinding } from '../../lib/port-syntax.js';
import { ClientError } from '../../client/client.js';
import { ensureImage } from '../image-pull.js';
import { collect, type Cli } from '../context.js';
import { addContainerOptions, runRequest, type RunFlags } from './run-options.js';
import { registerLifecycle } from './lifecycle.js';
import { attachTo, containerPath, registerStreamCommands } from './streams.js';
import { CliFailure, runExitStatus } from '../errors.js';
import { labelMatches, parseFilters, passes } from '../filters.js';
import { dockerContainer } from '../docker-shape.js';
import { formatOption, inspectFormatOption, printInspected, printTable, shortId } from '../format.js';

function registerRun(cli: Cli): void {
  const run = cli.program
    .command('run')
    .description('run a command in a new container')
    .argument('<image>')
    .argument('[command...]')
    .option('-d, --detach', 'run in the background and print the container id');
  addContainerOptions(run)
    .passThroughOptions()
    // As docker run: a usage error exits 125 (help still exits 0).
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 125))
    .action(async (image: string, command: string[], o: RunFlags & { detach?: boolean }) => {
      const c = cli.client();
      const created = await ensureImage(c, image, o.pull)
        .then(() => c.call<ContainerView>('POST', '/v1/containers', { ...runRequest(image, command, o), ...(o.detach ? {} : { attach: true }) }))
        .catch((err: unknown) => {
          throw err instanceof ClientError ? new CliFailure(err, runExitStatus(err)) : err;
        });
      if (o.detach) return console.log(created.id);
      await attachTo(cli, created, { ...o, stdin: o.interactive === true, tty: o.tty === true, rm: o.rm === true });
    });
}

function registerPs(cli: Cli): void {
  cli.program
    .command('ps')
    .description('list containers')
    .option('-a, --all', 'show all containers (default: running ones)')
    .option('-q, --quiet', 'only ids')
    .option('-f, --filter <key=value>', 'name, id, status, network or label (repeatable)', collect)
    .option('--no-trunc', 'whole ids and commands')
    .addOption(formatOption())
    .action(async (o: { all?: boolean; quiet?: boolean; format?: string; filter?: string[]; trunc: boolean }) => {
      const filters = parseFilters(o.filter, ['name', 'id', 'status', 'network', 'label']);
      // As docker ps: a status filter looks at every container, not only the running ones.
      const all = o.all || filters.has('status');
      // As docker ps: values of one key are alternatives, except labels, which must all match.
      const { label: labels = [], ...others } = Object.fromEntries(filters);
      const list = (await cli.client().call<ContainerView[]>('GET', `/v1/containers${all ? '?all=true' : ''}`)).filter(
        (c) =>
          passes(new Map(Object.entries(others)), (key, v) =>
            key === 'name' ? c.name.includes(v) : key === 'id' ? c.id.startsWith(v) : key === 'status' ? c.status === v : v in c.networks,
          ) && labels.every((v) => labelMatches(c.labels ?? {}, v)),
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

function registerInspect(cli: Cli): void {
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
  registerStreamCommands(cli);
  registerInspect(cli);
  registerLifecycle(cli);
}
