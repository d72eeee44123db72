/**
 * /v1/containers: run (create and start), list, inspect, stop, kill, remove, exec (collected, or streamed over an
 * upgraded connection), attach, logs (followed or not), wait; and stop and remove of many containers in one request.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { RefParams } from '../../api/common.js';
import {
  ExecBody,
  KillBody,
  ListQuery,
  LogsQuery,
  RemoveManyBody,
  RemoveQuery,
  RunBody,
  STREAM_MEDIA_TYPE,
  StartBody,
  StopBody,
  StopManyBody,
  WaitQuery,
  type ContainerView,
  type ExecResult,
  type ManyResults,
  type WaitResult,
} from '../../api/containers.js';
import { errorAnswer } from '../error-answer.js';
import { logStream } from '../log-stream.js';
import { StreamConnections, requireUpgrade } from '../stream-upgrade.js';

/** exec (collected, or streamed over an upgraded connection) and attach. */
const streamRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { runtime } = app.deps;
  const streams = new StreamConnections();
  app.addHook('preClose', async () => streams.closeAll());

  app.post('/containers/:ref/exec', { schema: { params: RefParams, body: ExecBody } }, async (req, reply): Promise<ExecResult | undefined> => {
    const { command, env, workdir, tty, stdin, ttySize, detach } = req.body;
    const common = { ...(env ? { env } : {}), ...(workdir ? { cwd: workdir } : {}) };
    if (detach) return reply.status(204).send(await runtime.io.exec(req.params.ref, command, { ...common, detach }).then(() => undefined));
    if (req.headers.upgrade === undefined) return runtime.io.exec(req.params.ref, command, common);
    requireUpgrade(req);
    const child = runtime.io.execStream(req.params.ref, command, {
      ...common,
      ...(tty ? { tty } : {}),
      ...(stdin ? { stdin } : {}),
      ...(ttySize ? { ttySize } : {}),
    });
    streams.join(req, reply, { input: child.stdin, output: child.stdout, close: () => child.stdin.end() });
    return undefined;
  });

  app.post('/containers/:ref/attach', { schema: { params: RefParams } }, async (req, reply) => {
    requireUpgrade(req);
    const monitor = await runtime.io.attach(req.params.ref);
    streams.join(req, reply, { input: monitor, output: monitor, close: () => monitor.destroy() });
  });
};

/** Each container's outcome, in the order asked, a failure as its single route would have answered it. */
function manyResults(req: FastifyRequest, refs: readonly string[], verb: string, outcomes: readonly PromiseSettledResult<unknown>[]): ManyResults {
  return {
    results: outcomes.map((o, i) => {
      const container = refs[i]!;
      if (o.status === 'fulfilled') return { container };
      const { status, body } = errorAnswer(o.reason, `${verb} ${container}`, req.id, req.log);
      return { container, error: { status, ...body } };
    }),
  };
}

export const containerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { runtime, containers } = app.deps;
  await app.register(streamRoutes);

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

  app.post('/containers/create', { schema: { body: RunBody } }, async (req, reply) =>
    reply.status(201).send(containers.view(await containers.create(req.body))),
  );

  // Many containers at once (the CLI's stop and rm of several): side by side, their sandboxes in one teardown.
  app.post('/containers/stop', { schema: { body: StopManyBody } }, async (req): Promise<ManyResults> =>
    manyResults(req, req.body.containers, 'stop', await containers.stopEach(req.body.containers, req.body.timeout)),
  );
  app.post('/containers/remove', { schema: { body: RemoveManyBody } }, async (req): Promise<ManyResults> => {
    const { containers: refs, force = false, volumes = false } = req.body;
    return manyResults(req, refs, 'remove', await containers.removeEach(refs, force, volumes));
  });

  app.get('/containers/:ref', { schema: { params: RefParams } }, async (req): Promise<ContainerView> => containers.view(runtime.get(req.params.ref)));

  app.post('/containers/:ref/start', { schema: { params: RefParams, body: StartBody } }, async (req): Promise<ContainerView> =>
    containers.view(await containers.start(req.params.ref, req.body ?? {})),
  );

  app.post('/containers/:ref/stop', { schema: { params: RefParams, body: StopBody } }, async (req): Promise<ContainerView> =>
    containers.view(await containers.stop(req.params.ref, req.body?.timeout)),
  );

  app.post('/containers/:ref/restart', { schema: { params: RefParams, body: StopBody } }, async (req): Promise<ContainerView> =>
    containers.view(await containers.restart(req.params.ref, req.body?.timeout)),
  );

  app.post('/containers/:ref/kill', { schema: { params: RefParams, body: KillBody } }, async (req, reply) => {
    await runtime.kill(req.params.ref, (req.body?.signal ?? 'SIGKILL') as NodeJS.Signals);
    return reply.status(204).send();
  });

  app.post('/containers/:ref/pause', { schema: { params: RefParams } }, async (req): Promise<ContainerView> =>
    containers.view(await runtime.pause(req.params.ref)),
  );
  app.post('/containers/:ref/unpause', { schema: { params: RefParams } }, async (req): Promise<ContainerView> =>
    containers.view(await runtime.unpause(req.params.ref)),
  );

  app.delete('/containers/:ref', { schema: { params: RefParams, querystring: RemoveQuery } }, async (req, reply) => {
    await containers.remove(req.params.ref, req.query.force === 'true', req.query.volumes === 'true');
    return reply.status(204).send();
  });

  app.get('/containers/:ref/logs', { schema: { params: RefParams, querystring: LogsQuery } }, async (req, reply) => {
    const state = runtime.get(req.params.ref);
    reply.type(STREAM_MEDIA_TYPE);
    return reply.send(logStream(runtime, state.id, req.query));
  });

  app.post('/containers/:ref/wait', { schema: { params: RefParams, querystring: WaitQuery } }, async (req): Promise<WaitResult> => {
    const state = runtime.get(req.params.ref);
    const exitCode = await runtime.wait(state.id);
    if (req.query.condition === 'removed') await containers.removed(state.id);
    return { exitCode };
  });
};
