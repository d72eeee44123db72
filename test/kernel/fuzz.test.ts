/**
 * Fuzzing the API and the Docker plugin protocol with requests generated from their schemas (fast-check; a fixed
 * seed in CI, a new one locally). Whatever comes in: no internal error (the API never answers 500; the plugin, which
 * answers every failure with 500 {"Err"}, never fails inside), no hang, and a refused request changes nothing in the
 * kernel, the firewall or the store.
 */
import { join } from 'node:path';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { ConnectBody, NetworkCreate } from '../../src/api/networks.js';
import { ExecBody, KillBody, RunBody, StopBody } from '../../src/api/containers.js';
import { ImportBody } from '../../src/api/images.js';
import { buildApp } from '../../src/daemon/app.js';
import { ContainerService } from '../../src/daemon/containers.js';
import { DockerPlugin, dockerPluginRoutes } from '../../src/plugin/docker-plugin.js';
import { Runtime } from '../../src/runtime/runtime.js';
import { fromSchema, fuzzSeed, hexString, likelyString } from '../helpers/arbitraries.js';
import { describeKernel } from '../helpers/lab.js';
import { useWorld, type TestWorld } from '../helpers/world.js';

const RUNS = 500;
const TIMEOUT_MS = 10_000;

/** Everything a refused request must leave as it was. */
async function snapshot(w: TestWorld): Promise<string> {
  const { deps, lab } = w;
  const links = (await lab.handle(lab.host).linkList()).map((l) => `${l.name}|${l.alias ?? ''}`).sort();
  // The default backend is nftables: its table is the whole of tsnet's firewall (one process to read it).
  const rules = (await lab.nftTable())
    .split('\n')
    .filter((l) => l.includes('tsnet'))
    .map((l) => l.replace(/\[\d+:\d+\]/gu, '').replace(/counter packets \d+ bytes \d+/gu, 'counter'));
  const store = {
    networks: deps.store.networks().map((n) => n.id),
    endpoints: deps.store.endpoints().map((e) => e.id),
    sandboxes: deps.store.sandboxes().map((s) => s.id),
    dockerPools: deps.store.dockerPools(),
    pools: deps.ipam.poolList.map((p) => [p.id, p.addresses.sort()]),
  };
  return JSON.stringify({ links, rules, store, namespaces: deps.namespaces.list() });
}

const withTimeout = <T>(p: Promise<T>, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer in ${TIMEOUT_MS} ms`)), TIMEOUT_MS).unref())]);

describeKernel('fuzzing the API and the plugin protocol', () => {
  const world = useWorld();
  let runtime: Runtime;

  beforeEach(async () => {
    const w = world();
    runtime = Runtime.open(join(w.lab.dir, 'runtime'));
    await w.ctl.createNetwork({ name: 'web', subnet: '10.7.0.0/24' });
    await w.ctl.ensurePredefinedNetworks();
  });
  afterEach(() => runtime.close());

  it(`answers ${RUNS} generated API requests without a 500, and changes nothing when it refuses`, async () => {
    const w = world();
    const app = buildApp({
      controller: w.ctl,
      runtime,
      containers: new ContainerService(w.ctl, runtime),
      logLevel: 'silent',
      info: () => ({
        version: 'fuzz',
        daemon: { pid: 1, root: '', socket: '', execRoot: '', iptables: true, firewall: 'iptables' },
        store: '',
        kernel: { features: [], cgroups: 'none' },
      }),
    });
    // The state after the previous request: a refused one must leave it as it is.
    let last: string | undefined;
    const ref = fc.oneof(fc.constantFrom('web', 'none', 'nope'), likelyString());
    const request = fc.oneof(
      fc.record({ method: fc.constant('POST'), url: fc.constant('/v1/networks'), body: fromSchema(NetworkCreate) }),
      fc.record({ method: fc.constant('POST'), url: ref.map((r) => `/v1/networks/${encodeURIComponent(r)}/connect`), body: fromSchema(ConnectBody) }),
      fc.record({ method: fc.constant('DELETE'), url: ref.map((r) => `/v1/networks/${encodeURIComponent(r)}`), body: fc.constant(undefined) }),
      fc.record({ method: fc.constant('POST'), url: fc.constant('/v1/containers'), body: fromSchema(RunBody) }),
      fc.record({ method: fc.constant('POST'), url: ref.map((r) => `/v1/containers/${encodeURIComponent(r)}/kill`), body: fromSchema(KillBody) }),
      fc.record({ method: fc.constant('POST'), url: ref.map((r) => `/v1/containers/${encodeURIComponent(r)}/stop`), body: fromSchema(StopBody) }),
      fc.record({ method: fc.constant('POST'), url: ref.map((r) => `/v1/containers/${encodeURIComponent(r)}/exec`), body: fromSchema(ExecBody) }),
      fc.record({ method: fc.constant('POST'), url: fc.constant('/v1/images/import'), body: fromSchema(ImportBody) }),
    );
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const before = last ?? (last = await snapshot(w));
        const payload = r.body === undefined ? undefined : JSON.stringify(r.body);
        const res = await withTimeout(
          app.inject({
            method: r.method as 'POST',
            url: r.url,
            ...(payload !== undefined ? { payload, headers: { 'content-type': 'application/json' } } : {}),
          }),
          `${r.method} ${r.url}`,
        );
        expect(res.statusCode, `${r.method} ${r.url} ${payload ?? ''}: ${res.body}`).toBeLessThan(500);
        const after = await snapshot(w);
        if (res.statusCode >= 400) expect(after, `${r.method} ${r.url} ${payload ?? ''} changed something`).toBe(before);
        last = after;
      }),
      { numRuns: RUNS, seed: fuzzSeed(), endOnFailure: true },
    );
    await app.close();
  });

  it(`answers ${RUNS} generated plugin calls with validation messages only, and changes nothing when it refuses`, async () => {
    const w = world();
    let last: string | undefined;
    const internal: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, done) {
        internal.push(chunk.toString());
        done();
      },
    });
    const app: FastifyInstance = Fastify({ logger: { level: 'error', stream } });
    await app.register(dockerPluginRoutes(new DockerPlugin(w.ctl)));
    const id = fc.oneof(fc.constantFrom('1'.repeat(64), '2'.repeat(64), 'a\u0000b', ''), hexString(63, 65), likelyString());
    const data = fc.array(fc.record({ AddressSpace: likelyString(), Pool: likelyString(), Gateway: likelyString() }, { requiredKeys: [] }), { maxLength: 2 });
    const call = fc.oneof(
      fc.record({
        path: fc.constant('/IpamDriver.RequestPool'),
        body: fc.record({ AddressSpace: likelyString(), Pool: likelyString(), SubPool: likelyString(), V6: fc.boolean() }, { requiredKeys: [] }),
      }),
      fc.record({
        path: fc.constant('/IpamDriver.RequestAddress'),
        body: fc.record({ PoolID: likelyString(), Address: likelyString() }, { requiredKeys: [] }),
      }),
      fc.record({
        path: fc.constant('/IpamDriver.ReleaseAddress'),
        body: fc.record({ PoolID: likelyString(), Address: likelyString() }, { requiredKeys: [] }),
      }),
      fc.record({ path: fc.constant('/IpamDriver.ReleasePool'), body: fc.record({ PoolID: likelyString() }, { requiredKeys: [] }) }),
      fc.record({
        path: fc.constant('/NetworkDriver.CreateNetwork'),
        body: fc.record(
          { NetworkID: id, IPv4Data: fc.oneof(data, fc.anything({ maxDepth: 1 })), IPv6Data: data, Options: fc.anything({ maxDepth: 2 }) },
          { requiredKeys: [] },
        ),
      }),
      fc.record({ path: fc.constant('/NetworkDriver.DeleteNetwork'), body: fc.record({ NetworkID: id }, { requiredKeys: [] }) }),
      fc.record({
        path: fc.constant('/NetworkDriver.CreateEndpoint'),
        body: fc.record(
          {
            NetworkID: id,
            EndpointID: id,
            Interface: fc.record({ Address: likelyString(), AddressIPv6: likelyString(), MacAddress: likelyString() }, { requiredKeys: [] }),
          },
          { requiredKeys: [] },
        ),
      }),
      fc.record({
        path: fc.constantFrom('/NetworkDriver.Join', '/NetworkDriver.DeleteEndpoint', '/NetworkDriver.Leave'),
        body: fc.record({ NetworkID: id, EndpointID: id }, { requiredKeys: [] }),
      }),
      fc.record({ path: fc.constantFrom('/NetworkDriver.CreateNetwork', '/IpamDriver.RequestPool'), body: fc.anything({ maxDepth: 2 }) }),
    );
    await fc.assert(
      fc.asyncProperty(call, async (c) => {
        const before = last ?? (last = await snapshot(w));
        internal.length = 0;
        const res = await withTimeout(app.inject({ method: 'POST', url: c.path, payload: JSON.stringify(c.body) }), c.path);
        const what = `${c.path} ${JSON.stringify(c.body)}: ${res.body}`;
        expect([200, 500], what).toContain(res.statusCode);
        expect(internal, what).toEqual([]);
        const after = await snapshot(w);
        if (res.statusCode === 500) {
          expect(Object.keys(res.json()), what).toEqual(['Err']);
          expect(after, `${what} changed something`).toBe(before);
        }
        last = after;
      }),
      { numRuns: RUNS, seed: fuzzSeed(), endOnFailure: true },
    );
    await app.close();
  });
});
