/** /v1/networks: create, list, inspect, remove, prune, connect and disconnect containers. */
import type { FastifyPluginAsync } from 'fastify';
import { TsnetError } from '../../errors.js';
import type { NetworkRecord } from '../../cnm/types.js';
import { refParams, stringMap } from './schemas.js';


const createBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 128 },
    driver: { type: 'string', enum: ['bridge', 'host', 'null'] },
    subnet: { type: 'string' },
    gateway: { type: 'string' },
    ipRange: { type: 'string' },
    auxAddresses: stringMap,
    ipv6: { type: 'boolean' },
    subnet6: { type: 'string' },
    gateway6: { type: 'string' },
    internal: { type: 'boolean' },
    options: stringMap,
    labels: stringMap,
  },
} as const;

const connectBody = {
  type: 'object',
  required: ['container'],
  additionalProperties: false,
  properties: {
    container: { type: 'string', minLength: 1 },
    ip: { type: 'string' },
    aliases: { type: 'array', items: { type: 'string' } },
    force: { type: 'boolean' },
  },
} as const;

interface CreateBody {
  name: string;
  driver?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  auxAddresses?: Record<string, string>;
  ipv6?: boolean;
  subnet6?: string;
  gateway6?: string;
  internal?: boolean;
  options?: Record<string, string>;
  labels?: Record<string, string>;
}

/** A network as the API shows it: its record, with the containers attached. */
export function networkView(app: { deps: { controller: import('../../cnm/controller.js').Controller; runtime: import('../../runtime/runtime.js').Runtime } }, n: NetworkRecord) {
  const { controller, runtime } = app.deps;
  const containers = controller.endpointsOf({ networkId: n.id }).map((e) => {
    const c = runtime.list().find((x) => x.config.labels?.['tsnet.sandbox'] === e.sandboxId);
    return { container: c?.name ?? null, endpoint: e.id, ipv4: e.ipv4 ?? null, ipv6: e.ipv6 ?? null, mac: e.mac ?? null };
  });
  return { ...n, containers };
}

export const networkRoutes: FastifyPluginAsync = async (app) => {
  const { controller, containers } = app.deps;

  app.get('/networks', async () => [...controller.networks.values()].map((n) => networkView(app, n)));

  app.post<{ Body: CreateBody }>('/networks', { schema: { body: createBody } }, async (req, reply) => {
    const n = await controller.createNetwork(req.body);
    return reply.status(201).send(networkView(app, n));
  });

  app.get<{ Params: { ref: string } }>('/networks/:ref', { schema: { params: refParams } }, async (req) => networkView(app, controller.network(req.params.ref)));

  app.delete<{ Params: { ref: string } }>('/networks/:ref', { schema: { params: refParams } }, async (req, reply) => {
    const n = controller.network(req.params.ref);
    if (n.owner === 'docker') throw new TsnetError('TSNET_ERR_CONFLICT', `network "${n.name}" belongs to Docker: remove it with docker network rm`);
    if (n.name === 'none') throw new TsnetError('TSNET_ERR_CONFLICT', 'network "none" is predefined and cannot be removed');
    await controller.deleteNetwork(n.id);
    return reply.status(204).send();
  });

  app.post('/networks/prune', async () => {
    const unused = [...controller.networks.values()].filter((n) => n.owner === 'tsnet' && n.name !== 'none' && controller.endpointsOf({ networkId: n.id }).length === 0);
    for (const n of unused) await controller.deleteNetwork(n.id);
    return { deleted: unused.map((n) => n.name) };
  });

  app.post<{ Params: { ref: string }; Body: { container: string; ip?: string; aliases?: string[] } }>(
    '/networks/:ref/connect',
    { schema: { params: refParams, body: connectBody } },
    async (req) => {
      const e = await controller.connect(req.params.ref, containers.sandboxOf(req.body.container), {
        ...(req.body.ip ? { ip: req.body.ip } : {}),
        ...(req.body.aliases ? { aliases: req.body.aliases } : {}),
      });
      return e;
    },
  );

  app.post<{ Params: { ref: string }; Body: { container: string; force?: boolean } }>(
    '/networks/:ref/disconnect',
    { schema: { params: refParams, body: connectBody } },
    async (req, reply) => {
      await controller.disconnect(req.params.ref, containers.sandboxOf(req.body.container));
      return reply.status(204).send();
    },
  );
};
