/** GET /v1/version and GET /v1/info. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { API_VERSION } from '../../api/defaults.js';
import type { DoctorReport, InfoView, VersionView } from '../../api/system.js';
import { TSNET_VERSION } from '../../version.js';

export const systemRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/version', async (): Promise<VersionView> => ({ version: TSNET_VERSION, api: API_VERSION, node: process.version }));
  app.get('/doctor', async (): Promise<DoctorReport> => app.deps.controller.doctor(false));
  app.post('/doctor/fix', async (): Promise<DoctorReport> => app.deps.controller.doctor(true));
  app.get('/info', async (): Promise<InfoView> => {
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
