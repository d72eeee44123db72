/** `tsnet network create/ls/inspect/rm/prune/connect/disconnect`, with Docker's flags. */
import type { ConnectBody, NetworkCreate, NetworkView, PruneBody, PruneResult } from '../../api/networks.js';
import type { Command } from 'commander';
import { ApiError, ClientError } from '../../client/client.js';
import { collect, type Cli } from '../context.js';
import { errorLine } from '../errors.js';
import { labelMatches, parseFilters, passes, type Filters } from '../filters.js';
import { dockerNetwork } from '../docker-shape.js';
import { formatOption, inspectFormatOption, keyValues, printInspected, printJson, printTable, shortId } from '../format.js';

interface CreateFlags {
  driver: string;
  subnet?: string[];
  gateway?: string[];
  auxAddress?: string[];
  ipRange?: string;
  ipv6?: boolean;
  internal?: boolean;
  opt?: string[];
  label?: string[];
}

/** The create request from the flags: an IPv4 --subnet and, with --ipv6, an IPv6 one. */
function createRequest(name: string, o: CreateFlags): NetworkCreate {
  const v4 = o.subnet?.find((s) => !s.includes(':'));
  const v6 = o.subnet?.find((s) => s.includes(':'));
  // As docker network create: one --gateway per subnet, matched by family.
  const gw4 = o.gateway?.find((g) => !g.includes(':'));
  const gw6 = o.gateway?.find((g) => g.includes(':'));
  return {
    name,
    driver: o.driver as NonNullable<NetworkCreate['driver']>,
    ...(v4 ? { subnet: v4 } : {}),
    ...(v6 ? { subnet6: v6 } : {}),
    ...(gw4 ? { gateway: gw4 } : {}),
    ...(gw6 ? { gateway6: gw6 } : {}),
    ...(o.auxAddress ? { auxAddresses: keyValues(o.auxAddress, 'aux address') } : {}),
    ...(o.ipRange ? { ipRange: o.ipRange } : {}),
    ...(o.internal ? { internal: true } : {}),
    ...(o.opt ? { options: keyValues(o.opt, 'option') } : {}),
    ...(o.label ? { labels: keyValues(o.label, 'label') } : {}),
    ...(o.ipv6 ? { ipv6: true } : {}),
  };
}

export function registerNetworkCommands(cli: Cli): void {
  const network = cli.program.command('network').description('manage networks');

  network
    .command('create')
    .description('create a network')
    .argument('<name>')
    .option('-d, --driver <driver>', 'bridge, host, null, or overlay (across the hosts of a cluster)', 'bridge')
    .option('--subnet <cidr>', 'subnet, e.g. 10.1.0.0/24; give an IPv6 one too with --ipv6 (repeatable)', collect)
    .option('--gateway <ip>', 'gateway address, one per subnet (repeatable)', collect)
    .option('--aux-address <name=ip>', 'an address of the subnet the network must not give out (repeatable)', collect)
    .option('--ip-range <cidr>', 'allocate container addresses from this range')
    .option('--ipv6', 'enable IPv6 (with a second --subnet that is IPv6, else a free /64 of fd00::/8)')
    .option('--internal', 'no route out, no NAT')
    .option('-o, --opt <key=value>', 'driver option (repeatable)', collect)
    .option('--label <key=value>', 'label (repeatable)', collect)
    .action(async (name: string, o: CreateFlags) => {
      const n = await cli.client().call<NetworkView>('POST', '/v1/networks', createRequest(name, o));
      console.log(n.id);
    });

  network
    .command('ls')
    .description('list networks')
    .option('-q, --quiet', 'only ids')
    .option('-f, --filter <key=value>', 'name, id, label, driver or scope (repeatable)', collect)
    .option('--no-trunc', 'whole ids')
    .addOption(formatOption())
    .action(async (o: { quiet?: boolean; format?: string; filter?: string[]; trunc: boolean }) => {
      const filters = parseFilters(o.filter, ['name', 'id', 'label', 'driver', 'scope']);
      const matches = (n: NetworkView, key: string, v: string): boolean =>
        key === 'name'
          ? n.name.includes(v)
          : key === 'id'
            ? n.id.startsWith(v)
            : key === 'driver'
              ? n.driver === v
              : key === 'scope'
                ? n.scope === v
                : labelMatches(n.labels, v);
      const list = (await cli.client().call<NetworkView[]>('GET', '/v1/networks')).filter((n) => passes(filters, (key, v) => matches(n, key, v)));
      const id = (full: string): string => (o.trunc ? shortId(full) : full);
      if (o.format === 'json') return printJson(list);
      if (o.quiet) return list.forEach((n) => console.log(id(n.id)));
      printTable(
        ['NETWORK ID', 'NAME', 'DRIVER', 'SCOPE', 'SUBNET', 'CONTAINERS', 'OWNER'],
        list.map((n) => [id(n.id), n.name, n.driver, n.scope, n.pools.v4?.subnet ?? '-', String(n.containers.length), n.owner]),
      );
    });

  network
    .command('inspect')
    .description('show networks in detail')
    .argument('<network...>')
    .addOption(inspectFormatOption())
    .action(async (refs: string[], o: { format?: string }) => {
      const views = await Promise.all(refs.map((r) => cli.client().call<NetworkView>('GET', networkPath(r))));
      printInspected(views.map(dockerNetwork), o.format);
    });

  registerNetworkRemoval(cli, network);
  registerNetworkAttachment(cli, network);
}

const networkPath = (ref: string, tail = ''): string => `/v1/networks/${encodeURIComponent(ref)}${tail}`;

function registerNetworkRemoval(cli: Cli, network: Command): void {
  network
    .command('rm')
    .description('remove networks')
    .argument('<network...>')
    .action(async (refs: string[]) => {
      // As Docker: each network is tried; the failures are reported and the exit status says some failed.
      let failed = 0;
      for (const r of refs) {
        try {
          await cli.client().call('DELETE', networkPath(r));
          console.log(r);
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          failed++;
          console.error(errorLine(err));
        }
      }
      if (failed) process.exitCode = 1;
    });

  network
    .command('prune')
    .description('remove every network that no container uses')
    .option('-f, --force', 'do not ask for confirmation')
    .option('--filter <key=value>', 'until=TIMESTAMP|DURATION (e.g. 24h), label=KEY[=VALUE] (repeatable)', collect)
    .action(async (o: { force?: boolean; filter?: string[] }) => {
      const body = pruneBody(parseFilters(o.filter, ['until', 'label']));
      if (!o.force && !(await confirm('WARNING! This will remove all custom networks not used by at least one container.'))) return;
      const { deleted } = await cli.client().call<PruneResult>('POST', '/v1/networks/prune', body);
      console.log(deleted.length ? `Deleted networks:\n${deleted.join('\n')}` : 'no unused network');
    });
}

/** "24h", "90m", "30s" or a timestamp, as Docker's until filter takes them, into an RFC 3339 time. */
function untilTime(text: string): string {
  const d = /^(\d+)(s|m|h)$/u.exec(text);
  const ms = d ? Date.now() - Number(d[1]) * { s: 1000, m: 60_000, h: 3_600_000 }[d[2] as 's' | 'm' | 'h'] : Date.parse(text);
  if (!Number.isFinite(ms)) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid until filter "${text}": use a duration (24h, 90m) or a timestamp`);
  return new Date(ms).toISOString();
}

function pruneBody(filters: Filters): PruneBody {
  const until = filters.get('until');
  if (until && until.length > 1) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'give the until filter once');
  return { ...(until ? { until: untilTime(until[0]!) } : {}), ...(filters.get('label') ? { labels: [...filters.get('label')!] } : {}) };
}

/**
 * Asks on the terminal, as Docker does; without a terminal nothing can confirm, so the answer is no and the command
 * fails, telling how to proceed.
 */
async function confirm(warning: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'nothing removed: there is no terminal to confirm on (use --force)');
  }
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    const answer = await rl.question(`${warning}\nAre you sure you want to continue? [y/N] `);
    return /^y(es)?$/iu.test(answer.trim());
  } finally {
    rl.close();
  }
}

function registerNetworkAttachment(cli: Cli, network: Command): void {
  addConnectCommands(network, cli);
}

/** `connect`/`disconnect NETWORK CONTAINER`, under `network` and, as short forms, at the top. */
export function addConnectCommands(parent: Command, cli: Cli): void {
  parent
    .command('connect')
    .description('connect a container to a network (a stopped one joins it at its next start)')
    .argument('<network>')
    .argument('<container>')
    .option('--ip <address>', 'IPv4 address')
    .option('--ip6 <address>', 'IPv6 address')
    .option('--alias <name>', 'network-scoped alias (repeatable)', collect)
    .action(async (net: string, container: string, o: { ip?: string; ip6?: string; alias?: string[] }) => {
      const body: ConnectBody = { container, ...(o.ip ? { ip: o.ip } : {}), ...(o.ip6 ? { ip6: o.ip6 } : {}), ...(o.alias ? { aliases: o.alias } : {}) };
      await cli.client().call('POST', networkPath(net, '/connect'), body);
    });

  parent
    .command('disconnect')
    .description('disconnect a container from a network')
    .argument('<network>')
    .argument('<container>')
    .option('-f, --force', 'force')
    .action(async (net: string, container: string, o: { force?: boolean }) => {
      const body: ConnectBody = { container, ...(o.force ? { force: true } : {}) };
      await cli.client().call('POST', networkPath(net, '/disconnect'), body);
    });
}
