/**
 * `tsnet lab deploy/destroy/inspect/exec/ls/graph` (and `lab link`, `lab events`, `lab doctor`: lab-links.ts; `lab run`:
 * lab-run.ts): containerlab's topology files, run by the daemon. The CLI reads the files (and the companion
 * NAME.tsnet.yml beside them) and sends their text with the values of the variables they name; the daemon parses,
 * checks and deploys.
 */
import { writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { LabDeployBody, LabExecResult, LabGraphResult, LabView } from '../../api/labs.js';
import { ClientError } from '../../client/client.js';
import type { Cli } from '../context.js';
import { registerLabLinks } from './lab-links.js';
import { registerLabRun } from './lab-run.js';
import { deploy, filesBody, read } from './lab-common.js';
import { formatOption, printJson, printTable, withProgress } from '../format.js';

function printLab(lab: LabView): void {
  printTable(
    ['#', 'NAME', 'KIND', 'IMAGE', 'STATE', 'IPV4 ADDRESS', 'IPV6 ADDRESS'],
    lab.nodes.map((n, i) => [String(i + 1), n.container ?? n.name, n.kind, n.image ?? '-', n.status, n.mgmtIpv4 ?? 'N/A', n.mgmtIpv6 ?? 'N/A']),
  );
  const failed = (lab.exec ?? []).filter((e) => e.exitCode !== 0);
  for (const e of failed) console.error(`exec on ${e.node} failed (${e.exitCode}): ${e.command}: ${e.stderr.trim()}`);
}

/** A deploy on a terminal: each step on one line of stderr as the daemon reports it, then the lab. */
function registerDeploy(cli: Cli, lab: Command): void {
  lab
    .command('deploy')
    .description('deploy a containerlab topology: its nodes as containers, its links as veth pairs')
    .requiredOption('-t, --topo <file>', 'the topology file (containerlab format)')
    .option('--with <file>', "tsnet's additions (addresses, routes); default: NAME.tsnet.yml beside the file")
    .option('--reconfigure', 'destroy the lab first if it is deployed')
    .option('--events', "start the companion file's scheduled events once the lab is up (see lab events)")
    .addOption(formatOption())
    .action(async (o: { topo: string; with?: string; reconfigure?: boolean; events?: boolean; format?: string }) => {
      const body: LabDeployBody = { ...filesBody(o.topo, o.with), ...(o.reconfigure ? { reconfigure: true } : {}), ...(o.events ? { events: true } : {}) };
      const view = await deploy(cli, body, o.format === 'json');
      if (o.format === 'json') return printJson(view);
      printLab(view);
    });
}

/** The lab's name from -t FILE (its top-level `name:`) or --name. */
function labName(o: { topo?: string; name?: string }): string {
  if (o.name) return o.name;
  if (!o.topo) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'give the lab: -t FILE or --name LAB');
  const m = /^name:\s*["']?([^\s"'#]+)/mu.exec(read(o.topo, 'topology file'));
  if (!m) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `${o.topo} has no top-level name`);
  return m[1]!;
}

function registerLifecycle(cli: Cli, lab: Command): void {
  lab
    .command('destroy')
    .description("remove a lab's containers, links and bridges")
    .option('-t, --topo <file>', 'the topology file')
    .option('--name <lab>', "the lab's name")
    .option('--cleanup', "also remove the lab's saved topology")
    .action(async (o: { topo?: string; name?: string; cleanup?: boolean }) => {
      const name = labName(o);
      await withProgress(`destroying ${name}`, cli.client().call('DELETE', `/v1/labs/${encodeURIComponent(name)}${o.cleanup ? '?cleanup=true' : ''}`));
      console.log(name);
    });

  lab
    .command('inspect')
    .description("a lab's nodes, their state and addresses")
    .option('--name <lab>', "the lab's name")
    .option('-t, --topo <file>', 'the topology file')
    .option('-a, --all', 'every lab')
    .addOption(formatOption())
    .action(async (o: { name?: string; topo?: string; all?: boolean; format?: string }) => {
      const labs = o.all
        ? await cli.client().call<LabView[]>('GET', '/v1/labs')
        : [await cli.client().call<LabView>('GET', `/v1/labs/${encodeURIComponent(labName(o))}`)];
      if (o.format === 'json') return printJson(o.all ? labs : labs[0]);
      labs.forEach(printLab);
    });

  lab
    .command('ls')
    .description('the labs the daemon runs')
    .addOption(formatOption())
    .action(async (o: { format?: string }) => {
      const labs = await cli.client().call<LabView[]>('GET', '/v1/labs');
      if (o.format === 'json') return printJson(labs);
      printTable(
        ['NAME', 'STATUS', 'NODES', 'LINKS', 'CREATED'],
        labs.map((l) => [l.name, l.status, String(l.nodes.length), String(l.links.length), l.created]),
      );
    });
}

function registerExec(cli: Cli, lab: Command): void {
  lab
    .command('exec')
    .description('run a command in a node of a lab, or in all of them')
    .requiredOption('--name <lab>', "the lab's name")
    .option('--all', 'every linux node')
    .argument('<words...>', 'NODE COMMAND..., or with --all only COMMAND...')
    .passThroughOptions()
    .action(async (args: string[], o: { name: string; all?: boolean }) => {
      // A "--" before the command is not part of it; without --all the first word is the node.
      const words = args.filter((w, i) => !(w === '--' && i <= 1));
      const [node, ...rest] = words;
      const cmd = o.all ? words : rest;
      if (cmd.length === 0) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'no command to run');
      const results = await cli
        .client()
        .call<LabExecResult[]>('POST', `/v1/labs/${encodeURIComponent(o.name)}/exec`, { command: cmd, ...(o.all ? { all: true } : { node }) });
      for (const r of results) {
        if (o.all) console.log(`--- ${r.node} (${r.exitCode})`);
        process.stdout.write(r.stdout);
        process.stderr.write(r.stderr);
      }
      process.exitCode = results.some((r) => r.exitCode !== 0) ? (results.length === 1 ? results[0]!.exitCode : 1) : 0;
    });
}

function registerGraph(cli: Cli, lab: Command): void {
  lab
    .command('graph')
    .description('draw a topology (also one with kinds tsnet cannot run)')
    .requiredOption('-t, --topo <file>', 'the topology file')
    .addOption(
      new Option('--format <format>', 'dot and mermaid to stdout; svg and png beside the file').choices(['dot', 'mermaid', 'svg', 'png']).default('dot'),
    )
    .option('-o, --output <path>', 'where to write it')
    .option('--with <file>', "tsnet's additions")
    .action(async (o: { topo: string; format: string; output?: string; with?: string }) => {
      const text = (
        await cli.client().call<LabGraphResult>('POST', '/v1/labs/graph', { ...filesBody(o.topo, o.with), format: o.format === 'mermaid' ? 'mermaid' : 'dot' })
      ).text;
      if (o.format === 'dot' || o.format === 'mermaid') {
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
        return;
      }
      const out = o.output ?? join(dirname(o.topo), `${basename(o.topo).replace(/(\.clab)?\.ya?ml$/u, '')}.${o.format}`);
      const { spawnSync } = await import('node:child_process');
      const r = spawnSync('dot', [`-T${o.format}`, '-o', out], { input: text });
      if (r.error || r.status !== 0) {
        throw new ClientError(
          'TSNET_ERR_INVALID_ARGUMENT',
          `Graphviz's dot could not draw it: ${r.error?.message ?? r.stderr.toString().trim()} (scripts/setup.sh installs graphviz)`,
        );
      }
      console.log(out);
    });
}

export function registerLabCommands(cli: Cli): void {
  const lab = cli.program.command('lab').description('network labs: containerlab topologies of containers');
  registerDeploy(cli, lab);
  registerLifecycle(cli, lab);
  registerExec(cli, lab);
  registerGraph(cli, lab);
  registerLabLinks(cli, lab);
  registerLabRun(cli, lab);
}
