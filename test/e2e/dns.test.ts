/**
 * The embedded resolver end to end: the real daemon and CLI, busybox nslookup in containers and raw queries from
 * their namespaces, and a fake upstream resolver in the upstream namespace playing the internet's.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { NetNs } from '../../src/netns/netns.js';
import { startDaemon, tearDown, tsnet, type DaemonHandle, useBusyboxTarball } from '../helpers/daemon.js';
import { dnsQuery, fakeUpstream, type FakeUpstream } from '../helpers/dns.js';
import { Lab, describeKernel } from '../helpers/lab.js';
import { UPSTREAM, buildWorld } from '../helpers/world.js';

describeKernel('embedded DNS, end to end', () => {
  const rootfs = useBusyboxTarball();

  let lab: Lab;
  let d: DaemonHandle;
  let upstream: FakeUpstream;
  beforeEach(async () => {
    lab = Lab.create();
    try {
      const world = await buildWorld(lab);
      upstream = await fakeUpstream(lab, world.upstream, UPSTREAM.server);
      // The host's resolvers as the daemon reads them: the fake upstream, and a loopback one containers cannot reach.
      const resolv = join(lab.dir, 'resolv.conf');
      writeFileSync(resolv, `nameserver 127.0.0.53\nnameserver ${UPSTREAM.server}\nsearch corp.test\n`);
      d = await startDaemon(lab, 'daemon', ['--resolv-conf', resolv]);
    } catch (err) {
      upstream?.stop();
      lab.destroy();
      throw err;
    }
  });
  afterEach(async () => {
    upstream.stop();
    await tearDown(d, lab);
  });

  const run = async (...args: string[]): Promise<void> => {
    const r = await tsnet(d, 'run', '-d', ...args, 'busybox', 'sleep', '300');
    expect(r, r.stderr).toMatchObject({ code: 0 });
  };
  /** busybox nslookup NAME in a container: the addresses it printed for the name, none when it failed. */
  const lookup = async (container: string, name: string): Promise<string[]> => {
    // Absolute names: busybox nslookup asks only NAME.SEARCH when resolv.conf has a search list (glibc would then
    // ask NAME, first with ndots:0); the search list copied from the host is checked on its own below.
    const r = await tsnet(d, 'exec', container, 'nslookup', '-type=a', `${name}.`);
    const answer = r.stdout.split(/\n\s*\n/u).find((block) => /^Name:/mu.test(block)) ?? '';
    return [...answer.matchAll(/^Address: (\S+)/gmu)].map((m) => m[1]!);
  };
  const sandboxOf = async (container: string): Promise<NetNs> => {
    const sandbox = (await tsnet(d, 'inspect', '-f', '{{.NetworkSettings.SandboxID}}', container)).stdout.trim();
    return NetNs.fromPath(join(lab.dir, 'daemon-netns', sandbox));
  };

  it('resolves names, aliases and short ids on shared networks only, and forwards the rest to the host resolvers', async () => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.77.0.0/24', 'n1')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.78.0.0/24', 'n2')).code).toBe(0);
    await run('--name', 'a1', '--network', 'n1', '--network-alias', 'web');
    await run('--name', 'b1', '--network', 'n1');
    await run('--name', 'c2', '--network', 'n2');
    const a1 = JSON.parse((await tsnet(d, 'inspect', 'a1')).stdout) as [{ Id: string }];

    expect(await lookup('b1', 'a1')).toEqual(['10.77.0.2']);
    expect(await lookup('b1', 'WEB')).toEqual(['10.77.0.2']);
    expect(await lookup('b1', a1[0].Id.slice(0, 12))).toEqual(['10.77.0.2']);
    expect(await lookup('b1', 'c2')).toEqual([]);
    expect(await lookup('c2', 'a1')).toEqual([]);
    // What is in scope stays home; what is not (c2 for b1, a1 for c2) goes upstream, as any other name.
    expect(upstream.asked().filter((n) => ['a1', 'web', 'c2'].includes(n))).toEqual(['c2', 'a1']);
    expect(await lookup('b1', 'example.test')).toEqual(['203.0.113.80']);
    expect(upstream.asked()).toContain('example.test');
    // network connect: c2 now shares n1 with a1 and resolves it.
    expect((await tsnet(d, 'network', 'connect', '--alias', 'late', 'n1', 'c2')).code).toBe(0);
    expect(await lookup('c2', 'a1')).toEqual(['10.77.0.2']);
    expect(await lookup('a1', 'late')).toEqual(['10.77.0.4']);

    // The resolver is the gateway; the servers it forwards to are noted, as Docker notes them.
    const resolv = (await tsnet(d, 'exec', 'b1', 'cat', '/etc/resolv.conf')).stdout;
    expect(resolv).toContain('nameserver 10.77.0.1\n');
    expect(resolv).toContain(`# ExtServers: [${UPSTREAM.server}]`);
    expect(resolv).toContain('search corp.test');
  });

  it('answers PTR, tells NODATA from NXDOMAIN, serves TCP, and passes truncation through to a TCP retry', async () => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.77.0.0/24', 'n1')).code).toBe(0);
    await run('--name', 'a1', '--network', 'n1');
    await run('--name', 'b1', '--network', 'n1');
    const ns = await sandboxOf('b1');
    expect(await dnsQuery(lab, ns, '10.77.0.1', '2.0.77.10.in-addr.arpa', 'PTR')).toMatchObject({ rcode: 'NOERROR', answers: [{ type: 'PTR', data: 'a1' }] });
    expect(await dnsQuery(lab, ns, '10.77.0.1', 'a1', 'AAAA')).toEqual({ rcode: 'NOERROR', tc: false, answers: [] });
    expect(await dnsQuery(lab, ns, '10.77.0.1', 'nosuch.test', 'A')).toMatchObject({ rcode: 'NXDOMAIN', answers: [] });
    expect(await dnsQuery(lab, ns, '10.77.0.1', 'a1', 'A', 'tcp')).toMatchObject({ rcode: 'NOERROR', answers: [{ type: 'A', data: '10.77.0.2' }] });
    expect(await dnsQuery(lab, ns, '10.77.0.1', 'big.test', 'TXT')).toMatchObject({ tc: true, answers: [] });
    expect((await dnsQuery(lab, ns, '10.77.0.1', 'big.test', 'TXT', 'tcp')).answers).toHaveLength(20);
  });

  it('forwards nothing from an internal network, removes exactly the names of a removed container, and writes --dns and --add-host', async () => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', '--internal', '--subnet', '10.79.0.0/24', 'inside')).code).toBe(0);
    await run('--name', 'web', '--network', 'inside');
    await run('--name', 'web2', '--network', 'inside', '--dns', UPSTREAM.server, '--add-host', 'db.example:192.0.2.7');
    expect(await lookup('web2', 'web')).toEqual(['10.79.0.2']);
    expect(await lookup('web2', 'internal-only.test')).toEqual([]);
    expect(upstream.asked()).not.toContain('internal-only.test');
    expect((await tsnet(d, 'rm', '-f', 'web')).code).toBe(0);
    expect(await lookup('web2', 'web')).toEqual([]);
    expect(await lookup('web2', 'web2')).toEqual(['10.79.0.3']);
    expect((await tsnet(d, 'exec', 'web2', 'cat', '/etc/resolv.conf')).stdout).toContain(`# ExtServers: [${UPSTREAM.server}]`);
    expect((await tsnet(d, 'exec', 'web2', 'cat', '/etc/hosts')).stdout).toContain('192.0.2.7\tdb.example');
  });

  it('gives the default network no embedded DNS, as Docker does', async () => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    await run('--name', 'plain');
    const resolv = (await tsnet(d, 'exec', 'plain', 'cat', '/etc/resolv.conf')).stdout;
    expect(resolv).toBe(`search corp.test\nnameserver ${UPSTREAM.server}\n`);
  });
});
