/** /v1/images: list, import a rootfs tarball, build the busybox image, remove. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RefParams } from '../../api/common.js';
import { BusyboxBody, ImportBody, type ImageView } from '../../api/images.js';
import { buildBusyboxImage } from '../../runtime/busybox.js';

export const imageRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { runtime } = app.deps;

  app.get('/images', async (): Promise<ImageView[]> => runtime.images.list());

  app.post('/images/import', { schema: { body: ImportBody } }, async (req, reply) =>
    reply.status(201).send(await runtime.images.import(req.body.file, req.body.name)),
  );

  app.post('/images/busybox', { schema: { body: BusyboxBody } }, async (req, reply) =>
    reply.status(201).send(await buildBusyboxImage(runtime.images, req.body?.name ?? 'busybox:latest')),
  );

  app.delete('/images/:ref', { schema: { params: RefParams } }, async (req) => runtime.images.remove(req.params.ref, (image) => runtime.imageInUse(image.id)));
};
