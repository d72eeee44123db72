/**
 * buildApp: the daemon's fastify application, versioned under /v1. It never listens (tests use inject();
 * server.ts listens on the unix socket). Each resource is a plugin with JSON schemas for its bodies and params;
 * errors become { code, message } with the catalog's status, and a 500 carries a correlation id that the log has.
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { API_VERSION } from '../api/defaults.js';
import type { InfoView } from '../api/system.js';
import type { Controller } from '../cnm/controller.js';
import { NoSpaceError, TsnetError, isNoSpace } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { ContainerService } from './containers.js';
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
    disableRequestLogging: true,
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
  app.setErrorHandler((thrown: FastifyError | TsnetError | Error, req, reply) => {
    // A full disk is said as such, whichever layer met it (the change itself has been rolled back).
    const err =
      isNoSpace(thrown) && !(thrown instanceof TsnetError && thrown.code === 'TSNET_ERR_NO_SPACE')
        ? new NoSpaceError(`${req.method} ${req.url}`, thrown)
        : thrown;
    if (err instanceof TsnetError) {
      if (err.status >= 500) req.log.error({ err, correlationId: req.id }, err.message);
      return reply.status(err.status).send({ code: err.code, message: err.status >= 500 ? `${err.message} (correlation id ${req.id})` : err.message });
    }
    const fe = err as FastifyError;
    if (fe.validation || (fe.statusCode !== undefined && fe.statusCode < 500)) {
      return reply.status(fe.statusCode ?? 400).send({ code: 'TSNET_ERR_INVALID_ARGUMENT', message: fe.message });
    }
    req.log.error({ err, correlationId: req.id }, 'internal error');
    return reply.status(500).send({ code: 'TSNET_ERR_INTERNAL', message: `internal error (correlation id ${req.id}): ${err.message}` });
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
