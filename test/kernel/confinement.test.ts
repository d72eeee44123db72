/**
 * Containers are confined as Docker confines them by default; each escape a hostile probe found is tried from inside
 * and must fail for the expected reason (the errno the probe prints), while what Docker allows still works.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { Runtime, type ContainerConfig } from '../../src/runtime/runtime.js';
import { describeKernel, useLab } from '../helpers/lab.js';

const PROBE_SOURCE = fileURLToPath(new URL('../helpers/native/probe.c', import.meta.url));
const DOCKER_DEFAULT = '00000000a80425fb';

const status = (text: string, field: string): string | undefined => new RegExp(`^${field}:\\s*(\\S+)$`, 'mu').exec(text)?.[1];

describeKernel('container confinement', () => {
  const lab = useLab();
  let rt: Runtime;
  let fixtures: string;
  let seq = 0;

  beforeAll(async () => {
    // An image of busybox and the probe.
    fixtures = mkdtempSync(join(tmpdir(), 'tsnet-confinement-'));
    const tar = await busyboxRootfsTar(fixtures);
    execFileSync('cc', ['-static', '-O2', '-o', join(fixtures, 'rootfs', 'bin', 'probe'), PROBE_SOURCE]);
    execFileSync('tar', ['-rf', tar, '-C', join(fixtures, 'rootfs'), './bin/probe']);
    rt = Runtime.open(join(lab().dir, 'runtime'));
    await rt.images.import(tar, 'probe');
  });
  afterAll(async () => {
    for (const c of rt?.list() ?? []) await rt.remove(c.id, { force: true }).catch(() => undefined);
    rt?.close();
    rmSync(fixtures, { recursive: true, force: true });
  });

  /** Runs a shell script in a new container (its own network namespace, lo up) and returns its exit code and output. */
  const run = async (script: string, extra: Partial<ContainerConfig> = {}): Promise<{ code: number | null; out: string }> => {
    const ns = lab().ns(`c${++seq}`);
    await lab().exec(ns, 'ip', ['link', 'set', 'lo', 'up']);
    const c = await rt.create({ image: 'probe', command: ['sh', '-c', script], name: `c${seq}`, netnsPath: ns.path!, ...extra });
    await rt.start(c.id);
    const code = await rt.wait(c.id);
    const out = rt.io.logs(c.id);
    await rt.remove(c.id);
    return { code, out };
  };

  it("holds Docker's 14 capabilities in every set, no_new_privs and a seccomp filter; exec'd commands too", async () => {
    const { out } = await run('cat /proc/self/status');
    expect({ eff: status(out, 'CapEff'), prm: status(out, 'CapPrm'), bnd: status(out, 'CapBnd'), inh: status(out, 'CapInh') }).toEqual({
      eff: DOCKER_DEFAULT,
      prm: DOCKER_DEFAULT,
      bnd: DOCKER_DEFAULT,
      inh: '0000000000000000',
    });
    expect([status(out, 'NoNewPrivs'), status(out, 'Seccomp')]).toEqual(['1', '2']);
    const ns = lab().ns(`c${++seq}`);
    const c = await rt.create({ image: 'probe', command: ['sleep', '30'], name: `c${seq}`, netnsPath: ns.path!, limits: { pids: 50 } });
    await rt.start(c.id);
    const exec = await rt.io.exec(c.id, ['sh', '-c', 'cat /proc/self/status; cat /proc/self/cgroup; /bin/probe keyctl']);
    expect([status(exec.stdout, 'CapEff'), status(exec.stdout, 'NoNewPrivs'), status(exec.stdout, 'Seccomp')]).toEqual([DOCKER_DEFAULT, '1', '2']);
    // The exec'd command is in the container's cgroups (its pids limit holds) and sees them as its root.
    expect(exec.stdout).toMatch(/^\d+:pids:\/$/mu);
    expect(exec.stdout.trim().split('\n').pop()).toBe('EPERM');
    await rt.remove(c.id, { force: true });
  });

  it('makes every escape of the probe fail, for the expected reason', async () => {
    const script = [
      'echo "cgroup-mount $(mkdir -p /tmp/c; /bin/probe mount)"',
      'echo "release_agent $(mount -t cgroup -o pids cgroup /tmp/c 2>/dev/null; /bin/probe write /tmp/c/release_agent)"',
      'echo "core_pattern $(/bin/probe write /proc/sys/kernel/core_pattern)"',
      'mknod /kmsg c 1 11 && echo "kmsg $(/bin/probe read /kmsg)"',
      'mknod /disk b 254 0 && echo "disk $(/bin/probe read /disk)"',
      'mount -o remount,rw /sys 2>/dev/null; grep -q " /sys sysfs ro," /proc/mounts && echo "sys ro"',
      'echo "keys $(wc -c < /proc/keys) timer_list $(wc -c < /proc/timer_list)"',
      'echo "unshare-user $(/bin/probe unshare-user)"',
      'echo "keyctl $(/bin/probe keyctl)"',
      'echo "bpf $(/bin/probe bpf)"',
      'su nobody -s /bin/sh -c "sleep 5" & sleep 0.3; echo "ptrace $(/bin/probe ptrace $!)"; kill $!',
    ].join('; ');
    const { out } = await run(script);
    const lines = Object.fromEntries(
      out
        .trim()
        .split('\n')
        .map((l) => [l.split(' ')[0], l.slice(l.indexOf(' ') + 1)]),
    );
    expect(lines).toEqual({
      'cgroup-mount': 'EPERM',
      release_agent: 'ENOENT', // the cgroup filesystem could not be mounted, so there is nothing to open
      core_pattern: 'EROFS',
      kmsg: 'EPERM', // the node can be made (CAP_MKNOD, as Docker), not used: the device cgroup says no
      disk: 'EPERM',
      sys: 'ro',
      keys: '0 timer_list 0',
      'unshare-user': 'EPERM',
      keyctl: 'EPERM',
      bpf: 'EPERM',
      ptrace: 'EPERM',
    });
  });

  it('still lets a container do what Docker allows: ping, bind port 80, chown in its root filesystem', async () => {
    const { out, code } = await run(
      'ping -c 1 -W 1 127.0.0.1 >/dev/null && echo ping; (nc -l -p 80 & p=$!; sleep 0.2; kill $p) && echo bind; touch /f && chown 65534 /f && echo chown',
    );
    expect(code).toBe(0);
    expect(out.trim().split('\n')).toEqual(['ping', 'bind', 'chown']);
  });

  it('widens and narrows on request: --privileged, --cap-add, --cap-drop, --security-opt, --device', async () => {
    const own = status(readFileSync('/proc/self/status', 'utf8'), 'CapBnd');
    const privileged = await run('cat /proc/self/status; mount -t tmpfs none /tmp && echo mounted', { security: { privileged: true } });
    expect([status(privileged.out, 'CapEff'), status(privileged.out, 'Seccomp'), status(privileged.out, 'NoNewPrivs')]).toEqual([own, '0', '0']);
    expect(privileged.out).toContain('mounted');
    const netAdmin = await run('cat /proc/self/status; ip link add d0 type bridge && echo added', { security: { capAdd: ['NET_ADMIN'] } });
    expect(status(netAdmin.out, 'CapEff')).toBe('00000000a80435fb');
    expect(netAdmin.out).toContain('added');
    const none = await run('cat /proc/self/status', { security: { capDrop: ['ALL'] } });
    expect(status(none.out, 'CapEff')).toBe('0000000000000000');
    const unconfined = await run('cat /proc/self/status; /bin/probe keyctl', { security: { securityOpt: ['seccomp=unconfined', 'no-new-privileges=false'] } });
    expect([status(unconfined.out, 'Seccomp'), status(unconfined.out, 'NoNewPrivs'), status(unconfined.out, 'CapEff')]).toEqual(['0', '0', DOCKER_DEFAULT]);
    expect(unconfined.out.trim().split('\n').pop()).toBe('ok');
    const device = await run('/bin/probe read /dev/mynull; echo x > /dev/mynull && echo written', { security: { devices: ['/dev/null:/dev/mynull:rw'] } });
    expect(device.out.trim().split('\n')).toEqual(['ok', 'written']);
  });

  it('gives a lab node NET_ADMIN, NET_RAW and its own network sysctls, and nothing more of /proc/sys', async () => {
    const { out } = await run(
      'grep CapEff /proc/self/status; sysctl -w net.ipv4.ip_forward=1 && echo forwarding; echo "kernel $(/bin/probe write /proc/sys/kernel/core_pattern)"',
      { security: { baseCaps: ['CAP_NET_ADMIN', 'CAP_NET_RAW'], writablePaths: ['/proc/sys/net'] } },
    );
    expect(out).toContain('CapEff:\t00000000a80435fb');
    expect(out).toContain('net.ipv4.ip_forward = 1\nforwarding');
    expect(out).toContain('kernel EROFS');
  });

  it('refuses security options it cannot honour, naming them, and makes nothing', async () => {
    const ns = lab().ns(`c${++seq}`);
    const base = { image: 'probe', command: ['true'], netnsPath: ns.path! };
    const before = rt.list().length;
    await expect(rt.create({ ...base, security: { capAdd: ['NET_WIZARD'] } })).rejects.toThrow('unknown capability "NET_WIZARD"');
    await expect(rt.create({ ...base, security: { securityOpt: ['apparmor=unconfined'] } })).rejects.toThrow(
      /unsupported --security-opt "apparmor=unconfined"/u,
    );
    await expect(rt.create({ ...base, security: { securityOpt: ['seccomp=/etc/passwd'] } })).rejects.toThrow(/expected unconfined, or a profile/u);
    await expect(rt.create({ ...base, security: { securityOpt: ['seccomp={"nope": 1}'] } })).rejects.toThrow(/not a Docker seccomp profile/u);
    await expect(rt.create({ ...base, security: { devices: ['/etc/passwd'] } })).rejects.toThrow('--device /etc/passwd: not a device node');
    await expect(rt.create({ ...base, security: { devices: ['/dev/null:/etc/x'] } })).rejects.toThrow(/invalid --device/u);
    expect(rt.list().length).toBe(before);
  });
});
