/** /v1/containers: run (create and start), list, inspect, stop, kill, remove, exec, logs (followed or not), wait. */
import { closeSync, existsSync, openSync, readSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { FastifyPluginAsync } from 'fastify';
import type { Runtime } from '../../runtime/runtime.js';
import type { RunRequest } from '../containers.js';
import { refParams, strings } from './schemas.js';


const runBody = {
  type: 'object',
  required: ['image'],
  additionalProperties: false,
  properties: {
    image: { type: 'string', minLength: 1 },
    command: strings,
    name: { type: 'string', minLength: 1, maxLength: 128 },
    networks: strings,
    ip: { type: 'string' },
    hostname: { type: 'string' },
    env: strings,
    memory: { type: 'string' },
    pidsLimit: { type: 'integer', minimum: 1 },
    rm: { type: 'boolean' },
    init: { type: 'boolean' },
  },
} as const;

/** Follows a container's log file until the container has exited and everything written has been sent. */
function followLog(runtime: Runtime, id: string): Readable {
  const file = runtime.logFile(id);
  let offset = 0;
  const buf = Buffer.alloc(64 * 1024);
  const readMore = (): Buffer | null => {
    if (!existsSync(file)) return null;
    const fd = openSync(file, 'r');
    try {
      const n = readSync(fd, buf, 0, buf.length, offset);
      offset += n;
      return n > 0 ? Buffer.from(buf.subarray(0, n)) : null;
    } finally {
      closeSync(fd);
    }
  };
  let timer: NodeJS.Timeout | undefined;
  return new Readable({
    read() {
      const tick = (): void => {
        const chunk = readMore();
        if (chunk) return void this.push(chunk);
        const exited = (() => {
          try {
            return runtime.get(id).status !== 'running';
          } catch {
            return true;
          }
        })();
        if (exited) {
          const rest = readMore();
          if (rest) return void this.push(rest);
          return void this.push(null);
        }
        timer = setTimeout(tick, 50);
      };
      tick();
    },
    destroy(err, cb) {
      if (timer) clearTimeout(timer);
      cb(err);
    },
  });
}

export const containerRoutes: FastifyPluginAsync = async (app) => {
  const { runtime, containers } = app.deps;

  app.get<{ Querystring: { all?: string } }>('/containers', async (req) =>
    runtime
      .list()
      .filter((c) => req.query.all === 'true' || c.status === 'running')
      .map((c) => containers.view(c)),
  );

  app.post<{ Body: RunRequest }>('/containers', { schema: { body: runBody } }, async (req, reply) => {
    const state = await containers.run(req.body);
    return reply.status(201).send(containers.view(state));
  });

  app.get<{ Params: { ref: string } }>('/containers/:ref', { schema: { params: refParams } }, async (req) => containers.view(runtime.get(req.params.ref)));

  app.post<{ Params: { ref: string }; Body: { timeout?: number } }>(
    '/containers/:ref/stop',
    { schema: { params: refParams, body: { type: 'object', additionalProperties: false, properties: { timeout: { type: 'number', minimum: 0 } } } } },
    async (req) => containers.view(await runtime.stop(req.params.ref, req.body?.timeout ?? 10)),
  );

  app.post<{ Params: { ref: string }; Body: { signal?: string } }>(
    '/containers/:ref/kill',
    { schema: { params: refParams, body: { type: 'object', additionalProperties: false, properties: { signal: { type: 'string', pattern: '^SIG[A-Z0-9]+$' } } } } },
    async (req, reply) => {
      runtime.kill(req.params.ref, (req.body?.signal ?? 'SIGKILL') as NodeJS.Signals);
      return reply.status(204).send();
    },
  );

  app.delete<{ Params: { ref: string }; Querystring: { force?: string } }>('/containers/:ref', { schema: { params: refParams } }, async (req, reply) => {
    await containers.remove(req.params.ref, req.query.force === 'true');
    return reply.status(204).send();
  });

  app.post<{ Params: { ref: string }; Body: { command: string[]; env?: string[] } }>(
    '/containers/:ref/exec',
    {
      schema: {
        params: refParams,
        body: { type: 'object', required: ['command'], additionalProperties: false, properties: { command: { ...strings, minItems: 1 }, env: strings } },
      },
    },
    async (req) => runtime.exec(req.params.ref, req.body.command, { ...(req.body.env ? { env: req.body.env } : {}) }),
  );

  app.get<{ Params: { ref: string }; Querystring: { follow?: string } }>('/containers/:ref/logs', { schema: { params: refParams } }, async (req, reply) => {
    const state = runtime.get(req.params.ref);
    reply.type('text/plain; charset=utf-8');
    if (req.query.follow === 'true') return reply.send(followLog(runtime, state.id));
    return runtime.logs(state.id);
  });

  app.post<{ Params: { ref: string } }>('/containers/:ref/wait', { schema: { params: refParams } }, async (req) => ({ exitCode: await runtime.wait(req.params.ref) }));
};
