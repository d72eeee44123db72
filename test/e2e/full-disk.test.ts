/**
 * A full disk under the daemon's root: every change is refused with TSNET_ERR_NO_SPACE and leaves nothing half made
 * (not even firewall rules), the daemon survives a container's end it cannot record yet, records it once space
 * returns, and an exit status nobody could write down is never shown as 0.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { startDaemon, tearDown, tsnet, type DaemonHandle } from '../helpers/daemon.js';
import { Lab, describeKernel } from '../helpers/lab.js';

describeKernel('a full disk under the daemon', () => {
  let lab: Lab;
  let d: DaemonHandle;
  let fill: string;

  beforeEach(async () => {
    lab = Lab.create();
    // The daemon's root on a small tmpfs of its own, inside the lab (unmounted with it).
    const root = join(lab.dir, 'daemon-root');
    mkdirSync(root);
    execFileSync('mount', ['-n', '-t', 'tmpfs', '-o', 'size=24m', 'tsnet-full-disk', root]);
    fill = join(root, 'fill');
    d = await startDaemon(lab);
  });
  afterEach(() => tearDown(d, lab));

  const fillDisk = (): void => {
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${fill}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops at "No space left on device", which is the point
    }
  };
  const rules = async (): Promise<string> =>
    (await lab.firewallText())
      .split('\n')
      .filter((l) => l.includes('tsnet:'))
      .map((l) => l.replace(/\[\d+:\d+\]/gu, '').replace(/counter packets \d+ bytes \d+/gu, 'counter'))
      .join('\n');

  it('refuses changes with TSNET_ERR_NO_SPACE, leaves nothing half made, and records a container end when space returns', async () => {
    const tar = await busyboxRootfsTar(join(lab.dir, 'rootfs'));
    expect((await tsnet(d, 'image', 'import', tar, 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.90.0.0/24', 'before')).code).toBe(0);
    const started = await tsnet(d, 'run', '-d', '--name', 'sleeper', '--network', 'before', 'busybox', 'sleep', '300');
    expect(started.code).toBe(0);
    fillDisk();

    // A change the store can still write durably in the room its log already has goes through (the log is copied
    // into the database when the daemon is idle, and then written over from its start); the first change that needs
    // more room is refused, and leaves nothing half made: its network's rules are rolled back with the rest.
    let refused: { name: string; stderr: string; rulesBefore: string } | undefined;
    for (let i = 0; i < 60 && !refused; i++) {
      const before = await rules();
      const create = await tsnet(d, 'network', 'create', '--subnet', `10.91.${i}.0/24`, `phantom${i}`);
      if (create.code !== 0) refused = { name: `phantom${i}`, stderr: create.stderr, rulesBefore: before };
    }
    expect(refused?.stderr).toMatch(/no space left on the device that holds tsnet's state .*\(TSNET_ERR_NO_SPACE\)\n$/u);
    expect(await rules()).toBe(refused!.rulesBefore);
    expect(JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout).map((n: { name: string }) => n.name)).not.toContain(refused!.name);
    const run = await tsnet(d, 'run', '-d', '--network', 'before', 'busybox', 'true');
    expect(run).toMatchObject({ code: 125, stderr: expect.stringContaining('(TSNET_ERR_NO_SPACE)') as string });
    const image = await tsnet(d, 'image', 'import', tar, 'other');
    expect(image).toMatchObject({ code: 1, stderr: expect.stringContaining('(TSNET_ERR_NO_SPACE)') as string });

    // The container is killed while nothing can be written: the daemon lives on, and knows how it ended.
    const pid = Number((await tsnet(d, 'inspect', '-f', '{{.State.Pid}}', 'sleeper')).stdout);
    process.kill(pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 500));
    expect(d.process.exitCode).toBeNull();
    expect((await tsnet(d, 'ps', '-a')).stdout).toMatch(/sleeper .* exited \(137\)/u);

    // Space returns: the end is saved, and a restart still knows it.
    rmSync(fill);
    await new Promise((r) => setTimeout(r, 1500));
    expect(await d.stop('SIGTERM')).toBe(0);
    d = await startDaemon(lab);
    expect((await tsnet(d, 'ps', '-a')).stdout).toMatch(/sleeper .* exited \(137\)/u);
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.92.0.0/24', 'after')).code).toBe(0);
  });
});
