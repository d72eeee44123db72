/**
 * Docker's remote network driver and IPAM plugin protocols (see docs/docker-plugin.md), served on tsnet's own
 * controller, IPAM and store. A Docker network is a tsnet bridge network owned by Docker (same id); an endpoint
 * is a veth pair made whole in the host namespace, whose container end dockerd moves into its sandbox after Join.
 * Everything is persisted before it is answered: Docker never replays its calls after a restart of tsnet.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Controller } from '../cnm/controller.js';
import type { DockerPoolRecord, EndpointRecord } from '../cnm/types.js';
import { BridgeDriver, macFromIpv4 } from '../drivers/bridge/bridge-driver.js';
import { BRIDGE_OPTIONS } from '../drivers/bridge/options.js';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { Subnet } from '../ipam/subnet.js';

export const LOCAL_SPACE = 'tsnet-local';
export const GLOBAL_SPACE = 'tsnet-global';
const MEDIA_TYPE = 'application/vnd.docker.plugins.v1.1+json';
const KNOWN_OPTIONS = new Set<string>(Object.values(BRIDGE_OPTIONS));

type Json = Record<string, unknown>;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const plainIp = (cidr: string): string => cidr.split('/')[0]!;

/** Docker sends a MAC in endpoint options as base64 of the six raw bytes. */
function macFromBase64(b64: string): string | undefined {
  const bytes = Buffer.from(b64, 'base64');
  return bytes.length === 6 ? [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':') : undefined;
}

function need(body: Json, field: string): string {
  const v = str(body[field]);
  if (!v) throw new InvalidArgumentError(`${field} is missing`);
  return v;
}

/** The protocol's operations; each takes the decoded body and returns the answer body. */
export class DockerPlugin {
  private readonly bridge: BridgeDriver;

  constructor(private readonly controller: Controller) {
    const driver = controller.driver('bridge');
    if (!(driver instanceof BridgeDriver)) throw new TsnetError('TSNET_ERR_INTERNAL', 'the Docker plugin needs the bridge driver');
    this.bridge = driver;
  }

  private get store() {
    return this.controller.deps.store;
  }
  private get ipam() {
    return this.controller.deps.ipam;
  }

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

  requestPool(body: Json): Promise<Json> {
    return this.controller.serialised(async () => {
      const spaceName = str(body.AddressSpace) || LOCAL_SPACE;
      if (spaceName !== LOCAL_SPACE && spaceName !== GLOBAL_SPACE) throw new InvalidArgumentError(`unknown address space "${spaceName}" (tsnet has ${LOCAL_SPACE} and ${GLOBAL_SPACE})`);
      const space = spaceName === LOCAL_SPACE ? 'local' : 'global';
      const subnet = str(body.Pool);
      const subPool = str(body.SubPool);
      const v6 = body.V6 === true;
      if (!subnet && subPool) throw new InvalidArgumentError('an ip range (SubPool) needs a subnet (Pool)');
      // An identical explicit request gets the same pool: Docker counts references.
      const same = subnet ? this.store.dockerPools().find((p) => p.subnet === subnet && (p.ipRange ?? '') === subPool && p.space === space) : undefined;
      if (same) {
        this.store.putDockerPool({ ...same, references: same.references + 1 });
        return { PoolID: same.id, Pool: same.subnet, Data: {} };
      }
      const avoid = subnet ? [] : await this.controller.hostRoutes();
      const config = this.ipam.planPool({ space, family: v6 ? 6 : 4, gateway: null, avoid, ...(subnet ? { subnet } : {}), ...(subPool ? { ipRange: subPool } : {}) });
      // A subnet that a network of tsnet's holds (without IPAM pool, as Docker's own do) is refused too.
      for (const n of this.controller.networks.values()) {
        for (const p of [n.pools.v4, n.pools.v6]) {
          if (p && p.external && config.subnet.toString() !== p.subnet && config.subnet.overlaps(Subnet.parse(p.subnet))) {
            throw new TsnetError('TSNET_ERR_POOL_OVERLAP', `subnet ${config.subnet.toString()} overlaps network "${n.name}" (${p.subnet})`);
          }
        }
      }
      const pool = this.ipam.addPool(config);
      const record: DockerPoolRecord = { id: pool.id, space, subnet: config.subnet.toString(), ...(subPool ? { ipRange: config.range.toString() } : {}), references: 1 };
      try {
        this.store.transaction(() => {
          this.store.putDockerPool(record);
          this.store.setCursor(pool.id, pool.nextSearch);
        });
      } catch (err) {
        this.ipam.releasePool(pool.id);
        throw err;
      }
      return { PoolID: pool.id, Pool: record.subnet, Data: {} };
    });
  }

  releasePool(body: Json): Promise<Json> {
    return this.controller.serialised(async () => {
      const id = need(body, 'PoolID');
      const record = this.store.dockerPools().find((p) => p.id === id);
      if (!record) return {}; // already released
      if (record.references > 1) {
        this.store.putDockerPool({ ...record, references: record.references - 1 });
        return {};
      }
      this.store.transaction(() => this.store.deleteDockerPool(id));
      this.ipam.releasePool(id);
      return {};
    });
  }

  requestAddress(body: Json): Promise<Json> {
    return this.controller.serialised(async () => {
      const id = need(body, 'PoolID');
      const pool = this.ipam.pool(id);
      const wanted = str(body.Address);
      const address = pool.allocate(wanted || undefined);
      try {
        this.store.transaction(() => {
          this.store.addAddress(id, address);
          this.store.setCursor(id, pool.nextSearch);
        });
      } catch (err) {
        pool.release(address);
        throw err;
      }
      return { Address: `${address}/${pool.config.subnet.prefixLen}`, Data: {} };
    });
  }

  releaseAddress(body: Json): Promise<Json> {
    return this.controller.serialised(async () => {
      const id = need(body, 'PoolID');
      const address = plainIp(need(body, 'Address'));
      const record = this.store.dockerPools().find((p) => p.id === id);
      if (!record) return {};
      const pool = this.ipam.pool(id);
      if (!pool.isAllocated(address)) return {}; // already released
      this.store.transaction(() => this.store.removeAddress(id, address));
      pool.release(address);
      return {};
    });
  }

  // ---- NetworkDriver

  capabilities(): Json {
    return { Scope: 'local', ConnectivityScope: 'local' };
  }

  async createNetwork(body: Json): Promise<Json> {
    const id = need(body, 'NetworkID');
    if (this.controller.networks.has(id)) return {};
    const options = obj(body.Options);
    const generic = obj(options['com.docker.network.generic']);
    const v4 = obj((body.IPv4Data as unknown[] | null)?.[0]);
    const v6 = obj((body.IPv6Data as unknown[] | null)?.[0]);
    const external = {
      ...(str(v4.Pool) ? { v4: { subnet: str(v4.Pool), ...(str(v4.Gateway) ? { gateway: plainIp(str(v4.Gateway)) } : {}) } } : {}),
      ...(str(v6.Pool) ? { v6: { subnet: str(v6.Pool), ...(str(v6.Gateway) ? { gateway: plainIp(str(v6.Gateway)) } : {}) } } : {}),
    };
    await this.controller.createNetwork({
      id,
      name: `docker-${id.slice(0, 12)}`,
      driver: 'bridge',
      owner: 'docker',
      internal: options['com.docker.network.internal'] === true,
      ipv6: !!external.v6,
      // Docker's own bridge driver ignores -o options it does not know; so do Docker networks here.
      options: Object.fromEntries(Object.entries(generic).filter(([k]) => KNOWN_OPTIONS.has(k)).map(([k, v]) => [k, String(v)])),
      externalPools: external,
    });
    return {};
  }

  async deleteNetwork(body: Json): Promise<Json> {
    const id = need(body, 'NetworkID');
    if (!this.controller.networks.has(id)) return {}; // already gone
    await this.controller.deleteNetwork(id);
    return {};
  }

  createEndpoint(body: Json): Promise<Json> {
    return this.controller.serialised(async () => {
      const networkId = need(body, 'NetworkID');
      const id = need(body, 'EndpointID');
      const network = this.controller.network(networkId);
      const iface = obj(body.Interface);
      const given = str(iface.MacAddress) || macFromBase64(str(obj(body.Options)['com.docker.network.endpoint.macaddress']));
      const ipv4 = str(iface.Address);
      const ipv6 = str(iface.AddressIPv6);
      const mac = given ?? (ipv4 ? macFromIpv4(ipv4) : undefined);
      const existing = this.controller.endpoints.get(id);
      if (existing) return {};
      let endpoint: EndpointRecord = {
        id,
        name: `docker-${id.slice(0, 12)}`,
        networkId: network.id,
        created: new Date().toISOString(),
        ...(ipv4 ? { ipv4 } : {}),
        ...(ipv6 ? { ipv6 } : {}),
        ...(mac ? { mac } : {}),
        aliases: [],
      };
      const names = await this.bridge.createDetachedEndpoint(this.controller.ctx, network, endpoint);
      endpoint = { ...endpoint, ...names };
      try {
        this.store.transaction(() => this.store.putEndpoint(endpoint));
      } catch (err) {
        await this.controller.ctx.host.linkDeleteMany([names.hostIfname]);
        throw err;
      }
      this.controller.endpoints.set(id, endpoint);
      // Only what Docker left empty may be answered.
      return !str(iface.MacAddress) && mac ? { Interface: { MacAddress: mac } } : {};
    });
  }

  async join(body: Json): Promise<Json> {
    const endpoint = this.controller.endpoints.get(need(body, 'EndpointID'));
    if (!endpoint?.peerIfname) throw new TsnetError('TSNET_ERR_ENDPOINT_NOT_FOUND', `endpoint ${str(body.EndpointID).slice(0, 12)} does not exist`);
    const network = this.controller.network(endpoint.networkId);
    return {
      InterfaceName: { SrcName: endpoint.peerIfname, DstPrefix: 'eth' },
      Gateway: network.internal ? '' : (network.pools.v4?.gateway ?? ''),
      GatewayIPv6: network.internal || !endpoint.ipv6 ? '' : (network.pools.v6?.gateway ?? ''),
      StaticRoutes: [],
      // No default route for internal networks, and no docker_gwbridge fallback either.
      DisableGatewayService: network.internal,
    };
  }

  deleteEndpoint(body: Json): Promise<Json> {
    return this.controller.serialised(async () => {
      const endpoint = this.controller.endpoints.get(need(body, 'EndpointID'));
      if (!endpoint) return {}; // already gone
      // The host end only: deleting it takes the pair, wherever dockerd has put the other end by now (it may be
      // moving it between namespaces at this very moment).
      if (endpoint.hostIfname) await this.controller.ctx.host.linkDeleteMany([endpoint.hostIfname]);
      this.store.transaction(() => this.store.delete('endpoints', endpoint.id));
      this.controller.endpoints.delete(endpoint.id);
      return {};
    });
  }

  async endpointOperInfo(): Promise<Json> {
    return { Value: {} };
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
      if (!(err instanceof TsnetError) || err.status >= 500) req.log.error({ err, url: req.url }, 'docker plugin call failed');
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
      '/NetworkDriver.EndpointOperInfo': () => plugin.endpointOperInfo(),
      '/NetworkDriver.DeleteEndpoint': (b) => plugin.deleteEndpoint(b),
      '/NetworkDriver.Join': (b) => plugin.join(b),
      '/NetworkDriver.Leave': () => ({}),
      '/NetworkDriver.DiscoverNew': () => ({}),
      '/NetworkDriver.DiscoverDelete': () => ({}),
      '/NetworkDriver.ProgramExternalConnectivity': () => ({}),
      '/NetworkDriver.RevokeExternalConnectivity': () => ({}),
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
