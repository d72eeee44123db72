/**
 * buildApp: the daemon's fastify application, versioned under /v1. It never listens (tests use inject();
 * server.ts listens on the unix socket). Each resource is a plugin with JSON schemas for its bodies and params;
 * errors become { code, message } with the catalog's status, and a 500 carries a correlation id that the log has.
 */
import Fastify, { LogController, type FastifyError, type FastifyInstance } from 'fastify';
import { API_VERSION } from '../api/defaults.js';
import type { InfoView } from '../api/system.js';
import type { Controller } from '../cnm/controller.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ContainerService } from './containers.js';
import { errorAnswer } from './error-answer.js';
import type { LabService } from './labs/service.js';
import { containerRoutes } from './routes/containers.js';
import { labRoutes } from './routes/labs.js';
import { imageRoutes } from './routes/images.js';
import { registryRoutes } from './routes/registry.js';
import { networkRoutes } from './routes/networks.js';
import { systemRoutes } from './routes/system.js';
import { volumeRoutes } from './routes/volumes.js';

export interface AppDeps {
  readonly controller: Controller;
  readonly runtime: Runtime;
  readonly containers: ContainerService;
  /** Labs (absent in tests of the other routes). */
  readonly labs?: LabService;
  /** What /v1/info says of the daemon itself (the counts are added per request). */
  readonly info: () => Omit<InfoView, 'counts'>;
  readonly logLevel?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    deps: AppDeps;
  }
}

export function buildApp(deps: AppDeps): FastifyInstance {
  const app = Fastify({
    logger: { level: deps.logLevel ?? 'info' },
    logController: new LogController({ disableRequestLogging: true }),
    // Requests log through the daemon's logger itself, with their id in the line: pino's child loggers, one per
    // request, cost 0.15 ms each here (a hundred containers removed at once are a hundred requests).
    childLoggerFactory: (logger) => logger,
    ajv: { customOptions: { allErrors: false, removeAdditional: false, coerceTypes: false } },
  });
  app.decorate('deps', deps);
  // One line per request at info level (fastify's own two lines would be noise).
  app.addHook('onResponse', async (req, reply) => {
    req.log.info({ reqId: req.id, method: req.method, url: req.url, status: reply.statusCode, ms: Math.round(reply.elapsedTime) }, 'request');
  });
  app.setErrorHandler((thrown: FastifyError | Error, req, reply) => {
    const answer = errorAnswer(thrown, `${req.method} ${req.url}`, req.id, req.log);
    return reply.status(answer.status).send(answer.body);
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'TSNET_ERR_NOT_FOUND', message: `no such endpoint: ${req.method} ${req.url}` }));
  void app.register(systemRoutes, { prefix: `/${API_VERSION}` });
  void app.register(networkRoutes, { prefix: `/${API_VERSION}` });
  void app.register(imageRoutes, { prefix: `/${API_VERSION}` });
  void app.register(registryRoutes, { prefix: `/${API_VERSION}` });
  void app.register(containerRoutes, { prefix: `/${API_VERSION}` });
  void app.register(volumeRoutes, { prefix: `/${API_VERSION}` });
  if (deps.labs) void app.register(labRoutes(deps.labs), { prefix: `/${API_VERSION}` });
  return app;
}
