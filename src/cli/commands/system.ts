/** `tsnet version` and `tsnet info`. */
import type { DoctorReport, InfoView, VersionView } from '../../api/system.js';
import { TSNET_VERSION } from '../../version.js';
import type { Cli } from '../context.js';
import { formatOption, printJson } from '../format.js';

export function registerSystemCommands(cli: Cli): void {
  cli.program
    .command('doctor')
    .description('compare the kernel, the firewall and the records, and repair what differs with --fix')
    .option('--fix', 'repair what differs')
    .addOption(formatOption())
    .action(async (o: { fix?: boolean; format?: string }) => {
      const report = await cli.client().call<DoctorReport>(o.fix ? 'POST' : 'GET', o.fix ? '/v1/doctor/fix' : '/v1/doctor');
      if (o.format === 'json') return printJson(report);
      const lines = [
        ...report.removed.map((l) => `${o.fix ? 'removed' : 'to remove'}: ${l}`),
        ...report.recreated.map((l) => `${o.fix ? 'repaired' : 'to repair'}: ${l}`),
        ...report.broken.map((l) => `broken: ${l}`),
        ...report.leftAlone.map((l) => `left alone: ${l}`),
      ];
      for (const l of lines) console.log(l);
      if (lines.length === 0) console.log('kernel, firewall and records agree');
      // As a check should: problems found and not repaired fail the command.
      if (report.broken.length > 0 || (!o.fix && report.removed.length + report.recreated.length > 0)) process.exitCode = 1;
    });

  cli.program
    .command('version')
    .description('show the versions of the client and of the daemon')
    .addOption(formatOption())
    .action(async (o: { format?: string }) => {
      const daemon = await cli
        .client()
        .call<VersionView>('GET', '/v1/version')
        .catch((err: Error) => ({ error: err.message }));
      // As docker version: the client's version is printed either way, and an unreachable daemon fails the command.
      if ('error' in daemon) process.exitCode = 1;
      if (o.format === 'json') return printJson({ client: { version: TSNET_VERSION }, daemon });
      console.log(`client: ${TSNET_VERSION}`);
      console.log('error' in daemon ? `daemon: ${daemon.error}` : `daemon: ${daemon.version} (API ${daemon.api}, Node ${daemon.node})`);
    });

  cli.program
    .command('info')
    .description('show the daemon, its store, counts and kernel features')
    .addOption(formatOption())
    .action(async (o: { format?: string }) => {
      const info = await cli.client().call<InfoView>('GET', '/v1/info');
      if (o.format === 'json') return printJson(info);
      const { daemon: d, counts: c } = info;
      console.log(`daemon:     PID ${d.pid}, root ${d.root}, exec root ${d.execRoot}, socket ${d.socket}, firewall ${d.firewall}`);
      console.log(`store:      ${info.store}`);
      if (info.cluster) {
        const cl = info.cluster;
        console.log(`cluster:    ${cl.store}, this host ${cl.host} at ${cl.advertise}, ${cl.connected ? 'joined' : 'not joined (the store does not answer)'}`);
      }
      console.log(`counts:     ${c.networks} networks, ${c.containers} containers (${c.running} running), ${c.images} images, ${c.endpoints} endpoints`);
      console.log(`kernel:     ${JSON.stringify(info.kernel)}`);
    });
}
