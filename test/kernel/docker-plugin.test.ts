import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { Controller, ControllerDeps } from '../../src/cnm/controller.js';
import type { BridgeConfig } from '../../src/drivers/bridge/options.js';
import { DockerPlugin, LOCAL_SPACE, dockerPluginRoutes } from '../../src/plugin/docker-plugin.js';
import { describeKernel, type Lab } from '../helpers/lab.js';
import { useWorld } from '../helpers/world.js';

/** The requests a real dockerd 20.10 sent to a stub plugin (shared/fixtures), in order. */
interface Captured {
  seq: number;
  path: string;
  headers: Record<string, string>;
  body: string;
  request: Record<string, unknown> | null;
  response: Record<string, unknown>;
}
/** A copy of shared/fixtures/dockerd-20.10-plugin-session.jsonl, kept in the repository so that the test always runs. */
const FIXTURE = fileURLToPath(new URL('../fixtures/dockerd-20.10-plugin-session.jsonl', import.meta.url));
const session = (): Captured[] =>
  readFileSync(FIXTURE, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Captured);

describeKernel("Docker's plugin protocols", () => {
  const world = useWorld();
  const lab = (): Lab => world().lab;
  let ctl: Controller;
  let deps: ControllerDeps;
  let app: FastifyInstance;

  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: path, payload: body, headers: { host: '', ...headers } });
  const serve = async (): Promise<void> => {
    ({ ctl, deps } = world());
    app = Fastify({ logger: false });
    await app.register(dockerPluginRoutes(new DockerPlugin(ctl)));
  };

  beforeEach(serve);
  afterEach(async () => {
    await app?.close();
  });

  it('answers the whole captured dockerd 20.10 session, and the kernel follows', async () => {
    const l = lab();
    const pools = new Map<string, string>(); // the stub's PoolIDs -> ours
    for (const call of session()) {
      // The stub's own ids and address space are replaced by tsnet's; the bytes are otherwise dockerd's.
      let body = call.body.replaceAll('StubLocal', LOCAL_SPACE);
      for (const [stub, ours] of pools) body = body.replaceAll(`"${stub.replace('StubLocal', LOCAL_SPACE)}"`, JSON.stringify(ours));
      const headers = Object.fromEntries(
        Object.entries(call.headers)
          .filter(([k]) => k !== 'Host' && k !== 'Content-Length')
          .map(([k, v]) => [k.toLowerCase(), v]),
      );
      const res = await post(call.path, body, headers);
      expect(res.statusCode, `${call.seq} ${call.path}: ${res.body}`).toBe(200);
      expect(res.headers['content-type']).toBe('application/vnd.docker.plugins.v1.1+json');
      const answer = JSON.parse(res.body) as Record<string, unknown>;
      const req = call.request ?? {};
      switch (call.path) {
        case '/Plugin.Activate':
          expect(answer).toEqual({ Implements: ['NetworkDriver', 'IpamDriver'] });
          break;
        case '/IpamDriver.RequestPool':
          pools.set(String((call.response as { PoolID: string }).PoolID), String(answer.PoolID));
          if (req.Pool) expect(answer.Pool).toBe(req.Pool);
          else expect(String(answer.Pool)).toMatch(/^\d+\.\d+\.\d+\.\d+\/\d+$/u);
          break;
        case '/IpamDriver.RequestAddress':
          expect(String(answer.Address)).toMatch(/\/\d+$/u);
          if (req.Address) expect(String(answer.Address).split('/')[0]).toBe(req.Address);
          break;
        case '/NetworkDriver.CreateNetwork': {
          const n = ctl.network(String(req.NetworkID));
          expect(n.owner).toBe('docker');
          expect(await l.ip(l.host, 'link', 'show', (n.config as BridgeConfig).bridgeName)).toHaveLength(1);
          break;
        }
        case '/NetworkDriver.CreateEndpoint': {
          const iface = req.Interface as { Address: string; MacAddress: string };
          expect(answer).toEqual(iface.MacAddress ? {} : { Interface: { MacAddress: expect.stringMatching(/^02:42:/u) as string } });
          break;
        }
        case '/NetworkDriver.Join': {
          const name = (answer.InterfaceName as { SrcName: string; DstPrefix: string }).SrcName;
          expect(answer).toMatchObject({ InterfaceName: { DstPrefix: 'eth' }, DisableGatewayService: false });
          expect(String(answer.Gateway)).toMatch(/^\d+\.\d+\.\d+\.1$/u);
          // dockerd takes SrcName from its own namespace: it must be there, on no bridge.
          expect((await l.ip(l.host, 'link', 'show', name))[0]).not.toHaveProperty('master');
          break;
        }
        case '/NetworkDriver.DeleteEndpoint':
          expect(ctl.endpoint(String(req.EndpointID))).toBeUndefined();
          expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifalias ?? '').endsWith(String(req.EndpointID)))).toEqual([]);
          break;
        case '/NetworkDriver.DeleteNetwork':
          expect(ctl.networks().some((x) => x.id === String(req.NetworkID))).toBe(false);
          break;
      }
    }
    // Everything the session made, it removed: interfaces, rules, pools, addresses.
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifalias ?? '').startsWith('tsnet:'))).toEqual([]);
    expect(deps.ipam.poolList).toEqual([]);
    expect(deps.store.dockerPools()).toEqual([]);
    expect(await l.firewallText()).not.toMatch(/tsnet:[0-9a-f]{64}/u);
  });

  it('is idempotent where Docker needs it, answers Err on failure and 404 to unknown calls', async () => {
    const net = '1'.repeat(64);
    const ep = '2'.repeat(64);
    const create = JSON.stringify({
      NetworkID: net,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '10.123.0.0/24', Gateway: '10.123.0.1/24' }],
      IPv6Data: [],
    });
    expect((await post('/NetworkDriver.CreateNetwork', create)).statusCode).toBe(200);
    const e = JSON.stringify({
      NetworkID: net,
      EndpointID: ep,
      Interface: { Address: '10.123.0.2/24', AddressIPv6: '', MacAddress: '02:42:0a:7b:00:99' },
      Options: null,
    });
    expect(JSON.parse((await post('/NetworkDriver.CreateEndpoint', e)).body)).toEqual({}); // the MAC was given: nothing to answer
    for (let i = 0; i < 2; i++) {
      expect((await post('/NetworkDriver.Leave', JSON.stringify({ NetworkID: net, EndpointID: ep }))).statusCode).toBe(200);
      expect((await post('/NetworkDriver.DeleteEndpoint', JSON.stringify({ NetworkID: net, EndpointID: ep }))).statusCode).toBe(200);
      expect((await post('/IpamDriver.ReleaseAddress', JSON.stringify({ PoolID: 'nosuchpool', Address: '10.0.0.1' }))).statusCode).toBe(200);
    }
    const join = await post('/NetworkDriver.Join', JSON.stringify({ NetworkID: net, EndpointID: ep, SandboxKey: '/x', Options: {} }));
    expect(join.statusCode).toBe(500);
    expect(JSON.parse(join.body)).toEqual({ Err: `endpoint ${ep.slice(0, 12)} does not exist` });
    const bad = await post(
      '/IpamDriver.RequestPool',
      JSON.stringify({ AddressSpace: LOCAL_SPACE, Pool: '', SubPool: '10.1.0.0/24', Options: null, V6: false }),
    );
    expect(JSON.parse(bad.body)).toEqual({ Err: 'an ip range (SubPool) needs a subnet (Pool)' });
    expect(JSON.parse((await post('/IpamDriver.RequestPool', '{"AddressSpace":')).body)).toEqual({ Err: 'the request body is not JSON' });
    expect((await post('/NetworkDriver.NoSuchMethod', '')).statusCode).toBe(404);
    // Automatic pools are never handed out twice while held.
    const a = JSON.parse(
      (await post('/IpamDriver.RequestPool', JSON.stringify({ AddressSpace: LOCAL_SPACE, Pool: '', SubPool: '', Options: {}, V6: false }))).body,
    ) as { PoolID: string; Pool: string };
    const b = JSON.parse(
      (await post('/IpamDriver.RequestPool', JSON.stringify({ AddressSpace: LOCAL_SPACE, Pool: '', SubPool: '', Options: {}, V6: false }))).body,
    ) as { PoolID: string; Pool: string };
    expect(a.Pool).not.toBe(b.Pool);
    // A tsnet network cannot take a subnet that Docker holds, and Docker's network cannot be removed from tsnet.
    await expect(ctl.createNetwork({ name: 'clash', subnet: a.Pool })).rejects.toThrow(/overlaps pool/u);
    await expect(ctl.connect(net, (await ctl.createSandbox({ containerId: 'x' })).id)).rejects.toThrow(/belongs to Docker/u);
    for (const p of [a, b]) await post('/IpamDriver.ReleasePool', JSON.stringify({ PoolID: p.PoolID }));
    expect((await post('/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: net }))).statusCode).toBe(200);
    expect((await post('/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: net }))).statusCode).toBe(200);
  });

  it('keeps Docker networks, endpoints and pools across a restart of tsnet', async () => {
    const l = lab();
    const pool = JSON.parse(
      (await post('/IpamDriver.RequestPool', JSON.stringify({ AddressSpace: LOCAL_SPACE, Pool: '10.124.0.0/24', SubPool: '', Options: {}, V6: false }))).body,
    ) as { PoolID: string };
    await post(
      '/IpamDriver.RequestAddress',
      JSON.stringify({ PoolID: pool.PoolID, Address: '', Options: { RequestAddressType: 'com.docker.network.gateway' } }),
    );
    const net = '3'.repeat(64);
    const ep = '4'.repeat(64);
    await post(
      '/NetworkDriver.CreateNetwork',
      JSON.stringify({
        NetworkID: net,
        Options: { 'com.docker.network.generic': {} },
        IPv4Data: [{ AddressSpace: LOCAL_SPACE, Pool: '10.124.0.0/24', Gateway: '10.124.0.1/24' }],
        IPv6Data: [],
      }),
    );
    const addr = JSON.parse((await post('/IpamDriver.RequestAddress', JSON.stringify({ PoolID: pool.PoolID, Address: '', Options: null }))).body) as {
      Address: string;
    };
    expect(addr.Address).toBe('10.124.0.2/24');
    await post(
      '/NetworkDriver.CreateEndpoint',
      JSON.stringify({ NetworkID: net, EndpointID: ep, Interface: { Address: addr.Address, AddressIPv6: '', MacAddress: '' }, Options: {} }),
    );
    // Restart: a new controller on the same state (Docker replays nothing).
    await app.close();
    await world().reopen();
    await serve();
    const joined = JSON.parse((await post('/NetworkDriver.Join', JSON.stringify({ NetworkID: net, EndpointID: ep, SandboxKey: '/x', Options: {} }))).body) as {
      InterfaceName: { SrcName: string };
    };
    expect(await l.ip(l.host, 'link', 'show', joined.InterfaceName.SrcName)).toHaveLength(1);
    const next = JSON.parse((await post('/IpamDriver.RequestAddress', JSON.stringify({ PoolID: pool.PoolID, Address: '', Options: null }))).body) as {
      Address: string;
    };
    expect(next.Address).toBe('10.124.0.3/24');
    const taken = await post('/IpamDriver.RequestAddress', JSON.stringify({ PoolID: pool.PoolID, Address: '10.124.0.2', Options: null }));
    expect(JSON.parse(taken.body)).toEqual({ Err: 'address 10.124.0.2 is already in use' });
    expect((await l.ip(l.host, 'link')).filter((x) => x.ifalias === `tsnet:endpoint:${ep}`)).toHaveLength(1);

    // The pair gone while tsnet was down (a reboot, the container's namespace destroyed): the endpoint goes at start.
    await app.close();
    await l.exec(l.host, 'ip', ['link', 'del', joined.InterfaceName.SrcName]);
    const report = await world().reopen();
    await serve();
    expect(report.removed).toContain(`Docker's endpoint docker-${ep.slice(0, 12)}: its veth pair is gone`);
    expect(deps.store.endpoints()).toEqual([]);
    expect(JSON.parse((await post('/NetworkDriver.DeleteEndpoint', JSON.stringify({ NetworkID: net, EndpointID: ep }))).body)).toEqual({});
  });

  it('never touches an interface it did not create: a taken bridge name, a taken endpoint name, odd ids', async () => {
    const l = lab();
    const before = await l.ip(l.host, 'link');
    const create = (id: string, bridge: string) =>
      post(
        '/NetworkDriver.CreateNetwork',
        JSON.stringify({
          NetworkID: id,
          Options: { 'com.docker.network.generic': { 'com.docker.network.bridge.name': bridge } },
          IPv4Data: [{ AddressSpace: LOCAL_SPACE, Pool: '10.125.0.0/24', Gateway: '10.125.0.1/24' }],
          IPv6Data: [],
        }),
      );
    const taken = await create('5'.repeat(64), 'uplink0');
    expect(JSON.parse(taken.body)).toEqual({ Err: expect.stringMatching(/^the name "uplink0" is taken by an interface tsnet did not create/u) as string });
    expect((await l.ip(l.host, 'link')).filter((x) => x.ifalias)).toEqual([]);
    expect((await create('6'.repeat(64), 'br-plugin')).statusCode).toBe(200);
    const endpoint = (id: string) =>
      post(
        '/NetworkDriver.CreateEndpoint',
        JSON.stringify({ NetworkID: '6'.repeat(64), EndpointID: id, Interface: { Address: '', AddressIPv6: '', MacAddress: '' }, Options: {} }),
      );
    // Two ids that share their first 7 (and 60) characters get two pairs.
    expect((await endpoint(`${'a'.repeat(60)}0001`)).statusCode).toBe(200);
    expect((await endpoint(`${'a'.repeat(60)}0002`)).statusCode).toBe(200);
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifalias ?? '').startsWith('tsnet:endpoint:'))).toHaveLength(2);
    // A foreign link holding the name an endpoint would get is refused, and left as it was.
    const id = `${'b'.repeat(63)}1`;
    const name = `veth${createHash('sha256').update(id).digest('hex').slice(0, 11)}`;
    await l.exec(l.host, 'ip', ['link', 'add', name, 'type', 'veth', 'peer', 'name', 'foreign1']);
    expect(JSON.parse((await endpoint(id)).body)).toEqual({
      Err: `the name "${name}" is taken by an interface tsnet did not create (veth ${(await l.ip(l.host, 'link', 'show', name))[0]!.ifindex})`,
    });
    expect((await l.ip(l.host, 'link', 'show', name))[0]).not.toHaveProperty('ifalias');
    // Ids that are not Docker's 64 hex digits never reach the kernel.
    expect(JSON.parse((await endpoint('a\u0000b')).body)).toEqual({ Err: 'EndpointID "a\\u0000b" is not 64 hexadecimal digits' });
    await l.exec(l.host, 'ip', ['link', 'del', name]);
    for (const e of [`${'a'.repeat(60)}0001`, `${'a'.repeat(60)}0002`])
      await post('/NetworkDriver.DeleteEndpoint', JSON.stringify({ NetworkID: '6'.repeat(64), EndpointID: e }));
    await post('/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: '6'.repeat(64) }));
    expect((await l.ip(l.host, 'link')).map((x) => x.ifname)).toEqual(before.map((x) => x.ifname));
  });
});
