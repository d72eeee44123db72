/**
 * Networks through the daemon and the real CLI: the default network, the run flags for names and addresses, network
 * create's flags, Docker's filters and network prune. Each test has a lab and a daemon of its own.
 */
import { beforeEach, expect, it } from 'vitest';
import { describeKernel, type Lab } from '../helpers/lab.js';
import { execFile } from 'node:child_process';
import { CLI, startDaemon, tsnet, useDaemonPerTest, type DaemonHandle } from '../helpers/daemon.js';

/** Output of one JSON object per line (docker ps --format json). */
const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

describeKernel('the daemon and the CLI, end to end: networks', () => {
  // Each test has a lab and a daemon of its own, and imports the busybox image itself when it needs one.
  const env = useDaemonPerTest();
  const { withBusybox } = env;
  let lab: Lab;
  let d: DaemonHandle;
  beforeEach(() => ({ lab, d } = env));

  it('runs a container given no network on the default network "bridge" (tsnet0), which cannot be removed; --bridge none turns it off', async () => {
    await withBusybox();
    const nets = JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout) as {
      name: string;
      bridge?: { bridgeName: string };
      pools: { v4?: { subnet: string } };
    }[];
    const bridge = nets.find((n) => n.name === 'bridge')!;
    expect(bridge).toMatchObject({ bridge: { bridgeName: 'tsnet0' }, pools: { v4: { subnet: '172.17.0.0/16' } } });
    const run = await tsnet(d, 'run', '--rm', 'busybox', 'sh', '-c', 'ip -4 -o addr show eth0; ping -c 1 -W 2 172.17.0.1 >/dev/null && echo gateway');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/inet 172\.17\.0\.\d+\/16 .*\ngateway\n$/su);
    // --network container:NAME: the running container's namespace, shared; its sandbox stays while one of them runs.
    expect((await tsnet(d, 'run', '-d', '--name', 'owner', 'busybox', 'sleep', '60')).code).toBe(0);
    const onBridge = '(index .NetworkSettings.Networks "bridge")';
    const ownerIp = (await tsnet(d, 'inspect', '-f', `{{${onBridge}.IPAddress}}/{{${onBridge}.IPPrefixLen}}`, 'owner')).stdout.trim();
    expect((await tsnet(d, 'run', '-d', '--name', 'sharer', '--network', 'container:owner', 'busybox', 'sleep', '60')).code).toBe(0);
    expect((await tsnet(d, 'exec', 'sharer', 'ip', '-4', '-o', 'addr', 'show', 'eth0')).stdout).toContain(`inet ${ownerIp} `);
    expect((await tsnet(d, 'rm', '-f', 'owner')).code).toBe(0);
    expect((await tsnet(d, 'exec', 'sharer', 'ip', '-4', '-o', 'addr', 'show', 'eth0')).stdout).toContain(`inet ${ownerIp} `);
    expect(await tsnet(d, 'run', '--rm', '--network', 'container:owner', 'busybox', 'true')).toMatchObject({
      code: 125,
      stderr: expect.stringContaining('container "owner" not found') as string,
    });
    expect((await tsnet(d, 'rm', '-f', 'sharer')).code).toBe(0);
    expect(JSON.parse((await tsnet(d, 'info', '--format', 'json')).stdout).counts.sandboxes).toBe(0);
    // --network host: the container sees tsnet's host namespace (here the lab's), with the default bridge in it.
    const host = await tsnet(d, 'run', '--rm', '--network', 'host', 'busybox', 'ip', '-o', 'link');
    expect(host.code, host.stderr).toBe(0);
    expect(host.stdout).toMatch(/: tsnet0: /u);
    expect((await tsnet(d, 'run', '--rm', '--network', 'host', '--network', 'bridge', 'busybox', 'true')).stderr).toContain(
      'a container on the host network cannot join other networks',
    );
    expect(await tsnet(d, 'network', 'rm', 'bridge')).toMatchObject({
      code: 1,
      stderr: 'tsnet: network "bridge" is predefined and cannot be removed (TSNET_ERR_CONFLICT)\n',
    });
    expect((await tsnet(d, 'network', 'prune', '-f')).stdout).not.toContain('bridge');
    await d.stop();
    d = env.d = await startDaemon(lab, 'daemon', ['--bridge', 'none']);
    expect((await tsnet(d, 'run', '-d', 'busybox', 'sleep', '10')).code).toBe(0);
    const none = jsonLines<{ networks: Record<string, unknown> }>((await tsnet(d, 'ps', '--format', 'json')).stdout);
    expect(Object.keys(none[0]!.networks)).toEqual(['none']);
  });

  it("honours Docker's run flags for names and addresses: --dns*, --add-host, --network-alias, --ip6, --mac-address", async () => {
    await withBusybox();
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.73.0.0/24', '--ipv6', '--subnet', 'fd00:73::/64', 'dual')).code).toBe(0);
    const flags = ['--network', 'dual', '--ip6', 'fd00:73::99', '--mac-address', '02:00:00:00:73:05', '--network-alias', 'api', '--network-alias', 'v2.api'];
    const names = ['--dns', '192.0.2.53', '--dns-search', 'lab.example', '--dns-option', 'ndots:2', '--add-host', 'db.example:192.0.2.7', '--hostname', 'h1'];
    const r = await tsnet(
      d,
      'run',
      '--rm',
      ...flags,
      ...names,
      'busybox',
      'sh',
      '-c',
      'cat /etc/resolv.conf /etc/hosts; ip -6 -o addr show eth0 scope global; cat /sys/class/net/eth0/address',
    );
    expect(r.code, r.stderr).toBe(0);
    // On a user-defined network the embedded resolver is the nameserver; --dns is where it forwards, noted as Docker notes it.
    expect(r.stdout).toContain('search lab.example\nnameserver 10.73.0.1\noptions ndots:2\n\n# ExtServers: [192.0.2.53]\n');
    expect(r.stdout).toContain('192.0.2.7\tdb.example\n');
    expect(r.stdout).toMatch(/^10\.73\.0\.2\th1 api v2\.api$/mu);
    expect(r.stdout).toMatch(/inet6 fd00:73::99\/64 /u);
    expect(r.stdout.trim().split('\n').pop()).toBe('02:00:00:00:73:05');
    for (const [flag, value, message] of [
      ['--dns', 'nine.nine', 'invalid DNS server "nine.nine"'],
      ['--add-host', 'no-address', 'invalid --add-host "no-address": expected NAME:IP'],
      ['--mac-address', '01:00:5e:00:00:01', 'invalid MAC address "01:00:5e:00:00:01": six hex bytes, unicast'],
      ['--network-alias', 'bad alias', 'invalid network alias "bad alias"'],
    ] as const) {
      const bad = await tsnet(d, 'run', '--rm', '--network', 'dual', flag, value, 'busybox', 'true');
      expect(bad, `${flag} ${value}`).toMatchObject({ code: 125, stderr: expect.stringContaining(message) as string });
    }
    expect((await tsnet(d, 'ps', '-aq')).stdout).toBe('');
    // network connect --ip6 and --alias.
    expect((await tsnet(d, 'run', '-d', '--name', 'joiner', 'busybox', 'sleep', '60')).code).toBe(0);
    expect((await tsnet(d, 'network', 'connect', '--ip6', 'fd00:73::77', '--alias', 'late', 'dual', 'joiner')).code).toBe(0);
    const joined = await tsnet(d, 'exec', 'joiner', 'sh', '-c', 'ip -6 -o addr show eth1 scope global; grep late /etc/hosts');
    expect(joined.stdout).toMatch(/inet6 fd00:73::77\/64 /u);
    expect(joined.stdout).toMatch(/10\.73\.0\.\d+\t\S+ late/u);
    // --link: the running container's address under its name and the alias.
    expect((await tsnet(d, 'run', '-d', '--name', 'web1', '--network', 'dual', 'busybox', 'sleep', '60')).code).toBe(0);
    const linked = await tsnet(d, 'run', '--rm', '--network', 'dual', '--link', 'web1:db', 'busybox', 'cat', '/etc/hosts');
    expect(linked.stdout).toMatch(/^10\.73\.0\.\d+\tdb\n10\.73\.0\.\d+\tweb1$/mu);
    expect(await tsnet(d, 'run', '--rm', '--link', 'nobody', 'busybox', 'true')).toMatchObject({
      code: 125,
      stderr: expect.stringContaining('container "nobody" not found') as string,
    });
  });

  it('network create: --ipv6 without a subnet, one --gateway per family, --aux-address', async () => {
    const args = [
      'network',
      'create',
      '--subnet',
      '10.74.0.0/24',
      '--gateway',
      '10.74.0.254',
      '--ipv6',
      '--gateway',
      'fd00::fe',
      '--aux-address',
      'router=10.74.0.2',
      'auto6',
    ];
    expect((await tsnet(d, ...args)).code).toBe(0);
    const [net] = JSON.parse((await tsnet(d, 'network', 'inspect', 'auto6')).stdout) as { EnableIPv6: boolean; IPAM: { Config: object[] } }[];
    expect(net!.EnableIPv6).toBe(true);
    expect(net!.IPAM.Config).toEqual([
      { Subnet: '10.74.0.0/24', Gateway: '10.74.0.254', AuxiliaryAddresses: { router: '10.74.0.2' } },
      { Subnet: 'fd00::/64', Gateway: 'fd00::fe' },
    ]);
    await withBusybox();
    // With the gateway at .254, .1 is given out first; the aux address .2 never is: the next container gets .3.
    const r = await tsnet(d, 'run', '--rm', '--network', 'auto6', 'busybox', 'ip', '-o', 'addr', 'show', 'eth0');
    expect(r.stdout).toMatch(/inet 10\.74\.0\.1\/24 /u);
    expect(r.stdout).toMatch(/inet6 fd00::1\/64 /u);
    const next = await tsnet(d, 'run', '--rm', '--network', 'auto6', 'busybox', 'ip', '-4', '-o', 'addr', 'show', 'eth0');
    expect(next.stdout).toMatch(/inet 10\.74\.0\.3\/24 /u);
  });

  it('filters listings as Docker does (--filter, --no-trunc), and refuses filters it does not know', async () => {
    await withBusybox();
    for (const [name, label] of [
      ['front', 'tier=web'],
      ['back', 'tier=data'],
    ])
      expect((await tsnet(d, 'network', 'create', '--label', label!, name!)).code).toBe(0);
    const names = async (...args: string[]): Promise<string[]> =>
      (JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json', ...args)).stdout) as { name: string }[]).map((n) => n.name).sort();
    expect(await names('--filter', 'label=tier=web')).toEqual(['front']);
    expect(await names('--filter', 'label=tier')).toEqual(['back', 'front']);
    expect(await names('--filter', 'name=ro', '--filter', 'name=ac')).toEqual(['back', 'front']);
    expect(await names('--filter', 'driver=null')).toEqual(['none']);
    expect((await tsnet(d, 'network', 'ls', '-q', '--no-trunc', '--filter', 'name=front')).stdout).toMatch(/^[0-9a-f]{64}\n$/u);
    expect((await tsnet(d, 'run', '-d', '--name', 'up', '--network', 'front', 'busybox', 'sleep', '60')).code).toBe(0);
    expect((await tsnet(d, 'run', '--name', 'done', '--network', 'back', 'busybox', 'true')).code).toBe(0);
    const ps = async (...args: string[]): Promise<string[]> =>
      jsonLines<{ name: string }>((await tsnet(d, 'ps', '--format', 'json', ...args)).stdout)
        .map((c) => c.name)
        .sort();
    expect(await ps()).toEqual(['up']);
    expect(await ps('--filter', 'status=exited')).toEqual(['done']);
    expect(await ps('-a', '--filter', 'network=back')).toEqual(['done']);
    expect(await ps('-a', '--filter', 'name=u', '--filter', 'status=running')).toEqual(['up']);
    expect(await tsnet(d, 'ps', '--filter', 'colour=red')).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid filter "colour=red"') as string });
  });

  it('network prune asks on a terminal, refuses without one (unless -f), and takes until and label filters', async () => {
    for (const [name, label] of [
      ['p1', 'keep=no'],
      ['p2', 'keep=yes'],
    ])
      expect((await tsnet(d, 'network', 'create', '--label', label!, name!)).code).toBe(0);
    expect(await tsnet(d, 'network', 'prune')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('there is no terminal to confirm on (use --force)') as string,
    });
    // A real terminal (script gives the CLI a pty): "n" keeps everything, "y" goes on.
    const onTerminal = (answer: string) =>
      new Promise<string>((resolve) => {
        const cmd = `${process.execPath} ${CLI} --host unix://${d.socket} network prune --filter label=keep=no`;
        const p = execFile('script', ['-qec', cmd, '/dev/null'], (_err, stdout) => resolve(stdout));
        setTimeout(() => p.stdin?.write(`${answer}\n`), 500);
      });
    expect(await onTerminal('n')).toContain('Are you sure you want to continue? [y/N]');
    expect((await tsnet(d, 'network', 'ls')).stdout).toContain('p1');
    expect(await onTerminal('y')).toContain('Deleted networks:\r\np1');
    expect(await tsnet(d, 'network', 'prune', '-f', '--filter', 'until=1h')).toMatchObject({ code: 0, stdout: 'no unused network\n' });
    expect(await tsnet(d, 'network', 'prune', '-f', '--filter', 'until=soon')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('invalid until filter "soon"') as string,
    });
    expect((await tsnet(d, 'network', 'prune', '-f')).stdout).toBe('Deleted networks:\np2\n');
  });
});
