/**
 * Docker's remote network driver and IPAM plugin protocols (see docs/docker-plugin.md), translated into calls of
 * tsnet's Controller, which owns and persists everything. A Docker network is a tsnet bridge network owned by Docker (same id); an endpoint
 * is a veth pair made whole in the host namespace, whose container end dockerd moves into its sandbox after Join.
 * Everything is persisted before it is answered: Docker never replays its calls after a restart of tsnet.
 */
import { isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Controller } from '../cnm/controller.js';
import { BRIDGE_OPTIONS } from '../drivers/bridge/options.js';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { addressOf } from '../ipam/subnet.js';
import { PORT_MAP, readPortMap, writePortMap } from './port-map.js';

export const LOCAL_SPACE = 'tsnet-local';
export const GLOBAL_SPACE = 'tsnet-global';
const MEDIA_TYPE = 'application/vnd.docker.plugins.v1.1+json';
const KNOWN_OPTIONS = new Set<string>(Object.values(BRIDGE_OPTIONS));
/** RequestAddress's option type of the gateway's address (libnetwork's ipamapi.RequestAddressType). */
const GATEWAY_REQUEST = 'com.docker.network.gateway';

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});

/** Docker sends a MAC in endpoint options as base64 of the six raw bytes. */
function macFromBase64(b64: string): string | undefined {
  const bytes = Buffer.from(b64, 'base64');
  return bytes.length === 6 ? [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':') : undefined;
}

/** The first element of a list Docker sends (IPv4Data, IPv6Data): a list or nothing, never anything else. */
function first(value: unknown, field: string): unknown {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw new InvalidArgumentError(`${field} is not a list`);
  return value[0];
}

/** Docker's ids: 64 hex digits; anything else (a NUL byte, a short id) is refused before it names a kernel object. */
function needId(body: Json, field: string): string {
  const v = need(body, field);
  if (!/^[0-9a-f]{64}$/u.test(v)) throw new InvalidArgumentError(`${field} ${JSON.stringify(v.slice(0, 80))} is not 64 hexadecimal digits`);
  return v;
}

function need(body: Json, field: string): string {
  const v = str(body[field]);
  if (!v) throw new InvalidArgumentError(`${field} is missing`);
  return v;
}

/** The protocol's operations; each takes the decoded body and returns the answer body. */
export class DockerPlugin {
  constructor(private readonly controller: Controller) {}

  activate(): Json {
    return { Implements: ['NetworkDriver', 'IpamDriver'] };
  }

  // ---- IpamDriver

  ipamCapabilities(): Json {
    // tsnet persists its IPAM state: nothing needs replaying after a restart of dockerd.
    return { RequiresMACAddress: false, RequiresRequestReplay: false };
  }

  defaultAddressSpaces(): Json {
    return { LocalDefaultAddressSpace: LOCAL_SPACE, GlobalDefaultAddressSpace: GLOBAL_SPACE };
  }

  async requestPool(body: Json): Promise<Json> {
    const spaceName = str(body.AddressSpace) || LOCAL_SPACE;
    if (spaceName !== LOCAL_SPACE && spaceName !== GLOBAL_SPACE)
      throw new InvalidArgumentError(`unknown address space "${spaceName}" (tsnet has ${LOCAL_SPACE} and ${GLOBAL_SPACE})`);
    const pool = await this.controller.requestDockerPool({
      space: spaceName === LOCAL_SPACE ? 'local' : 'global',
      v6: body.V6 === true,
      ...(str(body.Pool) ? { subnet: str(body.Pool) } : {}),
      ...(str(body.SubPool) ? { ipRange: str(body.SubPool) } : {}),
    });
    return { PoolID: pool.id, Pool: pool.subnet, Data: {} };
  }

  async releasePool(body: Json): Promise<Json> {
    await this.controller.releaseDockerPool(need(body, 'PoolID'));
    return {};
  }

  async requestAddress(body: Json): Promise<Json> {
    const wanted = str(body.Address);
    // dockerd names only the gateway's requests; an auxiliary address is asked for by value, as a container's --ip is.
    const holder = wanted || obj(body.Options).RequestAddressType === GATEWAY_REQUEST ? 'network' : 'container';
    return { Address: await this.controller.requestDockerAddress(need(body, 'PoolID'), wanted || undefined, holder), Data: {} };
  }

  async releaseAddress(body: Json): Promise<Json> {
    await this.controller.releaseDockerAddress(need(body, 'PoolID'), need(body, 'Address'));
    return {};
  }

  // ---- NetworkDriver

  capabilities(): Json {
    return { Scope: 'local', ConnectivityScope: 'local' };
  }

  async createNetwork(body: Json): Promise<Json> {
    const id = needId(body, 'NetworkID');
    if (this.knownNetwork(id)) return {};
    const options = obj(body.Options);
    const generic = obj(options['com.docker.network.generic']);
    const v4 = obj(first(body.IPv4Data, 'IPv4Data'));
    const v6 = obj(first(body.IPv6Data, 'IPv6Data'));
    const external = {
      ...(str(v4.Pool) ? { v4: { subnet: str(v4.Pool), ...(str(v4.Gateway) ? { gateway: addressOf(str(v4.Gateway)) } : {}) } } : {}),
      ...(str(v6.Pool) ? { v6: { subnet: str(v6.Pool), ...(str(v6.Gateway) ? { gateway: addressOf(str(v6.Gateway)) } : {}) } } : {}),
    };
    await this.controller.createDockerNetwork({
      id,
      name: `docker-${id.slice(0, 12)}`,
      driver: 'bridge',
      internal: options['com.docker.network.internal'] === true,
      ipv6: !!external.v6,
      // Docker's own bridge driver ignores -o options it does not know; so do Docker networks here.
      options: Object.fromEntries(
        Object.entries(generic)
          .filter(([k]) => KNOWN_OPTIONS.has(k))
          .map(([k, v]) => [k, String(v)]),
      ),
      externalPools: external,
    });
    return {};
  }

  async deleteNetwork(body: Json): Promise<Json> {
    const id = needId(body, 'NetworkID');
    if (!this.knownNetwork(id)) return {}; // already gone
    await this.controller.deleteNetwork(id, 'docker');
    return {};
  }

  async createEndpoint(body: Json): Promise<Json> {
    const networkId = needId(body, 'NetworkID');
    const id = needId(body, 'EndpointID');
    if (this.controller.endpoint(id)) return {};
    const iface = obj(body.Interface);
    const given = str(iface.MacAddress) || macFromBase64(str(obj(body.Options)['com.docker.network.endpoint.macaddress']));
    const ipv4 = str(iface.Address);
    const ipv6 = str(iface.AddressIPv6);
    const endpoint = await this.controller.createDetachedEndpoint(networkId, {
      id,
      name: `docker-${id.slice(0, 12)}`,
      created: new Date().toISOString(),
      ...(ipv4 ? { ipv4 } : {}),
      ...(ipv6 ? { ipv6 } : {}),
      ...(given ? { mac: given } : {}),
      aliases: [],
    });
    // Only what Docker left empty may be answered.
    return !str(iface.MacAddress) && endpoint.mac ? { Interface: { MacAddress: endpoint.mac } } : {};
  }

  async join(body: Json): Promise<Json> {
    const endpoint = this.controller.endpoint(needId(body, 'EndpointID'));
    if (endpoint?.kind !== 'detached') throw new TsnetError('TSNET_ERR_ENDPOINT_NOT_FOUND', `endpoint ${str(body.EndpointID).slice(0, 12)} does not exist`);
    const network = this.controller.network(endpoint.networkId);
    return {
      InterfaceName: { SrcName: endpoint.peerIfname, DstPrefix: network.options[BRIDGE_OPTIONS.ifacePrefix] ?? 'eth' },
      Gateway: network.internal ? '' : (network.pools.v4?.gateway ?? ''),
      GatewayIPv6: network.internal || !endpoint.ipv6 ? '' : (network.pools.v6?.gateway ?? ''),
      StaticRoutes: [],
      // No default route for internal networks, and no docker_gwbridge fallback either.
      DisableGatewayService: network.internal,
    };
  }

  async deleteEndpoint(body: Json): Promise<Json> {
    await this.controller.deleteDetachedEndpoint(needId(body, 'EndpointID'));
    return {};
  }

  /** The published ports, as Docker's bridge reports them (dockerd may not show a remote driver's: see docs). */
  async endpointOperInfo(body: Json): Promise<Json> {
    const endpoint = this.controller.endpoint(str(body.EndpointID));
    if (!endpoint?.ports?.length) return { Value: {} };
    const address = (hostIp: string): string => addressOf((isIPv6(hostIp) ? endpoint.ipv6 : endpoint.ipv4) ?? '');
    return { Value: { [PORT_MAP]: writePortMap(endpoint.ports, address) } };
  }

  async programExternalConnectivity(body: Json): Promise<Json> {
    await this.controller.programDockerPorts(needId(body, 'EndpointID'), readPortMap(obj(body.Options)));
    return {};
  }

  async revokeExternalConnectivity(body: Json): Promise<Json> {
    await this.controller.revokeDockerPorts(needId(body, 'EndpointID'));
    return {};
  }

  private knownNetwork(id: string): boolean {
    return this.controller.networks().some((n) => n.id === id);
  }
}

/** The routes, as a fastify plugin: POST /<Interface>.<Method>; failures are 500 {"Err": ...}; unknown paths 404. */
export function dockerPluginRoutes(plugin: DockerPlugin): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    // dockerd sends no Content-Type, and empty bodies for the calls without arguments.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'string' }, (_req, text, done) => {
      try {
        done(null, typeof text === 'string' && text.trim() ? JSON.parse(text) : {});
      } catch {
        done(new InvalidArgumentError('the request body is not JSON'), undefined);
      }
    });
    app.addHook('onSend', async (_req, reply, payload) => {
      reply.header('content-type', MEDIA_TYPE);
      return payload;
    });
    app.setErrorHandler((err: Error, req, reply) => {
      // A failure inside tsnet is logged as an error; a condition of the catalogue (exhausted pools, a full disk) as a warning.
      if (!(err instanceof TsnetError) || err.status === 500) req.log.error({ err, url: req.url }, 'docker plugin call failed');
      else if (err.status > 500) req.log.warn({ err, url: req.url }, 'docker plugin call refused');
      return reply.status(500).send({ Err: err.message });
    });
    app.setNotFoundHandler((req, reply) => reply.status(404).send({ Err: `tsnet does not implement ${req.url}` }));
    const routes: Record<string, (body: Json) => Json | Promise<Json>> = {
      '/Plugin.Activate': () => plugin.activate(),
      '/NetworkDriver.GetCapabilities': () => plugin.capabilities(),
      '/NetworkDriver.CreateNetwork': (b) => plugin.createNetwork(b),
      '/NetworkDriver.DeleteNetwork': (b) => plugin.deleteNetwork(b),
      '/NetworkDriver.AllocateNetwork': () => ({ Options: {} }),
      '/NetworkDriver.FreeNetwork': () => ({}),
      '/NetworkDriver.CreateEndpoint': (b) => plugin.createEndpoint(b),
      '/NetworkDriver.EndpointOperInfo': (b) => plugin.endpointOperInfo(b),
      '/NetworkDriver.DeleteEndpoint': (b) => plugin.deleteEndpoint(b),
      '/NetworkDriver.Join': (b) => plugin.join(b),
      '/NetworkDriver.Leave': () => ({}),
      '/NetworkDriver.DiscoverNew': () => ({}),
      '/NetworkDriver.DiscoverDelete': () => ({}),
      '/NetworkDriver.ProgramExternalConnectivity': (b) => plugin.programExternalConnectivity(b),
      '/NetworkDriver.RevokeExternalConnectivity': (b) => plugin.revokeExternalConnectivity(b),
      '/IpamDriver.GetCapabilities': () => plugin.ipamCapabilities(),
      '/IpamDriver.GetDefaultAddressSpaces': () => plugin.defaultAddressSpaces(),
      '/IpamDriver.RequestPool': (b) => plugin.requestPool(b),
      '/IpamDriver.ReleasePool': (b) => plugin.releasePool(b),
      '/IpamDriver.RequestAddress': (b) => plugin.requestAddress(b),
      '/IpamDriver.ReleaseAddress': (b) => plugin.releaseAddress(b),
    };
    for (const [path, handler] of Object.entries(routes)) {
      app.post(path, async (req) => handler(obj(req.body)));
    }
  };
}
