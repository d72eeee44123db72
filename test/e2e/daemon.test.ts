import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { Lab, describeKernel } from '../helpers/lab.js';
import { execFile } from 'node:child_process';
import { CLI, startDaemon, tearDown, tsnet, type DaemonHandle, useBusyboxTarball } from '../helpers/daemon.js';

/** Output of one JSON object per line (docker ps --format json). */
const jsonLines = <T>(text: string): T[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as T);

/** A raw request on the socket, to send what the CLI never would. */
function raw(socket: string, method: string, path: string, body: string): Promise<{ status: number; json: { code: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { code: string; message: string } }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describeKernel('the daemon and the CLI, end to end', () => {
  // One immutable fixture for the whole file: a busybox root filesystem tarball. Each test gets its own lab and
  // its own daemon, and imports the image itself when it needs one.
  const rootfs = useBusyboxTarball();

  let lab: Lab;
  let d: DaemonHandle;
  beforeEach(async () => {
    lab = Lab.create();
    d = await startDaemon(lab).catch((err: unknown) => {
      lab.destroy();
      throw err;
    });
  });
  afterEach(() => tearDown(d, lab));
  const withBusybox = async (): Promise<void> => {
    expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
  };
  /** A running container w1 on network web (10.70.0.0/24). */
  const withRunningContainer = async (): Promise<void> => {
    await withBusybox();
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.70.0.0/24', 'web')).code).toBe(0);
    expect((await tsnet(d, 'run', '-d', '--name', 'w1', '--network', 'web', 'busybox', 'sleep', '300')).code).toBe(0);
  };

  it('serves the API on a unix socket of mode 0660, and refuses a second daemon on the same root', async () => {
    expect(statSync(d.socket).mode & 0o777).toBe(0o660);
    const second = await startDaemon(lab, 'daemon').catch((e: Error) => e.message);
    expect(second).toMatch(/another tsnet daemon \(PID \d+\) is using/u);
    const v = await tsnet(d, 'version');
    expect(v).toMatchObject({ code: 0 });
    expect(v.stdout).toMatch(/daemon: 0\.1\.0 \(API v1/u);
  });

  it('runs the whole lifecycle with the real CLI', async () => {
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.70.0.0/24', 'web')).code).toBe(0);
    expect((await tsnet(d, 'network', 'create', 'db', '--internal', '-o', 'com.docker.network.bridge.enable_icc=false', '--label', 'tier=data')).code).toBe(0);
    const ls = await tsnet(d, 'network', 'ls');
    expect(ls.stdout).toMatch(/web\s+bridge\s+local\s+10\.70\.0\.0\/24/u);
    const json = JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout) as { name: string; labels: Record<string, string> }[];
    expect(json.find((n) => n.name === 'db')?.labels).toEqual({ tier: 'data' });
    expect((await tsnet(d, 'image', 'busybox')).code).toBe(0);
    expect((await tsnet(d, 'run', '-d', '--name', 'w1', '--network', 'web', 'busybox', 'sleep', '300')).code).toBe(0);
    expect((await tsnet(d, 'run', '-d', '--name', 'w2', '--network', 'web', '--ip', '10.70.0.50', '-e', 'ROLE=second', 'busybox', 'sleep', '300')).code).toBe(
      0,
    );
    const ps = await tsnet(d, 'ps');
    expect(ps.stdout).toMatch(/w1 .* running .* web:10\.70\.0\.2\/24/u);
    expect(ps.stdout).toMatch(/w2 .* web:10\.70\.0\.50\/24/u);
    const ping = await tsnet(d, 'exec', 'w1', 'ping', '-c', '1', '-W', '2', '10.70.0.50');
    expect(ping.code).toBe(0);
    expect(await tsnet(d, 'exec', 'w2', 'sh', '-c', 'echo $ROLE; exit 4')).toMatchObject({ code: 4, stdout: 'second\n' });
    // Attached run: output streamed with stdout and stderr apart, exit code passed on, --rm honoured.
    const run = await tsnet(d, 'run', '--rm', '--network', 'web', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    expect(run).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    // Connect and disconnect a running container.
    expect((await tsnet(d, 'network', 'connect', 'db', 'w1')).code).toBe(0);
    const nets = JSON.parse((await tsnet(d, 'inspect', '-f', '{{json .NetworkSettings.Networks}}', 'w1')).stdout) as Record<string, { IPAddress: string }>;
    expect(Object.keys(nets).sort()).toEqual(['db', 'web']);
    expect((await tsnet(d, 'exec', 'w1', 'ip', '-4', '-o', 'addr', 'show', 'eth1')).stdout).toContain(`inet ${nets.db!.IPAddress}/`);
    expect(await tsnet(d, 'network', 'rm', 'db')).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/network "db" has active endpoints: .* \(TSNET_ERR_NETWORK_IN_USE\)\n$/u) as string,
    });
    expect((await tsnet(d, 'network', 'disconnect', 'db', 'w1')).code).toBe(0);
    const logs = await tsnet(d, 'run', '-d', '--name', 'talker', 'busybox', 'sh', '-c', 'echo said-this');
    expect(logs.code).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect((await tsnet(d, 'logs', 'talker')).stdout).toBe('said-this\n');
    expect((await tsnet(d, 'ps', '-a')).stdout).toMatch(/talker .* exited \(0\)/u);
    expect((await tsnet(d, 'rm', 'talker')).code).toBe(0);
    expect((await tsnet(d, 'stop', '-t', '1', 'w2')).code).toBe(0);
    expect((await tsnet(d, 'rm', 'w2')).code).toBe(0);
    expect((await tsnet(d, 'network', 'prune', '-f')).stdout).toContain('db');
    const info = await tsnet(d, 'info');
    expect(info.stdout).toMatch(/1 containers \(1 running\)/u);
    // What a reboot wipes is on the exec root (the socket's folder by default), not in the state folder.
    expect(info.stdout).toContain(`exec root ${dirname(d.socket)},`);
    expect(readdirSync(join(dirname(d.socket), 'sandboxes')).length).toBeGreaterThan(0);
    expect(readdirSync(join(dirname(d.socket), 'attach')).length).toBe(1);
    expect(existsSync(join(d.root, 'network', 'sandboxes'))).toBe(false);
  });

  it('imports a rootfs tarball as docker export writes it (gzip too), runs it, and refuses to remove it while used', async () => {
    const l = lab;
    await withBusybox();
    const layer = JSON.parse((await tsnet(d, 'image', 'ls', '--format', 'json')).stdout) as { id: string }[];
    const layerDir = join(d.root, 'runtime', 'images', 'layers', layer[0]!.id.replace('sha256:', ''));
    const tarball = join(l.dir, 'rootfs.tar.gz');
    await l.exec(l.host, 'tar', ['-czf', tarball, '-C', layerDir, '.']);
    expect((await tsnet(d, 'image', 'import', tarball, 'mybox:1.0')).code).toBe(0);
    expect((await tsnet(d, 'image', 'ls')).stdout).toMatch(/mybox:1\.0/u);
    expect(await tsnet(d, 'run', '--rm', 'mybox:1.0', 'cat', '/etc/passwd')).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('root:x:0:0') as string,
    });
    expect((await tsnet(d, 'run', '-d', '--name', 'user', 'mybox:1.0', 'sleep', '100')).code).toBe(0);
    expect(await tsnet(d, 'image', 'rm', 'mybox:1.0')).toMatchObject({
      code: 1,
      stderr: 'tsnet: image "mybox:1.0" is used by a container: remove the container first (TSNET_ERR_CONFLICT)\n',
    });
    expect((await tsnet(d, 'rm', '-f', 'user')).code).toBe(0);
    expect((await tsnet(d, 'image', 'rm', 'mybox:1.0')).code).toBe(0);
    expect(await tsnet(d, 'image', 'import', join(l.dir, 'nothing.tar'), 'x')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('no such file') as string,
    });
    // A valid first header followed by garbage is refused whole, not imported as a partial image.
    const garbage = join(l.dir, 'garbage.tar');
    writeFileSync(garbage, Buffer.concat([readFileSync(rootfs()).subarray(0, 512), randomBytes(8192)]));
    const partial = await tsnet(d, 'image', 'import', garbage, 'partial');
    expect(partial).toMatchObject({ code: 1, stderr: expect.stringMatching(/not a tar archive .*\(TSNET_ERR_INVALID_ARGUMENT\)/u) as string });
    expect((await tsnet(d, 'image', 'ls')).stdout).not.toContain('partial');
  });

  it('says plainly what is wrong, with Docker exit codes, and no stack trace', async () => {
    await withBusybox();
    const missing = await tsnet(d, 'run', 'busybox', '/no/such/binary');
    expect(missing).toMatchObject({ code: 127 });
    expect(missing.stderr).toBe(
      'tsnet: container "' + missing.stderr.split('"')[1] + '" failed to start: exec: ENOENT (No such file or directory) (TSNET_ERR_COMMAND_NOT_FOUND)\n',
    );
    expect(await tsnet(d, 'run', '--pull', 'never', 'nosuchimage', 'true')).toMatchObject({
      code: 125,
      stderr: 'tsnet: image "nosuchimage" not found (import one with "tsnet image import FILE NAME") (TSNET_ERR_NOT_FOUND)\n',
    });
    expect(await tsnet(d, 'network', 'inspect', 'nope')).toMatchObject({ code: 1, stderr: 'tsnet: network "nope" not found (TSNET_ERR_NETWORK_NOT_FOUND)\n' });
    const unreachable = await tsnet({ socket: '/tmp/tsnet-no-such.sock' }, 'ps');
    expect(unreachable).toMatchObject({
      code: 1,
      stderr: 'tsnet: cannot reach the tsnet daemon at unix:///tmp/tsnet-no-such.sock: is "tsnet daemon" running? (TSNET_ERR_DAEMON_UNREACHABLE)\n',
    });
  });

  it('confines containers by default; --privileged, --cap-add and --security-opt widen it through the CLI', async () => {
    await withBusybox();
    const capEff = async (...flags: string[]): Promise<string> => {
      const r = await tsnet(d, 'run', '--rm', ...flags, 'busybox', 'grep', '-E', '^(CapEff|Seccomp):', '/proc/self/status');
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.replace(/\s+/gu, ' ').trim();
    };
    expect(await capEff()).toBe('CapEff: 00000000a80425fb Seccomp: 2');
    expect(await capEff('--cap-add', 'NET_ADMIN', '--cap-drop', 'MKNOD')).toBe('CapEff: 00000000a00435fb Seccomp: 2');
    expect(await capEff('--privileged')).toMatch(/^CapEff: 000001ff[0-9a-f]{8} Seccomp: 0$/u);
    expect(await capEff('--security-opt', 'seccomp=unconfined')).toBe('CapEff: 00000000a80425fb Seccomp: 0');
    const bad = await tsnet(d, 'run', '--rm', '--cap-add', 'NET_WIZARD', 'busybox', 'true');
    expect(bad).toMatchObject({ code: 125, stderr: 'tsnet: unknown capability "NET_WIZARD" (TSNET_ERR_INVALID_ARGUMENT)\n' });
  });

  it("starts again at once after a kill -9 (the lock is the kernel's), and says what is wrong on the CLI", async () => {
    await d.stop('SIGKILL');
    d = await startDaemon(lab);
    expect((await tsnet(d, 'version')).code).toBe(0);
    // docker version fails when the daemon cannot be reached; so does tsnet version.
    expect(await tsnet({ socket: join(lab.dir, 'none.sock') }, 'version')).toMatchObject({ code: 1, stdout: expect.stringContaining('client: ') as string });
    expect(await tsnet(d, 'network', 'ls', '--format', 'yaml')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("argument 'yaml' is invalid") as string,
    });
    expect((await tsnet(d, 'run', '--no-such-flag', 'busybox', 'true')).code).toBe(125);
    // A user the socket does not let in is told so, not that the daemon is down.
    const denied = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        'setpriv',
        ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, '--host', `unix://${d.socket}`, 'ps'],
        (err, _out, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
      );
    });
    expect(denied).toEqual({
      code: 1,
      stderr: `tsnet: permission denied on unix://${d.socket} (are you root or in the tsnet group?) (TSNET_ERR_PERMISSION_DENIED)\n`,
    });
  });

  it('tsnet doctor finds a flushed firewall and --fix restores it; the daemon also restores it on its own', async () => {
    expect((await tsnet(d, 'network', 'create', '--subnet', '10.72.0.0/24', 'web')).code).toBe(0);
    expect(await tsnet(d, 'doctor')).toMatchObject({ code: 0, stdout: 'kernel, firewall and records agree\n' });
    // The nftables backend is the default where the kernel has nf_tables.
    expect((await tsnet(d, 'info')).stdout).toContain('firewall nftables');
    const out = /chain (out-br-[0-9a-f]{12}) /u.exec(await lab.nftTable())![1]!;
    await lab.exec(lab.host, 'nft', ['flush', 'chain', 'inet', 'tsnet', out]);
    const found = await tsnet(d, 'doctor');
    expect(found.code).toBe(1);
    expect(found.stdout).toMatch(
      /^to repair: bridge driver: nftables: rule "ip saddr 10\.72\.0\.0\/24 oifname != "br-[0-9a-f]{12}" masquerade" in chain out-br-/mu,
    );
    expect(await tsnet(d, 'doctor', '--fix')).toMatchObject({ code: 0, stdout: expect.stringMatching(/^repaired: bridge driver: nftables: /mu) as string });
    expect((await tsnet(d, 'doctor')).code).toBe(0);
    // With a check every second, the daemon puts the rules back by itself.
    await d.stop();
    d = await startDaemon(lab, 'daemon', ['--firewall-check', '1']);
    await lab.exec(lab.host, 'nft', ['flush', 'ruleset']);
    const back = async (): Promise<boolean> => (await lab.nftTable()).includes('10.72.0.0/24');
    for (let i = 0; i < 40 && !(await back()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await back()).toBe(true);
    expect(d.output()).toContain('tsnet firewall rules were missing');
  });

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
    d = await startDaemon(lab, 'daemon', ['--bridge', 'none']);
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

  it('answers malformed JSON and schema violations on the raw socket with 400s that name the field', async () => {
    const bad = await raw(d.socket, 'POST', '/v1/networks', '{"name": "x",');
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('TSNET_ERR_INVALID_ARGUMENT');
    const noName = await raw(d.socket, 'POST', '/v1/networks', '{"driver": "bridge"}');
    expect(noName).toMatchObject({ status: 400, json: { message: expect.stringContaining("must have required property 'name'") as string } });
    const extra = await raw(d.socket, 'POST', '/v1/networks', '{"name": "x", "colour": "red"}');
    expect(extra.status).toBe(400);
    expect(extra.json.message).toMatch(/must NOT have additional properties/u);
    await withBusybox();
    const nul = await raw(d.socket, 'POST', '/v1/containers', JSON.stringify({ image: 'busybox', command: ['echo', 'a\u0000b'] }));
    expect(nul).toMatchObject({ status: 400, json: { message: 'command "a\\u0000b" contains a NUL byte' } });
    expect((await raw(d.socket, 'POST', '/v1/networks', JSON.stringify({ name: 'x', subnet: 'ff00::/64', ipv6: true, subnet6: 'ff00::/64' }))).status).toBe(
      400,
    );
    expect((await tsnet(d, 'run', '-d', '--name', 'target', 'busybox', 'sleep', '60')).code).toBe(0);
    const env = await raw(d.socket, 'POST', '/v1/containers/target/exec', JSON.stringify({ command: ['true'], env: ['NOEQUALS'] }));
    expect(env).toMatchObject({ status: 400, json: { message: 'environment variable "NOEQUALS" is not of the form KEY=VALUE' } });
    const type = await raw(d.socket, 'POST', '/v1/containers', '{"image": 5}');
    expect(type).toMatchObject({ status: 400, json: { message: expect.stringContaining('body/image must be string') as string } });
    expect((await raw(d.socket, 'GET', '/v1/nothing', '')).status).toBe(404);
  });

  it('lets one of two clients creating the same network at once win; the other gets a conflict', async () => {
    const [a, b] = await Promise.all([tsnet(d, 'network', 'create', 'race'), tsnet(d, 'network', 'create', 'race')]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect([a, b].find((r) => r.code === 1)!.stderr).toBe('tsnet: network with name "race" already exists (TSNET_ERR_NETWORK_EXISTS)\n');
    const status = await raw(d.socket, 'POST', '/v1/networks', '{"name": "race"}');
    expect(status.status).toBe(409);
  });

  it('keeps containers running across a daemon restart, with their addresses', async () => {
    await withRunningContainer();
    type Inspected = { State: { Status: string; Pid: number }; NetworkSettings: { Networks: object } }[];
    const before = JSON.parse((await tsnet(d, 'inspect', 'w1')).stdout) as Inspected;
    expect(await d.stop('SIGTERM')).toBe(0);
    d = await startDaemon(lab);
    const after = JSON.parse((await tsnet(d, 'inspect', 'w1')).stdout) as Inspected;
    expect(after[0]).toMatchObject({
      State: { Status: 'running', Pid: before[0]!.State.Pid },
      NetworkSettings: { Networks: before[0]!.NetworkSettings.Networks },
    });
    expect((await tsnet(d, 'exec', 'w1', 'ping', '-c', '1', '-W', '2', '10.70.0.1')).code).toBe(0);
  });

  it('recovers from kill -9 in the middle of network connect: consistent state, no leak', async () => {
    const l = lab;
    await withRunningContainer();
    await tsnet(d, 'network', 'create', '--subnet', '10.71.0.0/24', 'crashnet');
    const connect = tsnet(d, 'network', 'connect', 'crashnet', 'w1');
    await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 40)));
    await d.stop('SIGKILL');
    await connect;
    d = await startDaemon(l);
    const net = JSON.parse((await tsnet(d, 'network', 'inspect', 'crashnet')).stdout) as { Containers: object }[];
    const links = await l.ip(l.host, 'link');
    const tagged = links.filter((x) => String(x.ifalias ?? '').startsWith('tsnet:endpoint:'));
    const recorded = new Set(
      (JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout) as { containers: { endpoint: string }[] }[]).flatMap((n) =>
        n.containers.map((c) => c.endpoint),
      ),
    );
    // Every tagged interface is recorded, and every bridge endpoint recorded has its interface.
    for (const t of tagged) expect(recorded.has(String(t.ifalias).split(':')[2]!)).toBe(true);
    expect(tagged.length).toBe([...recorded].filter((id) => tagged.some((t) => String(t.ifalias).endsWith(id))).length);
    // Connecting again either works or says it is already connected.
    const again = await tsnet(d, 'network', 'connect', 'crashnet', 'w1');
    expect(again.code === 0 || /already connected/u.test(again.stderr)).toBe(true);
    expect(Object.keys(net[0]!.Containers).length).toBeLessThanOrEqual(1);
    expect((await tsnet(d, 'exec', 'w1', 'ping', '-c', '1', '-W', '2', '10.71.0.1')).code).toBe(0);
  });
});
