/**
 * `tsnet run -p` end to end: the real daemon and CLI in a lab whose upstream namespace plays the internet, a busybox
 * httpd whose CGI prints the client address it sees, and real packets from outside, from another container through
 * the host's address, and from the host through 127.0.0.1.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { NetNs } from '../../src/netns/netns.js';
import { startDaemon, tearDown, tsnet, type DaemonHandle, useBusyboxTarball } from '../helpers/daemon.js';
import { Lab, describeKernel } from '../helpers/lab.js';
import { WHOAMI_HTTPD, WHOAMI_REQUEST, clientOf, whoami } from '../helpers/http.js';
import { canBind, probe } from '../helpers/probes.js';
import { UPSTREAM, buildWorld, type World } from '../helpers/world.js';

describeKernel('published ports, end to end', () => {
  const rootfs = useBusyboxTarball();

  let lab: Lab;
  let world: World;
  let d: DaemonHandle;
  beforeEach(async () => {
    lab = Lab.create();
    try {
      world = await buildWorld(lab);
      d = await startDaemon(lab);
    } catch (err) {
      lab.destroy();
      throw err;
    }
  });
  afterEach(() => tearDown(d, lab));

  const get = (ns: NetNs, host: string, port: number, tries = 1): Promise<string | undefined> => whoami(lab, ns, host, port, tries);

  it('publishes a busybox httpd from outside, hairpin and loopback; refuses a taken port; removes all with the container', async () => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.76.0.0/24', 'web')).code).toBe(0);
    const run = await tsnet(
      d,
      'run',
      '-d',
      '--name',
      'h',
      '--network',
      'web',
      '-p',
      '8080:80',
      '-p',
      '5353:53/udp',
      '-p',
      '127.0.0.1:8081:80',
      'busybox',
      ...WHOAMI_HTTPD,
    );
    expect(run).toMatchObject({ code: 0 });
    expect((await tsnet(d, 'run', '-d', '--name', 'c2', '--network', 'web', 'busybox', 'sleep', '300')).code).toBe(0);

    expect(await get(world.upstream, UPSTREAM.host, 8080, 20)).toBe(UPSTREAM.gateway);
    const hairpin = await tsnet(d, 'exec', 'c2', 'sh', '-c', `${WHOAMI_REQUEST} | nc -w 2 ${UPSTREAM.host} 8080`);
    expect(clientOf(hairpin.stdout)).toBe('10.76.0.1');
    expect(await get(lab.host, '127.0.0.1', 8080)).toBe('10.76.0.1');
    expect(await get(lab.host, '127.0.0.1', 8081)).toBe('10.76.0.1');
    expect(await get(world.upstream, UPSTREAM.host, 8081)).toBeUndefined();

    // UDP: a server in the container's namespace answers a datagram sent from outside to the host's port.
    const [sandbox, ip] = (await tsnet(d, 'inspect', '-f', '{{.NetworkSettings.SandboxID}} {{.NetworkSettings.Networks.web.IPAddress}}', 'h')).stdout
      .trim()
      .split(' ');
    const ns = NetNs.fromPath(join(lab.dir, 'daemon-netns', sandbox!));
    // Docker's shape: the published ports as docker inspect shows them.
    const published = JSON.parse((await tsnet(d, 'inspect', '-f', '{{json .NetworkSettings.Ports}}', 'h')).stdout) as object;
    expect(published).toEqual({
      '53/udp': [{ HostIp: '0.0.0.0', HostPort: '5353' }],
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '127.0.0.1', HostPort: '8081' },
      ],
    });
    expect(await probe(lab, 'udp', ns, world.upstream, { address: ip!, port: 53 }, { address: UPSTREAM.host, port: 5353 })).toBe(UPSTREAM.gateway);

    expect((await tsnet(d, 'port', 'h')).stdout.split('\n').filter(Boolean)).toEqual([
      '53/udp -> 0.0.0.0:5353',
      '80/tcp -> 0.0.0.0:8080',
      '80/tcp -> 127.0.0.1:8081',
    ]);
    expect((await tsnet(d, 'port', 'h', '53/udp')).stdout).toBe('0.0.0.0:5353\n');

    const second = await tsnet(d, 'run', '-d', '--name', 'again', '--network', 'web', '-p', '8080:80', 'busybox', 'sleep', '300');
    expect(second.code).toBe(125);
    expect(second.stderr).toMatch(/host port 0\.0\.0\.0:8080\/tcp: it is held by container h \(TSNET_ERR_PORT_IN_USE\)/u);
    expect((await tsnet(d, 'ps', '-aq')).stdout.trim().split('\n')).toHaveLength(2);
    expect((await tsnet(d, 'run', '-d', '-p', 'x:80', 'busybox', 'true')).code).toBe(125);
    expect(await canBind(lab, lab.host, 'tcp', 8080)).toBe(false);

    expect((await tsnet(d, 'rm', '-f', 'h')).code).toBe(0);
    const rules = await lab.firewallText();
    expect(rules).not.toContain(`${ip}:80`);
    expect(rules).not.toContain(`${ip} . 80`);
    expect(rules).not.toContain('DNAT');
    expect(await canBind(lab, lab.host, 'tcp', 8080)).toBe(true);
  });

  it('publishes the exposed ports on ephemeral host ports with -P', async () => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'run', '-d', '--name', 'e', '-P', '--expose', '80', 'busybox', ...WHOAMI_HTTPD)).code).toBe(0);
    const [line] = (await tsnet(d, 'port', 'e', '80')).stdout.split('\n');
    const port = Number(/^0\.0\.0\.0:(\d+)$/u.exec(line!)?.[1]);
    expect(port).toBeGreaterThanOrEqual(32768);
    // On the default network `bridge`, published as on any other.
    expect(await get(world.upstream, UPSTREAM.host, port, 20)).toBe(UPSTREAM.gateway);
  });
});
