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
    const rulesBefore = await rules();
    fillDisk();

    const create = await tsnet(d, 'network', 'create', '--subnet', '10.91.0.0/24', 'phantom');
    expect(create).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/no space left on the device that holds tsnet's state .*\(TSNET_ERR_NO_SPACE\)\n$/u) as string,
    });
    expect(await rules()).toBe(rulesBefore); // the phantom network's rules were rolled back with the rest
    expect(JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout).map((n: { name: string }) => n.name)).not.toContain('phantom');
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
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.91.0.0/24', 'after')).code).toBe(0);
  });
});
