import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { startDaemon, tsnet, type DaemonHandle } from '../helpers/daemon.js';
import { dockerAvailable, startDockerd, type Dockerd } from '../../src/lab/dockerd.js';
import { describeKernel, useLab, type Lab } from '../helpers/lab.js';
import { UPSTREAM, buildWorld } from '../helpers/world.js';

describeKernel('a real dockerd runs its networks on tsnet', () => {
  const lab = useLab();
  let dockerd: Dockerd | undefined;
  let d: DaemonHandle | undefined;

  afterAll(async () => {
    if (dockerd) {
      const ps = await dockerd.docker('ps', '-aq');
      for (const id of ps.stdout.split('\n').filter(Boolean)) await dockerd.docker('rm', '-f', id);
      for (const n of ['net1', 'net2']) await dockerd.docker('network', 'rm', n);
      await dockerd.stop();
    }
    await d?.stop();
  });

  const ipOf = async (name: string, network: string): Promise<string> =>
    (await dockerd!.docker('inspect', '-f', `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`, name)).stdout.trim();
  const canPing = async (from: string, to: string): Promise<boolean> => (await dockerd!.docker('exec', from, 'ping', '-c', '1', '-W', '2', to)).code === 0;
  /** A ping that must not arrive must be dropped by tsnet's firewall: no reply, and its DROP counters move. */
  const droppedByFirewall = async (l: Lab, from: string, to: string): Promise<void> => {
    const before = await l.firewallDrops();
    const r = await dockerd!.docker('exec', from, 'ping', '-c', '1', '-W', '1', to);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/100% packet loss/u);
    expect(await l.firewallDrops()).toBeGreaterThan(before);
  };
  const startTsnet = (l: Lab) => startDaemon(l, 'tsnet', ['--bridge', 'none', '--docker-plugin-socket', join(l.dir, 'dockerlab', 'plugins', 'tsnet.sock')]);

  const reason = dockerAvailable() ? '' : " [skipped: Debian's docker.io is not installed; scripts/setup.sh installs it]";
  it.skipIf(!dockerAvailable())(`creates networks, runs and connects containers, survives kill -9 of tsnet, and cleans up${reason}`, async () => {
    const l = lab();
    await buildWorld(l, 'docker');
    d = await startTsnet(l);
    dockerd = await startDockerd(join(l.dir, 'dockerlab'), l.host.path!);
    const tmp = mkdtempSync(join(l.dir, 'rootfs-'));
    try {
      expect((await dockerd.docker('import', await busyboxRootfsTar(tmp), 'busybox:latest')).code).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    const net1 = await dockerd.docker(
      'network',
      'create',
      '-d',
      'tsnet',
      '--ipam-driver',
      'tsnet',
      '--subnet',
      '10.80.0.0/24',
      '-o',
      'com.docker.network.driver.mtu=1450',
      'net1',
    );
    expect(net1, net1.stderr).toMatchObject({ code: 0 });
    expect((await dockerd.docker('network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', '10.81.0.0/24', 'net2')).code).toBe(0);
    for (const [name, net] of [
      ['c1', 'net1'],
      ['c2', 'net1'],
      ['c3', 'net2'],
    ] as const) {
      const r = await dockerd.docker('run', '-d', '--name', name, '--network', net, 'busybox:latest', 'sleep', '1000');
      expect(r, r.stderr).toMatchObject({ code: 0 });
    }
    const c2 = await ipOf('c2', 'net1');
    const c3 = await ipOf('c3', 'net2');
    expect(c2).toMatch(/^10\.80\.0\.\d+$/u);
    expect(await canPing('c1', c2)).toBe(true);
    await droppedByFirewall(l, 'c1', c3);
    expect(await canPing('c1', UPSTREAM.server)).toBe(true); // through tsnet's NAT
    expect((await dockerd.docker('exec', 'c1', 'cat', '/sys/class/net/eth0/mtu')).stdout.trim()).toBe('1450');

    // tsnet shows Docker's networks as Docker's, and will not remove them.
    const ls = await tsnet(d, 'network', 'ls');
    expect(ls.stdout).toMatch(/docker-[0-9a-f]{12}\s+bridge\s+local\s+10\.80\.0\.0\/24\s+2\s+docker/u);
    const dockerNet = ls.stdout
      .split('\n')
      .find((x) => x.includes('10.80.0.0/24'))!
      .split(/\s+/u)[1]!;
    expect(await tsnet(d, 'network', 'rm', dockerNet)).toMatchObject({ code: 1, stderr: expect.stringContaining('belongs to Docker') as string });

    // connect and disconnect
    expect((await dockerd.docker('network', 'connect', 'net2', 'c1')).code).toBe(0);
    expect(await canPing('c1', c3)).toBe(true);
    expect((await dockerd.docker('network', 'disconnect', 'net2', 'c1')).code).toBe(0);
    await droppedByFirewall(l, 'c1', c3);

    // kill -9 tsnet and start it again: running containers keep talking, new calls succeed.
    await d.stop('SIGKILL');
    d = await startTsnet(l);
    expect(await canPing('c1', c2)).toBe(true);
    const c4 = await dockerd.docker('run', '-d', '--name', 'c4', '--network', 'net1', 'busybox:latest', 'sleep', '1000');
    expect(c4, c4.stderr).toMatchObject({ code: 0 });
    expect(await canPing('c4', c2)).toBe(true);
    expect(await ipOf('c4', 'net1')).not.toBe(c2);

    // Everything removed through Docker leaves nothing in tsnet or the kernel.
    for (const c of ['c1', 'c2', 'c3', 'c4']) expect((await dockerd.docker('rm', '-f', c)).code).toBe(0);
    for (const n of ['net1', 'net2']) expect((await dockerd.docker('network', 'rm', n)).code).toBe(0);
    const tagged = (await l.ip(l.host, 'link')).filter((x) => String(x.ifalias ?? '').startsWith('tsnet:'));
    expect(tagged).toEqual([]);
    expect((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout).not.toContain('docker-');
    expect(await l.firewallText()).not.toMatch(/tsnet:[0-9a-f]{64}/u);
    const info = JSON.parse((await tsnet(d, 'info', '--format', 'json')).stdout) as { counts: { endpoints: number } };
    expect(info.counts.endpoints).toBe(0);
  });
});
