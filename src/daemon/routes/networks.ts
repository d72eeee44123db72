/** /v1/networks: create, list, inspect, remove, prune, connect and disconnect containers. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { RefParams } from '../../api/common.js';
import { Type } from 'typebox';
import { ConnectBody, NetworkCreate, PruneBody, type EndpointView, type NetworkView, type PruneResult } from '../../api/networks.js';
import type { Controller } from '../../cnm/controller.js';
import type { JoinedEndpoint, NetworkRecord } from '../../cnm/types.js';
import type { ContainerService } from '../containers.js';
import { TsnetError } from '../../errors.js';

/**
 * A network as the API shows it: its record, the bridge's options for bridge networks, the containers attached
 * (named from the sandboxes' owners, which a listing of many networks reads once).
 */
export function networkView(
  deps: { controller: Controller; containers: ContainerService },
  n: NetworkRecord,
  owners = deps.containers.sandboxOwners(),
): NetworkView {
  const containers = deps.controller.endpointsOf({ networkId: n.id }).map((e) => {
    const owner = e.kind === 'joined' ? owners.get(e.sandboxId) : undefined;
    return {
      container: owner?.name ?? null,
      ...(owner ? { containerId: owner.id } : {}),
      endpoint: e.id,
      ipv4: e.ipv4 ?? null,
      ipv6: e.ipv6 ?? null,
      mac: e.mac ?? null,
    };
  });
  const { config, ...rest } = n;
  const overlay = n.driver === 'overlay' ? (config as NonNullable<NetworkView['overlay']>) : undefined;
  return {
    ...rest,
    scope: deps.controller.isGlobal(n) ? 'global' : 'local',
    ...(n.driver === 'bridge' ? { bridge: config as NonNullable<NetworkView['bridge']> } : {}),
    ...(overlay ? { overlay: { bridgeName: overlay.bridgeName, vxlanName: overlay.vxlanName, vni: overlay.vni, mtu: overlay.mtu, local: overlay.local } } : {}),
    containers,
  };
}

const endpointView = (e: JoinedEndpoint): EndpointView => ({
  id: e.id,
  name: e.name,
  networkId: e.networkId,
  ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
  ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
  ...(e.mac ? { mac: e.mac } : {}),
  ...(e.ifname ? { ifname: e.ifname } : {}),
  aliases: [...e.aliases],
});

export const networkRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { controller, containers } = app.deps;

  app.get('/networks', async (): Promise<NetworkView[]> => {
    const owners = containers.sandboxOwners();
    return controller.networks().map((n) => networkView(app.deps, n, owners));
  });

  app.post('/networks', { schema: { body: NetworkCreate } }, async (req, reply) => {
    const n = await controller.createNetwork(req.body);
    return reply.status(201).send(networkView(app.deps, n));
  });

  app.get('/networks/:ref', { schema: { params: RefParams } }, async (req): Promise<NetworkView> => networkView(app.deps, controller.network(req.params.ref)));

  app.delete('/networks/:ref', { schema: { params: RefParams } }, async (req, reply) => {
    // In use: said with the containers' names (the endpoints' own names mean nothing to a user).
    const n = controller.network(req.params.ref);
    const owners = containers.sandboxOwners();
    const users = controller
      .endpointsOf({ networkId: n.id })
      .map((e) => ('sandboxId' in e && e.sandboxId ? owners.get(e.sandboxId)?.name : undefined) ?? e.name);
    if (users.length > 0 && !controller.removalRefusal(n, 'tsnet')) {
      throw new TsnetError(
        'TSNET_ERR_NETWORK_IN_USE',
        `network "${n.name}" has active endpoints: ${[...new Set(users)].join(', ')} (disconnect or remove them first)`,
      );
    }
    await controller.deleteNetwork(n.id, 'tsnet');
    return reply.status(204).send();
  });

  app.post('/networks/prune', { schema: { body: Type.Optional(PruneBody) } }, async (req): Promise<PruneResult> => {
    const filter = { ...(req.body?.until ? { until: new Date(req.body.until) } : {}), ...(req.body?.labels ? { labels: req.body.labels } : {}) };
    return { deleted: await controller.pruneNetworks(filter) };
  });

  // A running container joins at once; a stopped one at its next start (answered 204).
  app.post('/networks/:ref/connect', { schema: { params: RefParams, body: ConnectBody } }, async (req, reply) => {
    const e = await containers.connect(req.params.ref, req.body.container, {
      ...(req.body.ip ? { ip: req.body.ip } : {}),
      ...(req.body.ip6 ? { ip6: req.body.ip6 } : {}),
      ...(req.body.aliases ? { aliases: req.body.aliases } : {}),
    });
    return e ? endpointView(e) : reply.status(204).send();
  });

  app.post('/networks/:ref/disconnect', { schema: { params: RefParams, body: ConnectBody } }, async (req, reply) => {
    await containers.disconnect(req.params.ref, req.body.container);
    return reply.status(204).send();
  });
};
