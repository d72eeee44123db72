import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DockerPlugin, LOCAL_SPACE, dockerPluginRoutes } from '../../../src/plugin/docker-plugin.js';
import { unitWorld, type UnitWorld } from '../../helpers/fakes.js';

/**
 * Which of the plugin's calls sync the store before they answer: what outlives a reboot (pools, networks, gateway
 * and auxiliary addresses, releases) is synced; what a reboot wipes (Docker's endpoints, their ports, a container's
 * own address) is committed without a sync, which still survives a crash of tsnet.
 */
describe("Docker's plugin: durability of each call's commit", () => {
  let w: UnitWorld;
  let app: FastifyInstance;
  const commits: string[] = [];

  beforeEach(async () => {
    w = await unitWorld();
    app = Fastify({ logger: false });
    await app.register(dockerPluginRoutes(new DockerPlugin(w.controller)));
    const store = w.deps.store;
    const real = store.transaction.bind(store);
    vi.spyOn(store, 'transaction').mockImplementation((fn, durability = 'durable') => {
      commits.push(durability);
      return real(fn, durability);
    });
  });
  afterEach(async () => {
    await app.close();
    await w.dispose();
  });

  /** The call's answer, and the durability of each commit it made. */
  const call = async (path: string, body: object): Promise<{ answer: Record<string, unknown>; commits: string[] }> => {
    commits.length = 0;
    const r = await app.inject({ method: 'POST', url: `/${path}`, payload: JSON.stringify(body) });
    expect(r.statusCode, r.body).toBe(200);
    return { answer: JSON.parse(r.body) as Record<string, unknown>, commits: [...commits] };
  };

  it('syncs what outlives a reboot and not what a reboot wipes', async () => {
    const pool = await call('IpamDriver.RequestPool', { AddressSpace: LOCAL_SPACE, Pool: '10.124.0.0/24', SubPool: '', Options: {}, V6: false });
    expect(pool.commits).toEqual(['durable']);
    const PoolID = pool.answer.PoolID;
    const gateway = await call('IpamDriver.RequestAddress', { PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } });
    expect(gateway).toEqual({ answer: { Address: '10.124.0.1/24', Data: {} }, commits: ['durable'] });
    // An auxiliary address (--aux-address), or a container's --ip: dockerd's request does not say which.
    expect((await call('IpamDriver.RequestAddress', { PoolID, Address: '10.124.0.50', Options: null })).commits).toEqual(['durable']);
    const NetworkID = '3'.repeat(64);
    const network = await call('NetworkDriver.CreateNetwork', {
      NetworkID,
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: LOCAL_SPACE, Pool: '10.124.0.0/24', Gateway: '10.124.0.1/24' }],
      IPv6Data: [],
    });
    expect(network.commits.length).toBeGreaterThan(0);
    expect(network.commits.every((c) => c === 'durable')).toBe(true);

    // A container's endpoint, from its address to its removal.
    const address = await call('IpamDriver.RequestAddress', { PoolID, Address: '', Options: null });
    expect(address).toEqual({ answer: { Address: '10.124.0.2/24', Data: {} }, commits: ['volatile'] });
    const EndpointID = '4'.repeat(64);
    const Interface = { Address: '10.124.0.2/24', AddressIPv6: '', MacAddress: '' };
    expect((await call('NetworkDriver.CreateEndpoint', { NetworkID, EndpointID, Interface, Options: {} })).commits).toEqual(['volatile']);
    expect((await call('NetworkDriver.Join', { NetworkID, EndpointID, SandboxKey: '/x', Options: {} })).commits).toEqual([]);
    const portMap = [{ Proto: 6, Port: 80, HostPort: 8080, HostPortEnd: 8080, HostIP: '' }];
    const Options = { 'com.docker.network.portmap': portMap };
    expect((await call('NetworkDriver.ProgramExternalConnectivity', { NetworkID, EndpointID, Options })).commits).toEqual(['volatile']);
    expect(w.controller.endpoint(EndpointID)?.ports).toHaveLength(1);
    expect((await call('NetworkDriver.RevokeExternalConnectivity', { NetworkID, EndpointID })).commits).toEqual(['volatile']);
    expect((await call('NetworkDriver.DeleteEndpoint', { NetworkID, EndpointID })).commits).toEqual(['volatile']);
    // A release lost to a power loss would leak its address for good: dockerd never releases it again.
    expect((await call('IpamDriver.ReleaseAddress', { PoolID, Address: '10.124.0.2/24' })).commits).toEqual(['durable']);
  });

  it("forgets at start-up a Docker endpoint whose veth pair is gone, as after a reboot that took its removal's commit", async () => {
    await call('IpamDriver.RequestPool', { AddressSpace: LOCAL_SPACE, Pool: '10.125.0.0/24', SubPool: '', Options: {}, V6: false });
    const NetworkID = '5'.repeat(64);
    await call('NetworkDriver.CreateNetwork', {
      NetworkID,
      Options: { 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: LOCAL_SPACE, Pool: '10.125.0.0/24', Gateway: '10.125.0.1/24' }],
      IPv6Data: [],
    });
    const ids = ['6'.repeat(64), '7'.repeat(64)];
    for (const [i, EndpointID] of ids.entries()) {
      const Interface = { Address: `10.125.0.${i + 2}/24`, AddressIPv6: '', MacAddress: '' };
      await call('NetworkDriver.CreateEndpoint', { NetworkID, EndpointID, Interface, Options: {} });
    }
    const Options = { 'com.docker.network.portmap': [{ Proto: 6, Port: 80, HostPort: 8081, HostPortEnd: 8081, HostIP: '' }] };
    await call('NetworkDriver.ProgramExternalConnectivity', { NetworkID, EndpointID: ids[0], Options });
    expect(w.ports.held.size).toBeGreaterThan(0);
    w.driver.missing.add(ids[0]!);
    await app.close();
    const report = await w.reopen();
    expect(report.removed).toEqual([`Docker's endpoint docker-${ids[0]!.slice(0, 12)}: its veth pair is gone`]);
    expect(w.controller.endpoint(ids[0]!)).toBeUndefined();
    expect(w.controller.endpoint(ids[1]!)).toMatchObject({ kind: 'detached' });
    expect(w.deps.store.endpoints().map((e) => e.id)).toEqual([ids[1]]);
    expect(w.ports.held.size).toBe(0);
    // dockerd's DeleteEndpoint of it, should it still come, finds it gone already.
    app = Fastify({ logger: false });
    await app.register(dockerPluginRoutes(new DockerPlugin(w.controller)));
    expect((await call('NetworkDriver.DeleteEndpoint', { NetworkID, EndpointID: ids[0] })).answer).toEqual({});
  });
});
