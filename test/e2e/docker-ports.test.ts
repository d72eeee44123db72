/**
 * Port publishing through the Docker plugin: a real dockerd runs `docker run -p 8080:80` on a tsnet network; tsnet
 * publishes the port (ProgramExternalConnectivity) and removes it with the container (RevokeExternalConnectivity).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { dockerAvailable, startDockerd, type Dockerd } from '../../src/lab/dockerd.js';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { startDaemon, type DaemonHandle } from '../helpers/daemon.js';
import { WHOAMI_HTTPD, whoami } from '../helpers/http.js';
import { Lab, describeKernel } from '../helpers/lab.js';
import { canBind } from '../helpers/probes.js';
import { UPSTREAM, buildWorld, type World } from '../helpers/world.js';

describeKernel('a real dockerd publishes ports through tsnet', () => {
  let lab: Lab;
  let world: World;
  let d: DaemonHandle | undefined;
  let dockerd: Dockerd | undefined;
  beforeEach(async () => {
    lab = Lab.create();
    world = await buildWorld(lab, 'docker');
  });
  afterEach(async () => {
    try {
      if (dockerd) {
        const ps = await dockerd.docker('ps', '-aq');
        for (const id of ps.stdout.split('\n').filter(Boolean)) await dockerd.docker('rm', '-f', id);
        await dockerd.docker('network', 'rm', 'pnet');
        await dockerd.stop();
      }
      await d?.stop();
    } finally {
      dockerd = undefined;
      d = undefined;
      lab.destroy();
    }
  });

  const reason = dockerAvailable() ? '' : " [skipped: Debian's docker.io is not installed; scripts/setup.sh installs it]";
  it.skipIf(!dockerAvailable())(`publishes docker run -p on a tsnet network and removes it with docker rm -f${reason}`, async () => {
    d = await startDaemon(lab, 'tsnet', ['--bridge', 'none', '--docker-plugin-socket', join(lab.dir, 'dockerlab', 'plugins', 'tsnet.sock')]);
    dockerd = await startDockerd(join(lab.dir, 'dockerlab'), lab.host.path!);
    const tmp = mkdtempSync(join(lab.dir, 'rootfs-'));
    try {
      expect((await dockerd.docker('import', await busyboxRootfsTar(tmp), 'busybox:latest')).code).toBe(0);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    expect((await dockerd.docker('network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', '10.82.0.0/24', 'pnet')).code).toBe(0);
    const run = await dockerd.docker('run', '-d', '--name', 'web', '-p', '8080:80', '--network', 'pnet', 'busybox:latest', ...WHOAMI_HTTPD);
    expect(run, run.stderr).toMatchObject({ code: 0 });
    expect(await whoami(lab, world.upstream, UPSTREAM.host, 8080, 20)).toBe(UPSTREAM.gateway);
    expect(await canBind(lab, lab.host, 'tcp', 8080)).toBe(false);
    // dockerd shows no ports of a remote driver: it type-asserts EndpointOperInfo's port map to Go types, which
    // values decoded from JSON never are (daemon/network.go); tsnet reports them there all the same.
    expect((await dockerd.docker('port', 'web')).stdout).toBe('');
    // The nftables backend (the default here): the port is an element of the DNAT map.
    expect(await lab.nftTable()).toMatch(/tcp \. 8080 : 10\.82\.0\.\d+ \. 80/u);

    expect((await dockerd.docker('rm', '-f', 'web')).code).toBe(0);
    expect(await lab.nftTable()).not.toContain('tcp . 8080');
    expect(await canBind(lab, lab.host, 'tcp', 8080)).toBe(true);
    expect(await whoami(lab, world.upstream, UPSTREAM.host, 8080)).toBeUndefined();
  });
});
