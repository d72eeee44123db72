/** /v1/containers: run (create and start), list, inspect, stop, kill, remove, exec, logs (followed or not), wait. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RefParams } from '../../api/common.js';
import {
  ExecBody,
  KillBody,
  ListQuery,
  LogsQuery,
  RemoveQuery,
  RunBody,
  StopBody,
  type ContainerView,
  type ExecResult,
  type WaitResult,
} from '../../api/containers.js';
import { followLog } from '../log-follow.js';

export const containerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { runtime, containers } = app.deps;

  app.get('/containers', { schema: { querystring: ListQuery } }, async (req): Promise<ContainerView[]> =>
    runtime
      .list()
      .filter((c) => req.query.all === 'true' || c.status === 'running')
      .map((c) => containers.view(c)),
  );

  app.post('/containers', { schema: { body: RunBody } }, async (req, reply) => {
    const state = await containers.run(req.body);
    return reply.status(201).send(containers.view(state));
  });

  app.get('/containers/:ref', { schema: { params: RefParams } }, async (req): Promise<ContainerView> => containers.view(runtime.get(req.params.ref)));

  app.post('/containers/:ref/stop', { schema: { params: RefParams, body: StopBody } }, async (req): Promise<ContainerView> =>
    containers.view(await runtime.stop(req.params.ref, req.body?.timeout ?? 10)),
  );

  app.post('/containers/:ref/kill', { schema: { params: RefParams, body: KillBody } }, async (req, reply) => {
    runtime.kill(req.params.ref, (req.body?.signal ?? 'SIGKILL') as NodeJS.Signals);
    return reply.status(204).send();
  });

  app.delete('/containers/:ref', { schema: { params: RefParams, querystring: RemoveQuery } }, async (req, reply) => {
    await containers.remove(req.params.ref, req.query.force === 'true');
    return reply.status(204).send();
  });

  app.post('/containers/:ref/exec', { schema: { params: RefParams, body: ExecBody } }, async (req): Promise<ExecResult> =>
    runtime.exec(req.params.ref, req.body.command, { ...(req.body.env ? { env: req.body.env } : {}) }),
  );

  app.get('/containers/:ref/logs', { schema: { params: RefParams, querystring: LogsQuery } }, async (req, reply) => {
    const state = runtime.get(req.params.ref);
    reply.type('text/plain; charset=utf-8');
    if (req.query.follow === 'true') return reply.send(followLog(runtime, state.id));
    return runtime.logs(state.id);
  });

  app.post('/containers/:ref/wait', { schema: { params: RefParams } }, async (req): Promise<WaitResult> => ({ exitCode: await runtime.wait(req.params.ref) }));
};
