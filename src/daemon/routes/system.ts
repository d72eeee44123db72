/** GET /v1/version and GET /v1/info. */
import type { FastifyPluginAsync } from 'fastify';
import { TSNET_VERSION } from '../../version.js';

export const systemRoutes: FastifyPluginAsync = async (app) => {
  app.get('/version', async () => ({ version: TSNET_VERSION, api: 'v1', node: process.version }));
  app.get('/info', async () => {
    const { controller, runtime, info } = app.deps;
    const containers = runtime.list();
    return {
      ...info(),
      counts: {
        ...controller.counts(),
        containers: containers.length,
        running: containers.filter((c) => c.status === 'running').length,
        images: runtime.images.list().length,
      },
    };
  });
};
