/** /v1/images/pull, /v1/images/push and /v1/auth: images to and from registries, and checking credentials. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { LoginBody, PullBody, PushBody, type PullView, type PushView } from '../../api/images.js';
import { checkLogin } from '../../runtime/registry/client.js';
import { parsePlatform } from '../../runtime/registry/platform.js';
import { pullImage } from '../../runtime/registry/pull.js';
import { pushImage } from '../../runtime/registry/push.js';

export const registryRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const images = app.deps.runtime.images;

  app.post('/images/pull', { schema: { body: PullBody } }, async (req, reply) => {
    const { reference, platform, auth } = req.body;
    const made = await pullImage(images, reference, {
      ...(platform ? { platform: parsePlatform(platform) } : {}),
      ...(auth ? { credentials: auth } : {}),
      progress: (message) => req.log.info({ reference }, message),
    });
    const { name, id, created, size } = made.image;
    const view: PullView = { ...made, image: { name, id, created, size, layers: [...images.layersOf(made.image)] } };
    return reply.status(201).send(view);
  });

  app.post('/images/push', { schema: { body: PushBody } }, async (req): Promise<PushView> => {
    const { reference, auth } = req.body;
    return pushImage(images, reference, { ...(auth ? { credentials: auth } : {}), progress: (message) => req.log.info({ reference }, message) });
  });

  app.post('/auth', { schema: { body: LoginBody } }, async (req, reply) => {
    await checkLogin(req.body.server, { username: req.body.username, password: req.body.password });
    return reply.status(204).send();
  });
};
