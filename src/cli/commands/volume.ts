/** `tsnet volume create/ls/inspect/rm/prune/export/import`, as Docker's (export and import for backups). */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { VolumeCreate, VolumePruneResult, VolumeView } from '../../api/volumes.js';
import { TAR_MEDIA_TYPE } from '../../api/defaults.js';
import { ClientError } from '../../client/client.js';
import { downloadArchive } from '../archive-output.js';
import { collect, type Cli } from '../context.js';
import { formatOption, inspectFormatOption, keyValues, printInspected, printTable } from '../format.js';

const volumePath = (name: string, tail = ''): string => `/v1/volumes/${encodeURIComponent(name)}${tail}`;

/** Docker's shape of a volume, for inspect and -f templates. */
function dockerVolume(v: VolumeView): Record<string, unknown> {
  return { Name: v.name, Driver: v.driver, Mountpoint: v.mountpoint, CreatedAt: v.created, Labels: v.labels, Scope: 'local', Options: {} };
}

function registerBasics(cli: Cli, volume: ReturnType<Cli['program']['command']>): void {
  volume
    .command('create')
    .description('create a volume (a name is made when none is given)')
    .argument('[name]')
    .option('--label <key=value>', 'label (repeatable)', collect)
    .action(async (name: string | undefined, o: { label?: string[] }) => {
      const body: VolumeCreate = { ...(name ? { name } : {}), ...(o.label ? { labels: keyValues(o.label, '--label') } : {}) };
      console.log((await cli.client().call<VolumeView>('POST', '/v1/volumes', body)).name);
    });

  volume
    .command('ls')
    .description('list volumes')
    .option('-q, --quiet', 'only names')
    .addOption(formatOption())
    .action(async (o: { quiet?: boolean; format?: string }) => {
      const list = await cli.client().call<VolumeView[]>('GET', '/v1/volumes');
      if (o.format === 'json') return list.forEach((v) => console.log(JSON.stringify(v)));
      if (o.quiet) return list.forEach((v) => console.log(v.name));
      printTable(
        ['DRIVER', 'VOLUME NAME', 'USED BY'],
        list.map((v) => [v.driver, v.name, v.usedBy.join(', ')]),
      );
    });

  volume
    .command('inspect')
    .description('show volumes in detail')
    .argument('<name...>')
    .addOption(inspectFormatOption())
    .action(async (names: string[], o: { format?: string }) => {
      const views = await Promise.all(names.map((n) => cli.client().call<VolumeView>('GET', volumePath(n))));
      printInspected(views.map(dockerVolume), o.format);
    });

  volume
    .command('rm')
    .description('remove volumes (refused while a container mounts one)')
    .argument('<name...>')
    .option('-f, --force', 'accepted, as Docker: a volume in use is still refused')
    .action(async (names: string[]) => {
      for (const n of names) {
        await cli.client().call('DELETE', volumePath(n));
        console.log(n);
      }
    });

  volume
    .command('prune')
    .description('remove the volumes no container mounts')
    .option('-f, --force', 'do not ask')
    .action(async (o: { force?: boolean }) => {
      if (!o.force && !process.stdin.isTTY) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'volume prune removes data: give -f to confirm');
      const r = await cli.client().call<VolumePruneResult>('POST', '/v1/volumes/prune');
      if (r.deleted.length) console.log(`Deleted Volumes:\n${r.deleted.join('\n')}`);
    });
}

export function registerVolumeCommands(cli: Cli): void {
  const volume = cli.program.command('volume').description('manage volumes');
  registerBasics(cli, volume);

  volume
    .command('export')
    .description("write a volume's files as a tar archive (to stdout, or -o FILE)")
    .argument('<name>')
    .option('-o, --output <file>', 'write to a file')
    .action(async (name: string, o: { output?: string }) => {
      await downloadArchive(cli.client(), volumePath(name, '/export'), o.output);
    });

  volume
    .command('import')
    .description('write the files of a tar archive (a FILE, or stdin) into a volume, made when missing')
    .argument('<name>')
    .argument('[file]')
    .action(async (name: string, file: string | undefined) => {
      const input: Readable = file ? createReadStream(file) : process.stdin;
      console.log((await cli.client().upload<VolumeView>('PUT', volumePath(name, '/import'), input, TAR_MEDIA_TYPE)).name);
    });
}
