/** The Controller on fakes (no root): validation, persistence, rollback, default routes, policies, concurrency. */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RollbackError } from '../../../src/cnm/undo.js';
import { TsnetError } from '../../../src/errors.js';
import { unitWorld, type UnitWorld } from '../../helpers/fakes.js';

describe('Controller: networks', () => {
  let w: UnitWorld;
  beforeEach(async () => {
    w = await unitWorld();
  });
  afterEach(() => w.dispose());

  it('cuts a subnet from the default pools past the host routes, and persists the network before answering', async () => {
    w.host.routes = [{ dst: '172.17.0.0/16' }, { dst: 'default' }];
    const n = await w.controller.createNetwork({ name: 'web' });
    expect(n.pools.v4).toMatchObject({ subnet: '172.18.0.0/16', gateway: '172.18.0.1' });
    expect(w.deps.store.networks().map((x) => x.name)).toEqual(['web']);
    expect(w.driver.calls).toEqual(['createNetwork web']);
    expect(n.config).toEqual({ tag: 'web' });
  });

  it('refuses bad input with a code and a clear message, and changes nothing', async () => {
    await w.controller.createNetwork({ name: 'a', subnet: '10.1.0.0/24' });
    w.host.routes = [{ dst: '198.51.100.0/24' }];
    const before = { calls: [...w.driver.calls], pools: w.deps.ipam.poolList.length, stored: w.deps.store.networks().length };
    const cases: [Parameters<typeof w.controller.createNetwork>[0], string, RegExp][] = [
      [{ name: 'bad name!' }, 'TSNET_ERR_INVALID_ARGUMENT', /invalid network name "bad name!"/u],
      [{ name: 'a' }, 'TSNET_ERR_NETWORK_EXISTS', /network with name "a" already exists/u],
      [{ name: 'b', driver: 'macvlan9' }, 'TSNET_ERR_INVALID_ARGUMENT', /unknown network driver "macvlan9" \(known: bridge, host, null, overlay\)/u],
      [{ name: 'b', subnet: '10.1.0.128/25' }, 'TSNET_ERR_POOL_OVERLAP', /subnet 10\.1\.0\.128\/25 overlaps pool 10\.1\.0\.0\/24/u],
      [{ name: 'b', subnet: '198.51.100.0/25' }, 'TSNET_ERR_POOL_OVERLAP', /overlaps the host's route to 198\.51\.100\.0\/24/u],
      [{ name: 'b', subnet: '10.2.0.5/24' }, 'TSNET_ERR_INVALID_ARGUMENT', /host bits are set \(did you mean 10\.2\.0\.0\/24\?\)/u],
      [{ name: 'b', subnet6: 'fd00:1::/64' }, 'TSNET_ERR_INVALID_ARGUMENT', /an IPv6 subnet or gateway needs IPv6 enabled \(--ipv6\)/u],
      [{ name: 'b', subnet: '127.0.0.0/24' }, 'TSNET_ERR_INVALID_ARGUMENT', /overlaps loopback/u],
      [{ name: 'b', driver: 'null', subnet: '10.3.0.0/24' }, 'TSNET_ERR_INVALID_ARGUMENT', /the null driver takes no subnet/u],
      [{ name: 'b', driver: 'null', options: { x: '1' } }, 'TSNET_ERR_INVALID_ARGUMENT', /unknown option "x" for the null driver/u],
      [
        { name: 'b', driver: 'overlay' },
        'TSNET_ERR_INVALID_ARGUMENT',
        /overlay networks span hosts: start the daemon with --cluster-store and --cluster-advertise/u,
      ],
    ];
    for (const [req, code, message] of cases) {
      const err = await w.controller.createNetwork(req).catch((e: unknown) => e);
      expect(err, JSON.stringify(req)).toBeInstanceOf(TsnetError);
      expect((err as TsnetError).code, JSON.stringify(req)).toBe(code);
      expect((err as TsnetError).message).toMatch(message);
    }
    expect({ calls: w.driver.calls, pools: w.deps.ipam.poolList.length, stored: w.deps.store.networks().length }).toEqual(before);
  });

  it('gives an IPv6 network without a subnet a free /64 of fd00::/8, with its gateway', async () => {
    const n = await w.controller.createNetwork({ name: 'v6', ipv6: true });
    expect(n.pools.v6).toMatchObject({ subnet: 'fd00::/64', gateway: 'fd00::1' });
    const m = await w.controller.createNetwork({ name: 'v6b', ipv6: true, subnet6: 'fd00:5::/64', gateway6: 'fd00:5::fe' });
    expect(m.pools.v6).toMatchObject({ subnet: 'fd00:5::/64', gateway: 'fd00:5::fe' });
  });

  it('undoes a half-made network when the store write fails: pools released, the driver asked to delete it', async () => {
    w.deps.store.close(); // the next transaction throws
    await expect(w.controller.createNetwork({ name: 'n', subnet: '10.9.0.0/24' })).rejects.toThrow(/database connection is not open/u);
    expect(w.deps.ipam.poolList).toEqual([]);
    expect(w.driver.calls).toEqual(['createNetwork n', 'deleteNetwork n']);
    expect(w.controller.networks()).toEqual([]);
  });

  it('reports what could not be undone, with the original error first', async () => {
    w.deps.store.close();
    w.driver.failing.add('deleteNetwork');
    const err = await w.controller.createNetwork({ name: 'n', subnet: '10.9.0.0/24' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RollbackError);
    expect((err as RollbackError).code).toBe('TSNET_ERR_ROLLBACK');
    expect((err as RollbackError).message).toMatch(
      /database connection is not open \(and rolling back failed: could not delete network n in the kernel: deleteNetwork failed on purpose\)/u,
    );
    expect((err as RollbackError).errors).toHaveLength(2);
  });

  it('lets only one of two concurrent creates of one name through', async () => {
    const results = await Promise.allSettled([w.controller.createNetwork({ name: 'race' }), w.controller.createNetwork({ name: 'race' })]);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(w.controller.networks().map((n) => n.name)).toEqual(['race']);
  });

  it('keeps its policies: Docker networks only through Docker, none never, in-use ones name their endpoints', async () => {
    await w.controller.ensurePredefinedNetworks();
    await w.controller.ensurePredefinedNetworks();
    expect(w.controller.networks().filter((n) => n.name === 'none')).toHaveLength(1);
    await expect(w.controller.deleteNetwork('none')).rejects.toThrow('network "none" is predefined and cannot be removed');
    const id = 'd'.repeat(64);
    await w.controller.createDockerNetwork({ id, name: 'docker-d', externalPools: { v4: { subnet: '10.50.0.0/24', gateway: '10.50.0.1' } } });
    await expect(w.controller.deleteNetwork(id, 'tsnet')).rejects.toThrow(/belongs to Docker: remove it with docker network rm/u);
    await w.controller.createNetwork({ name: 'used', subnet: '10.60.0.0/24' });
    await w.controller.createNetwork({ name: 'unused', subnet: '10.61.0.0/24' });
    const s = await w.controller.createSandbox({ containerId: 'c1' });
    await w.controller.connect('used', s.id);
    await expect(w.controller.deleteNetwork('used')).rejects.toThrow(/network "used" has active endpoints: c1-used/u);
    expect(await w.controller.pruneNetworks()).toEqual(['unused']);
    await w.controller.deleteNetwork(id, 'docker');
    expect(
      w.controller
        .networks()
        .map((n) => n.name)
        .sort(),
    ).toEqual(['none', 'used']);
  });

  it('makes Docker\'s default network "bridge" when asked, uses it for containers given none, and never removes it', async () => {
    expect(w.controller.defaultNetwork()).toBe('none');
    await w.controller.ensurePredefinedNetworks({ defaultBridge: 'tsnet0' });
    expect(w.controller.network('bridge')).toMatchObject({ driver: 'bridge', options: { 'com.docker.network.bridge.name': 'tsnet0' } });
    expect(w.controller.defaultNetwork()).toBe('bridge');
    await expect(w.controller.deleteNetwork('bridge')).rejects.toThrow('network "bridge" is predefined and cannot be removed');
    expect(await w.controller.pruneNetworks()).toEqual([]);
  });

  it("refuses a tsnet subnet over a Docker network's, and a Docker network over a tsnet one", async () => {
    await w.controller.createDockerNetwork({ id: 'e'.repeat(64), name: 'docker-e', externalPools: { v4: { subnet: '10.70.0.0/24' } } });
    await expect(w.controller.createNetwork({ name: 'x', subnet: '10.70.0.0/16' })).rejects.toThrow(
      'subnet 10.70.0.0/16 overlaps network "docker-e" (10.70.0.0/24)',
    );
    await w.controller.createNetwork({ name: 'y', subnet: '10.71.0.0/24' });
    await expect(w.controller.createDockerNetwork({ id: 'f'.repeat(64), name: 'docker-f', externalPools: { v4: { subnet: '10.71.0.0/25' } } })).rejects.toThrow(
      'subnet 10.71.0.0/25 overlaps network "y" (10.71.0.0/24)',
    );
  });
});

describe('Controller: sandboxes and endpoints', () => {
  let w: UnitWorld;
  beforeEach(async () => {
    w = await unitWorld();
    await w.controller.createNetwork({ name: 'a', subnet: '10.1.0.0/24' });
    await w.controller.createNetwork({ name: 'b', subnet: '10.2.0.0/24' });
    await w.controller.createNetwork({ name: 'i', subnet: '10.3.0.0/24', internal: true });
  });
  afterEach(() => w.dispose());

  it('hands out addresses in order, names interfaces eth0, eth1, and gives the default route to the first with a gateway', async () => {
    const s = await w.controller.createSandbox({ containerId: 'c1', hostname: 'one' });
    const ei = await w.controller.connect('i', s.id);
    const ea = await w.controller.connect('a', s.id, { aliases: ['web'] });
    const eb = await w.controller.connect('b', s.id, { ip: '10.2.0.77' });
    expect([ei.ipv4, ea.ipv4, eb.ipv4]).toEqual(['10.3.0.2/24', '10.1.0.2/24', '10.2.0.77/24']);
    expect([ei.ifname, ea.ifname, eb.ifname]).toEqual(['eth0', 'eth1', 'eth2']);
    expect(w.driver.calls.filter((c) => c.startsWith('join'))).toEqual([
      'join c1-i as eth0 with the default route',
      'join c1-a as eth1 with the default route',
      'join c1-b as eth2',
    ]);
    expect(w.deps.store.addresses(w.controller.network('b').pools.v4!.id)).toEqual(['10.2.0.77']);
    expect(readFileSync(`${w.controller.sandboxFilesDir(s.id)}/hosts`, 'utf8')).toContain('10.1.0.2\tone web');
  });

  it('moves the default route when its endpoint leaves, and releases the addresses', async () => {
    const s = await w.controller.createSandbox({ containerId: 'c1' });
    await w.controller.connect('a', s.id);
    await w.controller.connect('b', s.id);
    await w.controller.disconnect('a', s.id);
    expect(w.sandboxHandles[0]!.calls).toContain('route default via 10.2.0.1');
    expect(w.deps.ipam.pool(w.controller.network('a').pools.v4!.id).addresses).toEqual([]);
    expect(w.deps.store.addresses(w.controller.network('a').pools.v4!.id)).toEqual([]);
    await expect(w.controller.disconnect('a', s.id)).rejects.toMatchObject({ code: 'TSNET_ERR_ENDPOINT_NOT_FOUND' });
  });

  it('refuses a second connect, a taken address, a host-driver mismatch, and a Docker network', async () => {
    const s = await w.controller.createSandbox({ containerId: 'c1' });
    await w.controller.connect('a', s.id, { ip: '10.1.0.9' });
    const t = await w.controller.createSandbox({ containerId: 'c2' });
    await expect(w.controller.connect('a', s.id)).rejects.toThrow(/is already connected to network "a"/u);
    await expect(w.controller.connect('a', t.id, { ip: '10.1.0.9' })).rejects.toMatchObject({
      code: 'TSNET_ERR_CONFLICT',
      message: 'address 10.1.0.9 is already in use',
    });
    await expect(w.controller.connect('a', t.id, { ip6: 'fd00::5' })).rejects.toThrow('network "a" has no IPv6 subnet');
    await w.controller.createNetwork({ name: 'host', driver: 'host' });
    await expect(w.controller.connect('host', t.id)).rejects.toThrow(/needs a sandbox in the host's namespace/u);
    await w.controller.createDockerNetwork({ id: 'd'.repeat(64), name: 'docker-d', externalPools: { v4: { subnet: '10.50.0.0/24' } } });
    await expect(w.controller.connect('docker-d', t.id)).rejects.toThrow(/belongs to Docker/u);
    expect(w.controller.joinedTo(t.id)).toEqual([]);
  });

  it('gives the addresses back when the join fails, leaves the files as they were, and records nothing', async () => {
    const s = await w.controller.createSandbox({ containerId: 'c1', hostname: 'one' });
    await w.controller.connect('b', s.id);
    const files = (): string[] => ['hosts', 'resolv.conf'].map((f) => readFileSync(`${w.controller.sandboxFilesDir(s.id)}/${f}`, 'utf8'));
    const before = files();
    w.driver.failing.add('join');
    await expect(w.controller.connect('a', s.id)).rejects.toThrow('join failed on purpose');
    expect(w.deps.ipam.pool(w.controller.network('a').pools.v4!.id).addresses).toEqual([]);
    expect(w.deps.store.endpoints().map((e) => e.name)).toEqual(['c1-b']);
    expect(files()).toEqual(before);
    expect(before[0]).toContain('10.2.0.2\tone');
    const e = await w.controller.connect('a', s.id);
    expect(e.ipv4).toBe('10.1.0.3/24'); // sequential, as Docker: a just-released address is not reused first
  });

  it('joins connects asked for together in one driver call and one store transaction, each answered with its own outcome', async () => {
    const [s1, s2, s3, s4] = await Promise.all(['c1', 'c2', 'c3', 'c4'].map((c) => w.controller.createSandbox({ containerId: c })));
    w.driver.failingInMany.add('c3-a');
    const transaction = vi.spyOn(w.deps.store, 'transaction');
    const outcomes = await Promise.allSettled([
      w.controller.connect('a', s1!.id),
      w.controller.connect('a', s2!.id),
      w.controller.connect('a', s3!.id),
      w.controller.connect('nope', s4!.id),
      w.controller.connect('b', s1!.id), // the same sandbox again: done after the others, as its second endpoint
    ]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? `${o.value.name} ${o.value.ifname} ${o.value.ipv4}` : String(o.reason)))).toEqual([
      'c1-a eth0 10.1.0.2/24',
      'c2-a eth0 10.1.0.3/24',
      'Error: join of c3-a failed on purpose',
      'TsnetError: network "nope" not found',
      'c1-b eth1 10.2.0.2/24',
    ]);
    expect(w.driver.calls.filter((c) => c.startsWith('join'))).toEqual(['join-many c1-a as eth0,c2-a as eth0,c3-a as eth0', 'join c1-b as eth1']);
    // One transaction records the batch's two endpoints, one the later connect's.
    expect(transaction).toHaveBeenCalledTimes(2);
    // The failed connect gave its address back and left no record.
    expect(w.deps.ipam.pool(w.controller.network('a').pools.v4!.id).addresses).toEqual(['10.1.0.2', '10.1.0.3']);
    expect(
      w.deps.store
        .endpoints()
        .map((e) => e.name)
        .sort(),
    ).toEqual(['c1-a', 'c1-b', 'c2-a']);
    expect(w.controller.joinedTo(s3!.id)).toEqual([]);
    // The files of the sandboxes joined name their addresses; the failed one's do not.
    const hosts = (id: string): string => readFileSync(`${w.controller.sandboxFilesDir(id)}/hosts`, 'utf8');
    expect(hosts(s1!.id)).toMatch(/10\.1\.0\.2\t.*\n10\.2\.0\.2\t/u);
    expect(hosts(s2!.id)).toContain('10.1.0.3\t');
    expect(hosts(s3!.id)).not.toMatch(/10\.1\.0\.\d/u);
  });

  it('takes at most 64 connects in a batch, each batch joined in one driver call', async () => {
    const boxes = await Promise.all(Array.from({ length: 70 }, (_, i) => w.controller.createSandbox({ containerId: `m${i}` })));
    const eps = await Promise.all(boxes.map((b) => w.controller.connect('a', b.id)));
    expect(new Set(eps.map((e) => e.ipv4)).size).toBe(70);
    expect(w.driver.calls.filter((c) => c.startsWith('join')).map((c) => c.split(',').length)).toEqual([64, 6]);
  });

  it('answers a sandbox made or removed (batched or not) only after what runs once an operation is done', async () => {
    // The cluster agent announces this host's endpoints there: a removal that answered first would leave them held.
    const seen: string[] = [];
    w.controller.watchChanges(async () => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push('watched');
    });
    const made = await w.controller.createSandbox({ containerId: 'w1' });
    expect(seen).toEqual(['watched']);
    const others = await Promise.all(['w2', 'w3'].map((c) => w.controller.createSandbox({ containerId: c })));
    expect(seen.length).toBeGreaterThanOrEqual(2);
    seen.length = 0;
    await w.controller.deleteSandbox(made.id);
    expect(seen).toEqual(['watched']);
    seen.length = 0;
    await Promise.all(others.map((o) => w.controller.deleteSandbox(o.id)));
    expect(seen.length).toBeGreaterThanOrEqual(1);
    seen.length = 0;
    await expect(w.controller.deleteSandbox('no-such-sandbox')).rejects.toThrow();
    expect(seen).toEqual(['watched']);
  });

  it('removes sandboxes with all their endpoints in one leave, and their namespaces and files', async () => {
    const ids = [];
    for (const c of ['c1', 'c2', 'c3']) {
      const s = await w.controller.createSandbox({ containerId: c });
      await w.controller.connect('a', s.id);
      ids.push(s.id);
    }
    expect(w.namespaces.list()).toHaveLength(3);
    await w.controller.deleteSandboxes(ids);
    expect(w.driver.calls.filter((c) => c.startsWith('leave'))).toEqual(['leave c1-a,c2-a,c3-a']);
    expect(w.namespaces.list()).toEqual([]);
    expect(w.deps.store.sandboxes()).toEqual([]);
    expect(w.deps.store.endpoints()).toEqual([]);
    expect(w.deps.ipam.pool(w.controller.network('a').pools.v4!.id).addresses).toEqual([]);
  });
});

describe('Controller: restart and reconciliation', () => {
  let w: UnitWorld;
  beforeEach(async () => {
    w = await unitWorld();
  });
  afterEach(() => w.dispose());

  it('restores networks, endpoints and IPAM cursors from the store', async () => {
    await w.controller.createNetwork({ name: 'a', subnet: '10.1.0.0/24' });
    const s = await w.controller.createSandbox({ containerId: 'c1' });
    await w.controller.connect('a', s.id);
    await w.controller.disconnect('a', s.id);
    await w.controller.connect('a', s.id);
    const report = await w.reopen();
    expect(report).toEqual({ removed: [], recreated: [], broken: [], leftAlone: [] });
    expect(w.controller.joinedTo(s.id).map((e) => e.ipv4)).toEqual(['10.1.0.3/24']);
    const t = await w.controller.createSandbox({ containerId: 'c2' });
    expect((await w.controller.connect('a', t.id)).ipv4).toBe('10.1.0.4/24');
    expect(w.driver.calls).toContain('restore a');
  });

  it("writes every sandbox's files again from the records: a crash between the files and the record left them wrong", async () => {
    await w.controller.createNetwork({ name: 'a', subnet: '10.1.0.0/24' });
    const s = await w.controller.createSandbox({ containerId: 'c1', hostname: 'one' });
    await w.controller.connect('a', s.id);
    const hosts = `${w.controller.sandboxFilesDir(s.id)}/hosts`;
    const recorded = readFileSync(hosts, 'utf8');
    await w.controller.close();
    writeFileSync(hosts, `${recorded}10.1.0.9\tone\n`); // an endpoint whose connect the crash cut short
    expect(await w.open()).toEqual({ removed: [], recreated: [], broken: [], leftAlone: [] });
    expect(readFileSync(hosts, 'utf8')).toBe(recorded);
  });

  it('drops sandboxes whose namespace is gone, removes unrecorded namespaces and tagged links, rejoins missing endpoints', async () => {
    await w.controller.createNetwork({ name: 'a', subnet: '10.1.0.0/24' });
    const gone = await w.controller.createSandbox({ containerId: 'gone' });
    await w.controller.connect('a', gone.id);
    const kept = await w.controller.createSandbox({ containerId: 'kept' });
    const e = await w.controller.connect('a', kept.id);
    await w.controller.close();
    w.namespaces.delete(gone.id);
    await w.namespaces.create('f'.repeat(64));
    w.host.links = [
      { name: 'vethorphan', alias: `tsnet:endpoint:${'9'.repeat(64)}`, index: 40, kind: 'veth' },
      { name: 'eth9', index: 41 },
      { name: 'lo', alias: `tsnet:network:${'8'.repeat(64)}`, index: 1 },
    ];
    w.driver.missing.add(e.id);
    const report = await w.open();
    expect(report.removed).toEqual([
      `sandbox ${gone.id.slice(0, 12)}: its namespace ${gone.netnsPath} is gone (and with it 1 endpoint(s))`,
      `namespace ffffffffffff: no sandbox records it`,
      'endpoint interface vethorphan: no endpoint records it',
    ]);
    expect(report.recreated).toEqual(['endpoint kept-a: its interfaces were missing or detached']);
    expect(report.leftAlone).toEqual([`lo: tagged tsnet:network:${'8'.repeat(64)} but a device without a kind, which tsnet never makes`]);
    expect(w.host.calls).toContain('delete-many vethorphan');
    expect(w.host.links.map((l) => l.name)).toEqual(['eth9', 'lo']); // not tsnet's: left alone
    expect(w.deps.ipam.pool(w.controller.network('a').pools.v4!.id).addresses).toEqual(['10.1.0.3']);
  });
});

describe("Controller: Docker's pools and endpoints", () => {
  let w: UnitWorld;
  beforeEach(async () => {
    w = await unitWorld();
  });
  afterEach(() => w.dispose());

  it('counts references to identical explicit pools and persists addresses', async () => {
    const p1 = await w.controller.requestDockerPool({ space: 'local', v6: false, subnet: '10.80.0.0/24' });
    const p2 = await w.controller.requestDockerPool({ space: 'local', v6: false, subnet: '10.80.0.0/24' });
    expect(p2.id).toBe(p1.id);
    expect(await w.controller.requestDockerAddress(p1.id)).toBe('10.80.0.1/24');
    expect(await w.controller.requestDockerAddress(p1.id, '10.80.0.9')).toBe('10.80.0.9/24');
    await expect(w.controller.requestDockerAddress(p1.id, '10.80.0.9')).rejects.toThrow('address 10.80.0.9 is already in use');
    await w.reopen();
    expect(await w.controller.requestDockerAddress(p1.id)).toBe('10.80.0.2/24');
    await w.controller.releaseDockerAddress(p1.id, '10.80.0.9/24');
    await w.controller.releaseDockerAddress(p1.id, '10.80.0.9/24'); // twice: already released
    await w.controller.releaseDockerPool(p1.id);
    expect(w.deps.store.dockerPools()).toMatchObject([{ references: 1 }]);
    await w.controller.releaseDockerPool(p1.id);
    expect(w.deps.store.dockerPools()).toEqual([]);
    expect(w.deps.ipam.poolList).toEqual([]);
  });

  it('makes detached endpoints once per id and deletes them by their host end', async () => {
    const id = 'd'.repeat(64);
    await w.controller.createDockerNetwork({ id, name: 'docker-d', externalPools: { v4: { subnet: '10.50.0.0/24', gateway: '10.50.0.1' } } });
    const base = { id: 'e'.repeat(64), name: 'docker-e', created: 'now', ipv4: '10.50.0.2/24', aliases: [] };
    const e = await w.controller.createDetachedEndpoint(id, base);
    expect(e).toMatchObject({ kind: 'detached', hostIfname: 'vetheeeeeee', peerIfname: 'tsveeeeeee', mac: '02:42:00:00:00:01' });
    expect(await w.controller.createDetachedEndpoint(id, base)).toEqual(e);
    await w.reopen();
    expect(w.controller.endpoint(e.id)).toEqual(e);
    await w.controller.deleteDetachedEndpoint(e.id);
    await w.controller.deleteDetachedEndpoint(e.id);
    expect(w.driver.calls.filter((c) => c.startsWith('leave'))).toEqual(['leave docker-e']);
    expect(w.deps.store.endpoints()).toEqual([]);
  });

  it("checks what Docker sends as tsnet's own API input: subnets, gateways, endpoint addresses", async () => {
    w.host.routes = [{ dst: '198.51.100.0/24' }];
    const net = (n: number, subnet: string, gateway?: string) =>
      w.controller.createDockerNetwork({ id: String(n).repeat(64), name: `docker-${n}`, externalPools: { v4: { subnet, ...(gateway ? { gateway } : {}) } } });
    await expect(net(1, '127.0.0.0/24')).rejects.toThrow(/overlaps loopback/u);
    await expect(net(2, '198.51.100.0/25')).rejects.toThrow("subnet 198.51.100.0/25 overlaps the host's route to 198.51.100.0/24");
    await expect(net(3, '10.60.0.0/24', '10.61.0.1')).rejects.toThrow('gateway 10.61.0.1 is not a host address of the subnet 10.60.0.0/24');
    await expect(net(4, '10.60.0.0/24', '10.60.0.255')).rejects.toThrow(/not a host address/u);
    await expect(net(5, 'garbage')).rejects.toThrow(/invalid subnet "garbage"/u);
    await net(6, '10.60.0.0/24', '10.60.0.1');
    const ep = (ipv4: string) => w.controller.createDetachedEndpoint('6'.repeat(64), { id: 'e'.repeat(64), name: 'e', created: '', ipv4, aliases: [] });
    for (const bad of ['10.61.0.5/24', '10.60.0.1/24', '10.60.0.255/24', '10.60.0.0/24', '10.60.0.5/16']) {
      await expect(ep(bad), bad).rejects.toThrow(`IPv4 address ${bad} is not a free host address of the network's subnet 10.60.0.0/24`);
    }
    await expect(ep('garbage')).rejects.toThrow(/invalid address "garbage"/u);
    expect(w.controller.networks().map((n) => n.name)).toEqual(['docker-6']);
    expect(w.deps.store.endpoints()).toEqual([]);
  });
});
