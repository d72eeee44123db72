import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import type { Controller, ControllerDeps } from '../../src/cnm/controller.js';
import type { BridgeConfig } from '../../src/drivers/bridge/options.js';
import { describeKernel, useLab, type Lab } from '../helpers/lab.js';
import { buildWorld, type World } from '../helpers/world.js';

const child = fileURLToPath(new URL('../../dist/test/helpers/crash-child.js', import.meta.url));

/** Starts the child, lets it make `after` endpoints plus a random moment, then kills it with SIGKILL. */
function runAndKill(world: World, l: Lab, after: number): Promise<number> {
  if (!existsSync(child)) throw new Error(`${child} is missing: the suite runs after "npm run build" (npm test does it)`);
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, world.root, l.host.path!, '1000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let made = -1;
    let stderr = '';
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.stdout.on('data', (d: Buffer) => {
      for (const line of d.toString().trim().split('\n')) if (/^\d+$/u.test(line)) made = Number(line);
      if (made >= after && !p.killed) setTimeout(() => p.kill('SIGKILL'), Math.floor(Math.random() * 6));
    });
    p.on('close', (code, signal) => (signal === 'SIGKILL' ? resolve(made + 1) : reject(new Error(`child ended with ${code}: ${stderr}`))));
  });
}

/** Every record matches the kernel, and the kernel has nothing tagged that no record explains. */
async function expectConsistent(ctl: Controller, deps: ControllerDeps, l: Lab): Promise<void> {
  const links = await l.ip(l.host, 'link');
  const tagged = links.filter((x) => String(x.ifalias ?? '').startsWith('tsnet:'));
  const network = ctl.network('crash');
  const endpoints = ctl.endpointsOf({ networkId: network.id });
  for (const t of tagged) {
    const [, kind, id] = String(t.ifalias).split(':');
    expect(kind === 'network' ? ctl.networks().some((n) => n.id === id) : !!ctl.endpoint(id!)).toBe(true);
  }
  expect(tagged.filter((t) => String(t.ifalias).startsWith('tsnet:endpoint:'))).toHaveLength(endpoints.length);
  for (const e of endpoints) {
    if (e.kind !== 'joined') throw new Error(`endpoint ${e.id} is not joined`);
    const hostEnd = links.find((x) => x.ifname === e.hostIfname);
    expect(hostEnd).toMatchObject({ ifalias: `tsnet:endpoint:${e.id}`, master: (network.config as BridgeConfig).bridgeName });
    const sandbox = ctl.sandbox(e.sandboxId);
    const inside = (await l.ip(sandbox.ns, 'addr', 'show', e.ifname!))[0] as { addr_info: { local: string }[] };
    expect(inside.addr_info.map((a) => a.local)).toContain(e.ipv4!.split('/')[0]);
  }
  // Namespaces pinned by tsnet are exactly its sandboxes'; IPAM holds exactly the endpoints' addresses.
  expect(deps.namespaces.list().sort()).toEqual(
    ctl
      .sandboxes()
      .map((s) => s.record.id)
      .sort(),
  );
  for (const s of ctl.sandboxes()) expect(existsSync(s.record.netnsPath!)).toBe(true);
  expect(deps.ipam.pool(network.pools.v4!.id).addresses.sort()).toEqual(endpoints.map((e) => e.ipv4!.split('/')[0]!).sort());
  expect(
    deps.store
      .endpoints()
      .map((e) => e.id)
      .sort(),
  ).toEqual(endpoints.map((e) => e.id).sort());
}

describeKernel('crash safety', () => {
  const lab = useLab();

  it('recovers from SIGKILL in the middle of creating endpoints: no leak, records match the kernel', async () => {
    const l = lab();
    const world = await buildWorld(l, 'crash');
    let total = 0;
    for (let round = 0; round < 4; round++) {
      total += await runAndKill(world, l, 3 + Math.floor(Math.random() * 15));
      const { controller, report, deps } = await world.open();
      await expectConsistent(controller, deps, l);
      expect(controller.endpointsOf({}).length).toBeGreaterThanOrEqual(total);
      expect(report.broken).toEqual([]);
      total = controller.endpointsOf({}).length;
      await controller.close();
    }
    // Tearing it all down leaves nothing behind.
    const { controller, deps } = await world.open();
    await controller.deleteSandboxes(controller.sandboxes().map((s) => s.record.id));
    await controller.deleteNetwork('crash');
    expect((await l.ip(l.host, 'link')).filter((x) => String(x.ifalias ?? '').startsWith('tsnet:'))).toEqual([]);
    expect(deps.namespaces.list()).toEqual([]);
    expect((await l.exec(l.host, 'iptables-save', [])).stdout).not.toMatch(/tsnet:[0-9a-f]{64}/u);
    await controller.close();
  });
});
