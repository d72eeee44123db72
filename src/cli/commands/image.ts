/** `tsnet image import/busybox/ls/rm`. */
import { resolve } from 'node:path';
import type { BusyboxBody, ImageView, ImportBody } from '../../api/images.js';
import type { Cli } from '../context.js';
import { formatOption, printJson, printTable, shortId, withProgress } from '../format.js';

export function registerImageCommands(cli: Cli): void {
  const image = cli.program.command('image').description('manage images');

  image
    .command('import')
    .description('import a root filesystem tarball (as docker export writes it, gzip too)')
    .argument('<file>')
    .argument('<name>')
    .action(async (file: string, name: string) => {
      const body: ImportBody = { file: resolve(file), name };
      const img = await withProgress('importing', cli.client().call<ImageView>('POST', '/v1/images/import', body));
      console.log(img.id);
    });

  image
    .command('busybox')
    .description("build the busybox image from Debian's busybox-static package")
    .option('--name <name>', 'image name', 'busybox:latest')
    .action(async (o: { name: string }) => {
      const body: BusyboxBody = { name: o.name };
      const img = await withProgress('building the busybox image', cli.client().call<ImageView>('POST', '/v1/images/busybox', body));
      console.log(img.id);
    });

  image
    .command('ls')
    .description('list images')
    .addOption(formatOption())
    .action(async (o: { format?: string }) => {
      const list = await cli.client().call<ImageView[]>('GET', '/v1/images');
      if (o.format === 'json') return printJson(list);
      printTable(
        ['NAME', 'IMAGE ID', 'CREATED', 'SIZE'],
        list.map((i) => [i.name, shortId(i.id), i.created, `${(i.size / 1e6).toFixed(1)}MB`]),
      );
    });

  image
    .command('rm')
    .description('remove images')
    .argument('<image...>')
    .action(async (refs: string[]) => {
      for (const r of refs) await cli.client().call('DELETE', `/v1/images/${encodeURIComponent(r)}`);
    });
}
