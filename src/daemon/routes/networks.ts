/** /v1/networks: create, list, inspect, remove, prune, connect and disconnect containers. */
import type { FastifyPluginAsync } from 'fastify';
import type { Controller } from '../../cnm/controller.js';
import type { NetworkRecord } from '../../cnm/types.js';
import type { ContainerService } from '../containers.js';
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
export function networkView(app: { deps: { controller: Controller; containers: ContainerService } }, n: NetworkRecord) {
  const { controller, containers: service } = app.deps;
  const containers = controller.endpointsOf({ networkId: n.id }).map((e) => {
    const container = e.kind === 'joined' ? service.containerOfSandbox(e.sandboxId) : undefined;
    return { container: container ?? null, endpoint: e.id, ipv4: e.ipv4 ?? null, ipv6: e.ipv6 ?? null, mac: e.mac ?? null };
  });
  const { config, ...rest } = n;
  return { ...rest, ...(n.driver === 'bridge' ? { bridge: config } : {}), containers };
}

export const networkRoutes: FastifyPluginAsync = async (app) => {
  const { controller, containers } = app.deps;

  app.get('/networks', async () => controller.networks().map((n) => networkView(app, n)));

  app.post<{ Body: CreateBody }>('/networks', { schema: { body: createBody } }, async (req, reply) => {
    const n = await controller.createNetwork(req.body);
    return reply.status(201).send(networkView(app, n));
  });

  app.get<{ Params: { ref: string } }>('/networks/:ref', { schema: { params: refParams } }, async (req) => networkView(app, controller.network(req.params.ref)));

  app.delete<{ Params: { ref: string } }>('/networks/:ref', { schema: { params: refParams } }, async (req, reply) => {
    await controller.deleteNetwork(req.params.ref, 'tsnet');
    return reply.status(204).send();
  });

  app.post('/networks/prune', async () => ({ deleted: await controller.pruneNetworks() }));

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
