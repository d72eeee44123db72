/**
 * Crash safety: a tsnet process running bursts of create, run, connect, disconnect and rm is killed with SIGKILL at
 * random points (100 locally with a new seed each run, 25 seeded in CI); after each, a new controller starts on the
 * same state and the kernel, the firewall and the store must agree, with no address held twice.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Controller, ControllerDeps } from '../../src/cnm/controller.js';
import type { BridgeConfig } from '../../src/drivers/bridge/options.js';
import { addressOf } from '../../src/ipam/subnet.js';
import { fuzzSeed } from '../helpers/arbitraries.js';
import { describeKernel, useLab, type Lab } from '../helpers/lab.js';
import { buildWorld, type World } from '../helpers/world.js';

const child = fileURLToPath(new URL('../../dist/test/helpers/crash-child.js', import.meta.url));
const KILLS = process.env.CI ? 25 : 100;

/** Starts the child on a seed, lets it do `after` operations plus a random moment, then kills it with SIGKILL. */
function runAndKill(world: World, l: Lab, seed: number, after: number, delayMs: number): Promise<void> {
  if (!existsSync(child)) throw new Error(`${child} is missing: the suite runs after "npm run build" (npm test does it)`);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, world.root, l.host.path!, String(seed), '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let done = -1;
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().trim().split('\n')) if (/^\d+$/u.test(line)) done = Number(line);
      if (done + 1 >= after && !p.killed) setTimeout(() => p.kill('SIGKILL'), delayMs);
    });
    p.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`child ended with ${code} (seed ${seed}): ${stderr}`))));
  });
}

/** Every record matches the kernel and the firewall, the kernel has nothing tagged that no record explains, IPAM and the store agree. */
async function expectConsistent(ctl: Controller, deps: ControllerDeps, l: Lab, what: string): Promise<void> {
  const links = await l.ip(l.host, 'link');
  const tagged = links.filter((x) => String(x.ifalias ?? '').startsWith('tsnet:'));
  for (const t of tagged) {
    const [, kind, id] = String(t.ifalias).split(':');
    expect(kind === 'network' ? ctl.networks().some((n) => n.id === id) : !!ctl.endpoint(id!), `${what}: ${t.ifname} (${String(t.ifalias)})`).toBe(true);
  }
  const rules = await l.firewallText();
  for (const n of ctl.networks().filter((x) => x.driver === 'bridge')) {
    expect(links.find((x) => x.ifname === (n.config as BridgeConfig).bridgeName)?.ifalias, `${what}: bridge of ${n.name}`).toBe(`tsnet:network:${n.id}`);
    expect(rules, `${what}: rules of ${n.name}`).toContain(`tsnet:${n.id}`);
  }
  for (const id of new Set([...rules.matchAll(/tsnet:([0-9a-f]{64})/gu)].map((m) => m[1]!)))
    expect(
      ctl.networks().some((n) => n.id === id),
      `${what}: rules of a network that is gone`,
    ).toBe(true);
  const endpoints = ctl.endpointsOf({});
  expect(
    tagged.filter((t) => String(t.ifalias).startsWith('tsnet:endpoint:')),
    what,
  ).toHaveLength(endpoints.length);
  for (const e of endpoints) {
    if (e.kind !== 'joined') throw new Error(`endpoint ${e.id} is not joined`);
    const network = ctl.network(e.networkId);
    const hostEnd = links.find((x) => x.ifname === e.hostIfname);
    expect(hostEnd, `${what}: ${e.name}`).toMatchObject({ ifalias: `tsnet:endpoint:${e.id}`, master: (network.config as BridgeConfig).bridgeName });
    const inside = (await l.ip(ctl.sandbox(e.sandboxId).ns, 'addr', 'show', e.ifname!))[0] as { addr_info: { local: string }[] };
    expect(
      inside.addr_info.map((a) => a.local),
      `${what}: ${e.name}`,
    ).toContain(addressOf(e.ipv4!));
  }
  // Each sandbox's hosts file names exactly its recorded endpoints' addresses (a crash between files and record is mended).
  for (const s of ctl.sandboxes()) {
    const hosts = readFileSync(join(ctl.sandboxFilesDir(s.record.id), 'hosts'), 'utf8');
    const named = [...hosts.matchAll(/^(\d+\.\d+\.\d+\.\d+)\t/gmu)].map((m) => m[1]).filter((a) => a !== '127.0.0.1');
    expect(named.sort(), `${what}: hosts of ${s.record.id.slice(0, 12)}`).toEqual(
      endpoints
        .filter((e) => e.kind === 'joined' && e.sandboxId === s.record.id)
        .map((e) => addressOf(e.ipv4!))
        .sort(),
    );
  }
  // Namespaces pinned by tsnet are exactly its sandboxes'; IPAM holds exactly the endpoints' addresses, each once.
  expect(deps.namespaces.list().sort(), what).toEqual(
    ctl
      .sandboxes()
      .map((s) => s.record.id)
      .sort(),
  );
  for (const n of ctl.networks().filter((x) => x.pools.v4)) {
    const held = endpoints.filter((e) => e.networkId === n.id).map((e) => addressOf(e.ipv4!));
    expect(new Set(held).size, `${what}: an address held twice in ${n.name}`).toBe(held.length);
    expect(deps.ipam.pool(n.pools.v4!.id).addresses.sort(), `${what}: IPAM of ${n.name}`).toEqual(held.sort());
  }
  expect(
    deps.store
      .endpoints()
      .map((e) => e.id)
      .sort(),
    what,
  ).toEqual(endpoints.map((e) => e.id).sort());
}

describeKernel('crash safety', () => {
  const lab = useLab();

  it(`recovers from ${KILLS} kill -9 points in bursts of create, run, connect and rm: kernel, firewall and store agree`, async () => {
    const l = lab();
    const world = await buildWorld(l, 'crash');
    const base = fuzzSeed();
    for (let round = 0; round < KILLS; round++) {
      const seed = base + round;
      const what = `kill ${round + 1} (seed ${seed})`;
      await runAndKill(world, l, seed, 1 + (seed % 12), seed % 7);
      const { controller, report, deps } = await world.open();
      expect(report.broken, what).toEqual([]);
      await expectConsistent(controller, deps, l, what);
      await controller.close();
    }
    // Tearing it all down leaves nothing behind.
    const { controller, deps } = await world.open();
    await controller.deleteSandboxes(controller.sandboxes().map((s) => s.record.id));
    for (const n of controller.networks()) await controller.deleteNetwork(n.id);
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifalias ?? '').startsWith('tsnet:'))).toEqual([]);
    expect(deps.namespaces.list()).toEqual([]);
    expect(await l.firewallText()).not.toMatch(/tsnet:[0-9a-f]{64}/u);
    await controller.close();
  }, 600_000);
});
