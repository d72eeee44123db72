/**
 * `tsnet lab run -t FILE`: deploys the lab with its scheduled events, runs its experiments, writes the report
 * (OUT/report.json, the charts as SVG and PNG, OUT/index.html), destroys the lab (unless --keep), and exits as the report says: 0 every assertion holds, 1 one
 * failed, 2 the experiment could not run.
 */
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { LabGraphResult, LabRunReport } from '../../api/labs.js';
import type { Cli } from '../context.js';
import { CliFailure } from '../errors.js';
import { formatOption, printJson, printTable } from '../format.js';
import { deploy, filesBody, withProgressLines } from './lab-common.js';

function printReport(report: LabRunReport, file: string): void {
  printTable(
    ['EXPERIMENT', 'METRIC', 'COUNT', 'MEAN', 'P95', 'ASSERTION', 'RESULT'],
    report.experiments.flatMap((x) =>
      x.error
        ? [[x.name, '-', '-', '-', '-', '-', `could not run: ${x.error}`]]
        : Object.entries(x.metrics).map(([metric, m]) => {
            const mine = x.assertions.filter((a) => a.metric === metric);
            return [
              x.name,
              `${metric} (${m.unit})`,
              String(m.summary['count']),
              String(m.summary['mean']),
              String(m.summary['p95']),
              mine.map((a) => `${a.statistic} ${a.bound === 'max' ? '<=' : '>='} ${a.limit}`).join(', ') || '-',
              mine.length
                ? mine.every((a) => a.pass)
                  ? 'pass'
                  : `FAIL (${mine
                      .filter((a) => !a.pass)
                      .map((a) => `${a.statistic} ${a.value}`)
                      .join(', ')})`
                : '-',
            ];
          }),
    ),
  );
  console.log(`\n${report.status}: report in ${file}`);
}

export function registerLabRun(cli: Cli, lab: Command): void {
  lab
    .command('run')
    .description('deploy a lab with its events, run its experiments, write the report, destroy it; exit 0 passed, 1 failed, 2 could not run')
    .requiredOption('-t, --topo <file>', 'the topology file (containerlab format)')
    .option('--with <file>', "tsnet's additions; default: NAME.tsnet.yml beside the file")
    .option('--out <dir>', 'the report folder (default: NAME-report beside the file)')
    .option('--keep', 'leave the lab deployed afterwards')
    .addOption(formatOption())
    .action(async (o: { topo: string; with?: string; out?: string; keep?: boolean; format?: string }) => {
      const files = filesBody(o.topo, o.with);
      const json = o.format === 'json';
      let name: string | undefined;
      try {
        name = (await deploy(cli, { ...files, events: true, reconfigure: true }, json)).name;
        const path = `/v1/labs/${encodeURIComponent(name)}/experiments`;
        const report =
          process.stderr.isTTY && !json
            ? await withProgressLines<LabRunReport>(cli, `${path}?progress=true`, {}, 'report')
            : await cli.client().call<LabRunReport>('POST', path, {});
        const out = resolve(o.out ?? join(dirname(o.topo), `${basename(o.topo).replace(/(\.clab)?\.ya?ml$/u, '')}-report`));
        const dot = (await cli.client().call<LabGraphResult>('POST', '/v1/labs/graph', { ...files, format: 'dot' })).text;
        if (process.stderr.isTTY && !json) process.stderr.write('writing the report...');
        // The charts' libraries take a quarter of a second to load: only this command loads them, and only now.
        const { writeReport } = await import('../report/write.js');
        const written = await writeReport(out, report, dot);
        if (process.stderr.isTTY && !json) process.stderr.write('\r\x1b[K');
        for (const w of written.warnings) console.error(`tsnet: ${w}`);
        if (json) printJson(report);
        else printReport(report, join(out, 'index.html'));
        process.exitCode = report.exitCode;
      } catch (err) {
        throw new CliFailure(err, 2);
      } finally {
        if (name && !o.keep) await cli.client().call('DELETE', `/v1/labs/${encodeURIComponent(name)}`);
      }
    });
}
