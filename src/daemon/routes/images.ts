/** /v1/images: list, import a rootfs tarball, build the busybox image, load and save archives, tag, inspect, history, remove. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { RefParams } from '../../api/common.js';
import { TAR_MEDIA_TYPE } from '../../api/defaults.js';
import { BusyboxBody, CommitBody, ImportBody, SaveQuery, TagBody, type HistoryEntry, type ImageView } from '../../api/images.js';
import { TsnetError } from '../../errors.js';
import { buildBusyboxImage } from '../../runtime/busybox.js';
import { loadImages, saveImages } from '../../runtime/image-archive.js';
import type { Image, ImageStore } from '../../runtime/images.js';

/** An image's history, newest first, from its config (an imported root filesystem has one step). */
function history(images: ImageStore, i: Image): HistoryEntry[] {
  const file = images.configFile(i);
  const steps = existsSync(file)
    ? ((JSON.parse(readFileSync(file, 'utf8')) as { history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[] }).history ??
      [])
    : [{ created: i.created, created_by: 'tsnet image import', comment: '' }];
  return steps
    .map((h) => ({ created: h.created ?? '', createdBy: h.created_by ?? '', emptyLayer: h.empty_layer ?? false, comment: h.comment ?? '' }))
    .reverse();
}

/** POST /containers/{ref}/commit: a container's changes as a new image; GET /containers/{ref}/export: its files. */
const commitRoute: FastifyPluginAsyncTypebox = async (app) => {
  const { runtime } = app.deps;
  app.post('/containers/:ref/commit', { schema: { params: RefParams, body: CommitBody } }, async (req, reply) => {
    const { name, changes, comment, pause } = req.body;
    const made = await runtime.commit(req.params.ref, name, {
      ...(changes ? { changes } : {}),
      ...(comment ? { comment } : {}),
      ...(pause === false ? { pause } : {}),
    });
    return reply.status(201).send({ ...made[0]!, layers: [...runtime.images.layersOf(made[0]!)] });
  });

  app.get('/containers/:ref/export', { schema: { params: RefParams } }, async (req, reply) =>
    reply.type(TAR_MEDIA_TYPE).send(runtime.io.export(req.params.ref)),
  );
};

export const imageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(commitRoute);
  const { runtime } = app.deps;
  const images = runtime.images;
  app.addContentTypeParser(TAR_MEDIA_TYPE, (_req, payload, done) => done(null, payload));
  const scratchFile = (): string => join(images.root, `transfer-${randomBytes(8).toString('hex')}.tar`);

  /** An image as the API shows it: its record, its layers, and (inspect) its whole config document. */
  const view = (i: Image, config?: Record<string, unknown>): ImageView => ({
    name: i.name,
    id: i.id,
    created: i.created,
    size: i.size,
    layers: [...images.layersOf(i)],
    ...(config ? { config } : i.config ? { config: { config: i.config } } : {}),
  });

  app.get('/images', async (): Promise<ImageView[]> => images.list().map((i) => view(i)));

  app.post('/images/import', { schema: { body: ImportBody } }, async (req, reply) =>
    reply.status(201).send(await images.import(req.body.file, req.body.name, req.body.changes ?? [])),
  );

  app.post('/images/busybox', { schema: { body: BusyboxBody } }, async (req, reply) =>
    reply.status(201).send(await buildBusyboxImage(images, req.body?.name ?? 'busybox:latest')),
  );

  // The archive comes as the body: written to a file of the store's, loaded, removed.
  app.post('/images/load', async (req, reply): Promise<ImageView[]> => {
    if (req.headers['content-type'] !== TAR_MEDIA_TYPE) throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', `send the archive as ${TAR_MEDIA_TYPE}`);
    const file = scratchFile();
    try {
      await pipeline(req.body as Readable, createWriteStream(file));
      return reply.status(201).send(await loadImages(images, file));
    } finally {
      rmSync(file, { force: true });
    }
  });

  app.get('/images/save', { schema: { querystring: SaveQuery } }, async (req, reply) => {
    const file = scratchFile();
    try {
      await saveImages(images, req.query.names.split(','), file);
    } catch (err) {
      rmSync(file, { force: true });
      throw err;
    }
    const stream = createReadStream(file);
    stream.once('close', () => rmSync(file, { force: true }));
    return reply.type(TAR_MEDIA_TYPE).send(stream);
  });

  app.post('/images/:ref/tag', { schema: { params: RefParams, body: TagBody } }, async (req, reply) =>
    reply.status(201).send(images.tag(req.params.ref, req.body.name)),
  );

  app.get('/images/:ref', { schema: { params: RefParams } }, async (req): Promise<ImageView> => {
    const i = images.get(req.params.ref);
    const config = existsSync(images.configFile(i)) ? (JSON.parse(readFileSync(images.configFile(i), 'utf8')) as Record<string, unknown>) : undefined;
    return view(i, config);
  });

  app.get('/images/:ref/history', { schema: { params: RefParams } }, async (req): Promise<HistoryEntry[]> => history(images, images.get(req.params.ref)));

  app.delete('/images/:ref', { schema: { params: RefParams } }, async (req) => images.remove(req.params.ref, (image) => runtime.imageInUse(image.id)));
};
