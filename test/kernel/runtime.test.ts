import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Controller } from '../../src/cnm/controller.js';
import { buildBusyboxImage } from '../../src/runtime/busybox.js';
import { parseMemory } from '../../src/runtime/cgroups.js';
import { Runtime, processStartTime } from '../../src/runtime/runtime.js';
import { describeKernel, useLab } from '../helpers/lab.js';
import { buildWorld } from '../helpers/world.js';

const nsInode = (pid: number | 'self', kind: string): number => statSync(`/proc/${pid}/ns/${kind}`).ino;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeKernel('the container runtime', () => {
  const lab = useLab();
  let rt: Runtime;
  let ctl: Controller;
  let root: string;
  /** As the daemon's exec root: the attach sockets go there. */
  let runDir: string;

  const sandbox = async (name: string, network = 'none') => {
    const s = await ctl.createSandbox({ containerId: name, hostname: name });
    await ctl.connect(network, s.id);
    return {
      netnsPath: s.netnsPath!,
      hostsFile: join(ctl.sandboxFilesDir(s.id), 'hosts'),
      resolvFile: join(ctl.sandboxFilesDir(s.id), 'resolv.conf'),
      hostname: name,
    };
  };
  const run = async (name: string, command: string[], extra: Partial<Parameters<Runtime['create']>[0]> = {}) => {
    const c = await rt.create({ image: 'busybox', command, name, ...(await sandbox(name)), ...extra });
    await rt.start(c.id);
    return c;
  };

  afterAll(async () => {
    // Whatever a failed test left running goes, so that no process, mount or cgroup outlives the file.
    for (const c of rt?.list() ?? []) await rt.remove(c.id, { force: true }).catch(() => undefined);
    rt?.close();
    await ctl?.close();
  });

  beforeAll(async () => {
    const l = lab();
    const world = await buildWorld(l, 'rt');
    ({ controller: ctl } = await world.open());
    await ctl.createNetwork({ name: 'none', driver: 'null' });
    await ctl.createNetwork({ name: 'rtnet', subnet: '10.60.0.0/24' });
    root = join(l.dir, 'runtime');
    runDir = join(l.dir, 'run');
    rt = Runtime.open(root, { runDir });
    await buildBusyboxImage(rt.images);
  });

  it('runs a busybox container in namespaces of its own, as PID 1, with its hostname, copy-on-write', async () => {
    const c = await run('first', ['/bin/sh', '-c', 'echo pid=$$ host=$(hostname) user=$(id -u); echo data > /written; sleep 5'], { env: ['GREETING=hi'] });
    expect(c.status).toBe('running');
    for (const kind of ['pid', 'mnt', 'uts', 'ipc', 'net']) expect(nsInode(c.pid!, kind)).not.toBe(nsInode('self', kind));
    await sleep(200);
    expect(rt.io.logs('first')).toContain('pid=1 host=first user=0');
    const exec = await rt.io.exec('first', ['/bin/sh', '-c', 'echo $GREETING; cat /written; hostname; head -1 /etc/hosts']);
    expect(exec).toMatchObject({ exitCode: 0, stdout: 'hi\ndata\nfirst\n127.0.0.1\tlocalhost\n' });
    // The write went to the container's upper layer, never to the image.
    expect(existsSync(join(rt.images.layerDir(rt.images.get('busybox')), 'written'))).toBe(false);
    expect(readFileSync(join(rt.dir(c.id), 'upper', 'written'), 'utf8')).toBe('data\n');
    // Nothing of the container is mounted in the host's mount table (its root is mounted over the image's top layer
    // folder in its own mount namespace only).
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(mounts).not.toContain(rt.dir(c.id));
    expect(mounts).not.toContain(rt.images.layerDir(rt.images.get('busybox')));
    await rt.remove('first', { force: true });
    expect(existsSync(rt.files.attachSocket(c.id))).toBe(false);
  });

  it("spreads the containers' folders over ext4's block groups (its TOPDIR flag on their parent)", () => {
    const containers = join(root, 'containers');
    // On another filesystem there is no such flag (nothing to check); this machine's is ext4.
    if (execFileSync('stat', ['-f', '-c', '%T', containers], { encoding: 'utf8' }).trim() !== 'ext2/ext3') return;
    expect(execFileSync('lsattr', ['-d', containers], { encoding: 'utf8' }).split(' ')[0]).toContain('T');
  });

  it('makes nothing per start in a container layer or folder, and its monitor holds none of the spawner channels', async () => {
    const a = await run('lean-a', ['/bin/sh', '-c', 'ls -a / /dev; sleep 30']);
    const b = await run('lean-b', ['/bin/sleep', '30']);
    await sleep(200);
    // The old root went in the container's own /dev (a tmpfs), so its layer gets no folder for it.
    expect(rt.io.logs(a.id)).not.toContain('.pivot');
    // Its device nodes are made there, not bound from the host's /dev (no mount each).
    const dev = await rt.io.exec(a.id, [
      '/bin/sh',
      '-c',
      'for n in null zero full random urandom tty; do [ -c /dev/$n ] || echo "no $n"; done; grep -cE " /dev/(null|zero|full|random|urandom|tty) " /proc/self/mountinfo; echo x > /dev/null && head -c 3 /dev/zero | wc -c',
    ]);
    expect(dev).toMatchObject({ exitCode: 0, stdout: '0\n3\n' });
    expect(readdirSync(join(rt.dir(a.id), 'upper'))).toEqual([]);
    expect(readdirSync(rt.dir(a.id)).sort()).toEqual(['container.log', 'monitor.log', 'state.1.json', 'state.json', 'upper', 'work']);
    // Its attach socket is made in the run folder (a tmpfs where the daemon runs), not on the disk.
    expect(rt.files.attachSocket(a.id)).toBe(join(runDir, 'attach', `${a.id}.sock`));
    expect(statSync(rt.files.attachSocket(a.id)).isSocket()).toBe(true);
    // Their device groups start below one group that holds the rules, with them (no rule written per container).
    const devices = (id: string): string | undefined => rt.get(id).cgroups?.dirs.find((d) => d.includes('/devices/'));
    if (devices(a.id)) {
      expect(dirname(devices(a.id)!)).toBe(dirname(devices(b.id)!));
      expect(readFileSync(join(devices(a.id)!, 'devices.list'), 'utf8')).toBe(readFileSync(join(dirname(devices(a.id)!), 'devices.list'), 'utf8'));
      expect(readFileSync(join(devices(a.id)!, 'devices.list'), 'utf8')).toContain('c 1:3 rwm');
      expect(readFileSync(join(devices(a.id)!, 'devices.list'), 'utf8')).not.toContain('a *:*');
    }
    // One seccomp profile for both, kept once beside its compiled program.
    expect(rt.get(a.id).confinement?.seccompHash).toBe(rt.get(b.id).confinement?.seccompHash);
    expect(existsSync(join(root, 'seccomp', `${rt.get(a.id).confinement!.seccompHash!}.rules`))).toBe(true);
    // The spawner runs the launcher in its fork: the monitor says what it is, and keeps only its own files.
    const parent = (pid: number): number => Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    const monitor = parent(b.pid!);
    expect(readFileSync(`/proc/${monitor}/cmdline`, 'utf8').split('\0')[1]).toBe('monitor');
    const spawner = parent(monitor);
    const files = (pid: number): string[] => readdirSync(`/proc/${pid}/fd`).map((fd) => readlinkSync(`/proc/${pid}/fd/${fd}`));
    const channel = (f: string): boolean => f.startsWith('pipe:') || f.startsWith('socket:');
    // The spawner's request and answer channel with Node (its fds 0 and 1, pipes or sockets as libuv makes them);
    // its report pipes are closed once the launchers reported, so they are not there to compare.
    const spawnerChannel = files(spawner).filter(channel);
    expect(spawnerChannel.length).toBeGreaterThanOrEqual(2);
    for (const f of files(monitor)) expect(spawnerChannel).not.toContain(f);
    // Nor the spawner's copies of what it gave the monitor as fds 0-2 (its /dev/null, the log): they stay behind.
    const fd = (n: number): string => readlinkSync(`/proc/${monitor}/fd/${n}`);
    const above = readdirSync(`/proc/${monitor}/fd`).filter((n) => Number(n) > 2);
    expect(above.map((n) => fd(Number(n)))).not.toContain(fd(0));
    expect(above.map((n) => fd(Number(n)))).not.toContain(fd(1));
    // Nor any pipe or socket of the monitor started before it.
    expect(files(monitor).filter((f) => channel(f) && files(parent(a.pid!)).includes(f))).toEqual([]);
    await rt.remove(a.id, { force: true });
    await rt.remove(b.id, { force: true });
  });

  it('starts, watches and stops containers the same whether its spawner or Node forks the launchers', async () => {
    const direct = Runtime.open(join(lab().dir, 'runtime-direct'), { spawner: false });
    try {
      await buildBusyboxImage(direct.images);
      for (const r of [rt, direct]) {
        const name = r === rt ? 'by-spawner' : 'by-node';
        const c = await r.create({ image: 'busybox', command: ['/bin/sh', '-c', 'echo hi; exit 3'], name, ...(await sandbox(name)) });
        await r.start(c.id);
        expect(await r.wait(c.id)).toBe(3);
        expect(r.io.logs(c.id)).toBe('hi\n');
        const bad = await r.create({ image: 'busybox', command: ['/nonexistent'], name: `${name}-bad`, ...(await sandbox(`${name}-bad`)) });
        await expect(r.start(bad.id)).rejects.toMatchObject({ code: 'TSNET_ERR_COMMAND_NOT_FOUND' });
        await r.remove(c.id);
        await r.remove(bad.id);
      }
    } finally {
      direct.close();
    }
  });

  it('records the exit code and the output of a container that ends', async () => {
    const c = await run('exits', ['/bin/sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(await rt.wait(c.id)).toBe(7);
    expect(rt.get(c.id)).toMatchObject({ status: 'exited', exitCode: 7 });
    expect(rt.io.logs(c.id)).toBe('out\nerr\n');
    expect((await rt.io.exec(c.id, ['true']).catch((e: unknown) => e)) as Error).toMatchObject({ message: 'container "exits" is not running' });
    await rt.remove(c.id);
  });

  it('stops a container that ignores SIGTERM after the timeout, with SIGKILL', async () => {
    const c = await run('stubborn', ['/bin/sleep', '60']);
    const started = Date.now();
    await rt.stop(c.id, 1);
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(900);
    expect(took).toBeLessThan(10_000);
    expect(rt.get(c.id)).toMatchObject({ status: 'exited', exitCode: 137 });
    expect(processStartTime(c.pid!)).not.toBe(c.startTime);
    await rt.remove(c.id);
  });

  it('supplies an init as PID 1 on request: the command is PID 2 and its exit code is kept', async () => {
    const c = await run('withinit', ['/bin/sh', '-c', '(sleep 0.1 &); echo pid=$$; exit 3'], { init: true });
    expect(await rt.wait(c.id)).toBe(3);
    expect(rt.io.logs(c.id)).toContain('pid=2');
    await rt.remove(c.id);
  });

  it('kills a process that exceeds its memory limit', async (ctx) => {
    if (rt.cgroups.layout.kind === 'none') return ctx.skip('no memory cgroup controller on this machine');
    const c = await run('hungry', ['/bin/sh', '-c', 'dd if=/dev/zero of=/dev/null bs=64M count=1 && echo survived'], {
      limits: { memory: parseMemory('16m') },
    });
    expect(await rt.wait(c.id)).toBe(137);
    expect(rt.get(c.id).oomKilled).toBe(true);
    expect(rt.io.logs(c.id)).not.toContain('survived');
    await rt.remove(c.id);
  });

  it('enforces a pids limit, and runs the command as the given user in the given folder', async (ctx) => {
    if (rt.cgroups.layout.kind === 'none') return ctx.skip('no pids cgroup controller on this machine');
    const c = await run('forky', ['/bin/sh', '-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do sleep 5 & done; echo started; wait'], { limits: { pids: 4 } });
    await rt.wait(c.id);
    expect(rt.io.logs(c.id)).toMatch(/can't fork|Resource temporarily unavailable/u);
    await rt.remove(c.id);
    const u = await run('nobody', ['/bin/sh', '-c', 'id -u; id -g; pwd'], { uid: 65534, gid: 65534, cwd: '/tmp' });
    expect(await rt.wait(u.id)).toBe(0);
    expect(rt.io.logs(u.id)).toBe('65534\n65534\n/tmp\n');
    await rt.remove(u.id);
  });

  it('lets two containers on one tsnet bridge network ping each other', async () => {
    const a = await rt.create({ image: 'busybox', command: ['/bin/sleep', '30'], name: 'ping-a', ...(await sandbox('ping-a', 'rtnet')) });
    const b = await rt.create({ image: 'busybox', command: ['/bin/sleep', '30'], name: 'ping-b', ...(await sandbox('ping-b', 'rtnet')) });
    await Promise.all([rt.start(a.id), rt.start(b.id)]);
    const ping = await rt.io.exec('ping-a', ['ping', '-c', '1', '-W', '2', '10.60.0.3']);
    expect(ping.stdout).toContain('1 packets received');
    const byName = await rt.io.exec('ping-b', ['ping', '-c', '1', '-W', '2', '10.60.0.2']);
    expect(byName.exitCode).toBe(0);
    await Promise.all([rt.remove(a.id, { force: true }), rt.remove(b.id, { force: true })]);
  });

  it('starts 20 containers at once and removes them all without leaking mounts, cgroups or folders', async () => {
    const boxes = await Promise.all(Array.from({ length: 20 }, (_, i) => sandbox(`many${i}`)));
    const made = await Promise.all(
      boxes.map((s, i) => rt.create({ image: 'busybox', command: ['/bin/sleep', '30'], name: `many${i}`, limits: { pids: 50 }, ...s })),
    );
    await Promise.all(made.map((c) => rt.start(c.id)));
    expect(made.every((c) => rt.get(c.id).status === 'running')).toBe(true);
    await Promise.all(made.map((c) => rt.remove(c.id, { force: true })));
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(root, 'containers'));
    for (const c of made) for (const dir of c.cgroups!.dirs) expect(existsSync(dir)).toBe(false);
    for (const c of made) expect(existsSync(rt.dir(c.id))).toBe(false);
    expect(made[0]!.cgroups!.dirs.length).toBeGreaterThan(0);
  });

  it('refuses bad input clearly and leaves nothing behind', async () => {
    const s = await sandbox('bad');
    await expect(rt.create({ image: 'nosuchimage', command: ['true'], ...s })).rejects.toThrow('image "nosuchimage" not found');
    expect(() => parseMemory('64x')).toThrow(/invalid memory limit "64x"/);
    expect(() => parseMemory('1k')).toThrow(/too low/);
    await expect(rt.create({ image: 'busybox', command: [], ...s })).rejects.toThrow(/no command/);
    const c = await rt.create({ image: 'busybox', command: ['/no/such/command'], name: 'badcmd', ...s });
    await expect(rt.start(c.id)).rejects.toThrow('container "badcmd" failed to start: exec: ENOENT (No such file or directory)');
    await rt.remove(c.id);
    expect(existsSync(rt.dir(c.id))).toBe(false);
    expect(rt.list().map((x) => x.name)).not.toContain('badcmd');
    expect(() => rt.images.remove('busybox', () => true)).toThrow(/is used by a container/);
    // Two creates of one name at once (each makes its folder off the thread): one is refused, and leaves nothing.
    const before = readdirSync(join(root, 'containers')).length;
    const twins = await Promise.allSettled([0, 1].map(() => rt.create({ image: 'busybox', command: ['true'], name: 'twin', ...s })));
    const made = twins.filter((t): t is PromiseFulfilledResult<Awaited<ReturnType<Runtime['create']>>> => t.status === 'fulfilled');
    expect(made).toHaveLength(1);
    expect(twins.find((t) => t.status === 'rejected')).toMatchObject({ reason: { message: 'a container named "twin" already exists' } });
    expect(readdirSync(join(root, 'containers'))).toHaveLength(before + 1);
    await rt.remove(made[0]!.value.id);
  });

  it('re-adopts running containers after a restart, and does not take a recycled PID for one', async () => {
    const c = await run('survivor', ['/bin/sleep', '30']);
    rt.close();
    rt = Runtime.open(root, { runDir });
    expect(rt.get('survivor')).toMatchObject({ status: 'running', pid: c.pid });
    expect((await rt.io.exec('survivor', ['hostname'])).stdout).toBe('survivor\n');
    // A state that names a live PID with another start time is a dead container, not that process.
    const ghost = await run('ghost', ['/bin/sleep', '30']);
    await rt.remove(ghost.id, { force: true });
    rt.close();
    rt = Runtime.open(root, { runDir });
    await rt.stop('survivor', 1);
    expect(rt.get('survivor').status).toBe('exited');
    await rt.remove('survivor');
    // A container started by an earlier version (its attach socket in its folder) is still attached to.
    rt.close();
    rt = Runtime.open(root);
    const old = await run('old-layout', ['/bin/sleep', '30']);
    expect(existsSync(join(rt.dir(old.id), 'attach.sock'))).toBe(true);
    rt.close();
    rt = Runtime.open(root, { runDir });
    const socket = await rt.io.attach('old-layout');
    socket.destroy();
    await rt.remove('old-layout', { force: true });
  });

  it('says an exit status nobody could write down is unknown, never 0', async () => {
    const c = await run('unrecorded', ['/bin/sleep', '30']);
    rt.close(); // the daemon is down: nobody is this container's parent now
    const exitFile = join(rt.dir(c.id), 'exit');
    process.kill(c.pid!, 'SIGKILL');
    // As on a full disk: the monitor could write no exit file (and before the fix, an empty one read as 0).
    for (let i = 0; i < 50 && !existsSync(exitFile); i++) await new Promise((r) => setTimeout(r, 20));
    rmSync(exitFile, { force: true });
    writeFileSync(exitFile, '');
    rt = Runtime.open(root, { runDir });
    for (let i = 0; i < 50 && rt.get('unrecorded').status !== 'exited'; i++) await new Promise((r) => setTimeout(r, 50));
    expect(rt.get('unrecorded')).toMatchObject({ status: 'exited' });
    expect(rt.get('unrecorded').exitCode).toBeUndefined();
    expect(await rt.wait('unrecorded')).toBeNull();
    await rt.remove('unrecorded');
  });
});
