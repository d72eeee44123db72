/** `tsnet image import/busybox/ls/rm/load/save/tag/inspect/history/pull/push`. */
import { resolve } from 'node:path';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { TAR_MEDIA_TYPE } from '../../api/defaults.js';
import type { BusyboxBody, CommitBody, HistoryEntry, ImageView, ImportBody, TagBody } from '../../api/images.js';
import { downloadArchive } from '../archive-output.js';
import { registerRegistryCommands } from './registry.js';
import { collect, type Cli } from '../context.js';
import { formatOption, inspectFormatOption, printInspected, printJson, printTable, shortId, withProgress } from '../format.js';

export function registerImageCommands(cli: Cli): void {
  const image = cli.program.command('image').description('manage images');

  image
    .command('import')
    .description('import a root filesystem tarball (as docker export writes it, gzip too)')
    .argument('<file>')
    .argument('<name>')
    .option('-c, --change <instruction>', 'a Dockerfile instruction for its config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL (repeatable)', collect)
    .action(async (file: string, name: string, o: { change?: string[] }) => {
      const body: ImportBody = { file: resolve(file), name, ...(o.change ? { changes: o.change } : {}) };
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
  registerArchives(cli, image);
  registerRegistryCommands(cli, image);

  registerContainerImages(cli);
}

const imagePath = (ref: string, tail = ''): string => `/v1/images/${encodeURIComponent(ref)}${tail}`;

/** Docker's shape of an image, for inspect and -f templates. */
function dockerImage(i: ImageView): Record<string, unknown> {
  const doc = (i.config ?? {}) as { config?: unknown; architecture?: string; os?: string };
  return {
    Id: i.id,
    RepoTags: [i.name],
    Created: i.created,
    Size: i.size,
    Architecture: doc.architecture ?? 'amd64',
    Os: doc.os ?? 'linux',
    Config: doc.config ?? null,
    RootFS: { Type: 'layers', Layers: i.layers ?? [] },
  };
}

function registerArchives(cli: Cli, image: ReturnType<Cli['program']['command']>): void {
  image
    .command('load')
    .description('load images from an archive docker save wrote (or an OCI layout), from -i FILE or stdin')
    .option('-i, --input <file>', 'read this file instead of stdin')
    .action(async (o: { input?: string }) => {
      const input: Readable = o.input ? createReadStream(o.input) : process.stdin;
      const loaded = await withProgress('loading', cli.client().upload<ImageView[]>('POST', '/v1/images/load', input, TAR_MEDIA_TYPE));
      for (const i of loaded) console.log(`Loaded image: ${i.name}`);
    });

  image
    .command('save')
    .description("write images in docker save's format (docker load reads it), to -o FILE or stdout")
    .argument('<image...>')
    .option('-o, --output <file>', 'write to a file')
    .action(async (refs: string[], o: { output?: string }) => {
      await downloadArchive(cli.client(), `/v1/images/save?names=${encodeURIComponent(refs.join(','))}`, o.output);
    });

  image
    .command('tag')
    .description('give an image another name')
    .argument('<source>')
    .argument('<target>')
    .action(async (source: string, target: string) => {
      const body: TagBody = { name: target };
      await cli.client().call('POST', imagePath(source, '/tag'), body);
    });

  image
    .command('inspect')
    .description('show images in detail')
    .argument('<image...>')
    .addOption(inspectFormatOption())
    .action(async (refs: string[], o: { format?: string }) => {
      const views = await Promise.all(refs.map((r) => cli.client().call<ImageView>('GET', imagePath(r))));
      printInspected(views.map(dockerImage), o.format);
    });

  image
    .command('history')
    .description("an image's history, newest first")
    .argument('<image>')
    .action(async (ref: string) => {
      const h = await cli.client().call<HistoryEntry[]>('GET', imagePath(ref, '/history'));
      printTable(
        ['CREATED', 'CREATED BY', 'COMMENT'],
        h.map((e) => [e.created, e.createdBy.slice(0, 60), e.comment]),
      );
    });
}

/** `tsnet export` and `tsnet commit`: a container's files as an archive, or as a new image. */
function registerContainerImages(cli: Cli): void {
  cli.program
    .command('export')
    .description("write a container's files, flattened, as a tar archive (to stdout, or -o FILE)")
    .argument('<container>')
    .option('-o, --output <file>', 'write to a file')
    .action(async (ref: string, o: { output?: string }) => {
      await downloadArchive(cli.client(), `/v1/containers/${encodeURIComponent(ref)}/export`, o.output);
    });

  cli.program
    .command('commit')
    .description("make a new image of a container's changes")
    .argument('<container>')
    .argument('<name>', 'NAME[:TAG]')
    .option('-c, --change <instruction>', 'a Dockerfile instruction for its config: CMD, ENTRYPOINT, ENV, WORKDIR, USER, EXPOSE, LABEL (repeatable)', collect)
    .option('-m, --message <text>', 'a comment in its history')
    .option('-p, --pause <bool>', 'freeze the container meanwhile (default true)', (v) => v !== 'false', true)
    .action(async (ref: string, name: string, o: { change?: string[]; message?: string; pause: boolean }) => {
      const body: CommitBody = {
        name,
        ...(o.change ? { changes: o.change } : {}),
        ...(o.message ? { comment: o.message } : {}),
        ...(o.pause ? {} : { pause: false }),
      };
      console.log((await cli.client().call<ImageView>('POST', `/v1/containers/${encodeURIComponent(ref)}/commit`, body)).id);
    });
}
