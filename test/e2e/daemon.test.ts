/**
 * The daemon and the real CLI end to end: the socket, a container's whole lifecycle, imported images, errors as
 * Docker says them, confinement, kill -9 and restarts, doctor, and what the raw API refuses. Networks' flags and
 * listings are in daemon-networks.test.ts. Each test has a lab and a daemon of its own.
 */
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { describeKernel, type Lab } from '../helpers/lab.js';
import { execFile } from 'node:child_process';
import { CLI, startDaemon, tsnet, useDaemonPerTest, type DaemonHandle } from '../helpers/daemon.js';

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
  // Each test has a lab and a daemon of its own, and imports the busybox image itself when it needs one.
  const env = useDaemonPerTest();
  const { withBusybox, rootfs } = env;
  let lab: Lab;
  let d: DaemonHandle;
  beforeEach(() => ({ lab, d } = env));
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
    d = env.d = await startDaemon(lab);
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
    d = env.d = await startDaemon(lab, 'daemon', ['--firewall-check', '1']);
    await lab.exec(lab.host, 'nft', ['flush', 'ruleset']);
    const back = async (): Promise<boolean> => (await lab.nftTable()).includes('10.72.0.0/24');
    for (let i = 0; i < 40 && !(await back()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await back()).toBe(true);
    expect(d.output()).toContain('tsnet firewall rules were missing');
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
    d = env.d = await startDaemon(lab);
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
    d = env.d = await startDaemon(l);
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
