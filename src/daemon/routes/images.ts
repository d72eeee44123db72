/** /v1/images: list, import a rootfs tarball, build the busybox image, remove. */
import type { FastifyPluginAsync } from 'fastify';
import { buildBusyboxImage } from '../../runtime/busybox.js';
import { refParams } from './schemas.js';


export const imageRoutes: FastifyPluginAsync = async (app) => {
  const { runtime } = app.deps;

  app.get('/images', async () => runtime.images.list());

  app.post<{ Body: { file: string; name: string } }>(
    '/images/import',
    {
      schema: {
        body: { type: 'object', required: ['file', 'name'], additionalProperties: false, properties: { file: { type: 'string', minLength: 1 }, name: { type: 'string', minLength: 1 } } },
      },
    },
    async (req, reply) => reply.status(201).send(await runtime.images.import(req.body.file, req.body.name)),
  );

  app.post<{ Body: { name?: string } }>(
    '/images/busybox',
    { schema: { body: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', minLength: 1 } } } } },
    async (req, reply) => reply.status(201).send(await buildBusyboxImage(runtime.images, req.body?.name ?? 'busybox:latest')),
  );

  app.delete<{ Params: { ref: string } }>('/images/:ref', { schema: { params: refParams } }, async (req) =>
    runtime.images.remove(req.params.ref, (image) => runtime.imageInUse(image.id)),
  );
};
