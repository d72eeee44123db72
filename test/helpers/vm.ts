/**
 * A second kernel for the tests of what this machine's kernel lacks (netem): Debian's kernel, unpacked by
 * scripts/setup.sh into TSNET_TEST_KERNEL (default /var/cache/tsnet/test-kernel), booted by qemu with no network
 * device. The VM sees this machine's files through a read-only 9p share of "/", under an overlay whose writes stay
 * in the VM's memory: the checkout, node and the tools are the host's, and nothing the VM does reaches the host.
 * A script runs as the VM's init's last step; its output comes back on the serial console with its exit status.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export const TEST_KERNEL = process.env.TSNET_TEST_KERNEL ?? '/var/cache/tsnet/test-kernel';
const QEMU = '/usr/bin/qemu-system-x86_64';
const BUSYBOX = '/bin/busybox';
const EXIT_MARK = 'TSNET-VM-EXIT=';
/** What the VM's init needs before it can reach the host's files: the PCI virtio transport, 9p, overlayfs. */
const INIT_MODULES = ['virtio_pci', '9pnet_virtio', '9p', 'overlay'];

/** Why the VM cannot run here, or undefined when it can. */
export function vmUnavailable(): string | undefined {
  if (!existsSync(QEMU)) return `${QEMU} is missing (scripts/setup.sh installs qemu-system-x86)`;
  if (!existsSync(join(TEST_KERNEL, 'ready'))) return `no test kernel in ${TEST_KERNEL} (scripts/setup.sh unpacks Debian's)`;
  return undefined;
}

function kernelVersion(): string {
  return readdirSync(join(TEST_KERNEL, 'lib/modules'))[0]!;
}

/** The modules (paths in the version's folder) to load for `names`, dependencies first, from busybox depmod's modules.dep. */
function modulesFor(names: readonly string[]): string[] {
  const dep = new Map<string, string[]>();
  for (const line of readFileSync(join(TEST_KERNEL, 'lib/modules', kernelVersion(), 'modules.dep'), 'utf8').split('\n')) {
    const [mod, deps] = line.split(':');
    if (mod && deps !== undefined) dep.set(mod, deps.trim() ? deps.trim().split(/\s+/u) : []);
  }
  const byName = new Map([...dep.keys()].map((p) => [basename(p).replace(/\.ko(\.xz)?$/u, ''), p]));
  const order: string[] = [];
  const visit = (path: string): void => {
    if (order.includes(path)) return;
    for (const d of dep.get(path) ?? []) visit(d);
    order.push(path);
  };
  for (const n of names) {
    const path = byName.get(n);
    if (!path) throw new Error(`the test kernel has no module ${n}`);
    visit(path);
  }
  return order;
}

const INIT = (modules: string[]): string => `#!/bin/busybox sh
export PATH=/bin
busybox mount -t proc proc /proc
busybox mount -t devtmpfs dev /dev
for m in ${modules.map((m) => basename(m)).join(' ')}; do busybox insmod /modules/$m || echo "vm: insmod $m failed"; done
busybox mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=512000,cache=loose hostroot /lower
busybox mount -t tmpfs -o size=75% tmpfs /upper
busybox mkdir -p /upper/u /upper/w
busybox mount -t overlay overlay -o lowerdir=/lower,upperdir=/upper/u,workdir=/upper/w /newroot
busybox mkdir -p /newroot/run/tsnet-vm && busybox cp /stage2 /script /newroot/run/tsnet-vm/
busybox umount /proc
exec busybox switch_root /newroot /bin/busybox sh /run/tsnet-vm/stage2
echo "vm: switch_root failed"; echo ${EXIT_MARK}99; busybox poweroff -f
`;

/** In the host's files (overlaid): the kernel file systems, module loading from the test kernel, then the script. */
const STAGE2 = (cwd: string): string => `bb=/bin/busybox
$bb mount -t proc proc /proc
$bb mount -t sysfs sysfs /sys
$bb mount -t devtmpfs dev /dev
$bb mkdir -p /dev/pts /dev/shm /run/netns && $bb mount -t devpts devpts /dev/pts && $bb mount -t tmpfs tmpfs /dev/shm
$bb mount -t cgroup2 cgroup2 /sys/fs/cgroup
$bb mount -t bpf bpf /sys/fs/bpf 2>/dev/null
$bb mkdir -p /lib/modules && $bb ln -sfn ${TEST_KERNEL}/lib/modules/$($bb uname -r) /lib/modules/$($bb uname -r)
$bb ln -sf $bb /sbin/modprobe && echo /sbin/modprobe > /proc/sys/kernel/modprobe
$bb ip link set lo up
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TSNET_IN_VM=1
cd ${cwd}
/bin/sh /run/tsnet-vm/script
echo "${EXIT_MARK}$?"
$bb poweroff -f
`;

export interface VmResult {
  /** The script's exit status. */
  readonly code: number;
  /** What it printed (the serial console, kernel messages quietened). */
  readonly output: string;
}

/** Boots the test kernel, runs `script` (sh) in the checkout's folder, and powers off. */
export async function runInVm(script: string, options: { timeoutMs: number; memoryMb?: number; onOutput?: (text: string) => void }): Promise<VmResult> {
  const why = vmUnavailable();
  if (why) throw new Error(`the test VM cannot run: ${why}`);
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-vm-'));
  try {
    const root = join(dir, 'initramfs');
    for (const d of ['bin', 'proc', 'dev', 'lower', 'upper', 'newroot', 'modules']) mkdirSync(join(root, d), { recursive: true });
    copyFileSync(BUSYBOX, join(root, 'bin/busybox'));
    const modules = modulesFor(INIT_MODULES);
    for (const m of modules) copyFileSync(join(TEST_KERNEL, 'lib/modules', kernelVersion(), m), join(root, 'modules', basename(m)));
    writeFileSync(join(root, 'init'), INIT(modules));
    chmodSync(join(root, 'init'), 0o755);
    writeFileSync(join(root, 'stage2'), STAGE2(process.cwd()));
    writeFileSync(join(root, 'script'), script);
    execFileSync('/bin/sh', ['-c', `find . | ${BUSYBOX} cpio -o -H newc > ../initrd 2>/dev/null`], { cwd: root });
    return await boot(join(dir, 'initrd'), options);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function boot(initrd: string, options: { timeoutMs: number; memoryMb?: number; onOutput?: (text: string) => void }): Promise<VmResult> {
  const vmlinuz = join(
    TEST_KERNEL,
    'boot',
    readdirSync(join(TEST_KERNEL, 'boot')).find((f) => f.startsWith('vmlinuz-'))!,
  );
  // Software emulation: a KVM device may be there (nested) without working.
  const args = ['-machine', 'accel=tcg', '-m', String(options.memoryMb ?? 3072), '-smp', '2', '-nographic', '-no-reboot', '-nic', 'none'];
  args.push('-kernel', vmlinuz, '-initrd', initrd, '-append', 'console=ttyS0 quiet loglevel=1 panic=-1');
  args.push('-virtfs', 'local,path=/,mount_tag=hostroot,security_model=passthrough,readonly=on,multidevs=remap');
  const qemu = spawn(QEMU, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const take = (d: Buffer): void => {
    const text = d.toString().replace(/\r/gu, '');
    output += text;
    options.onOutput?.(text);
  };
  qemu.stdout.on('data', take);
  qemu.stderr.on('data', take);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      qemu.kill('SIGKILL');
      reject(new Error(`the test VM did not finish in ${options.timeoutMs} ms:\n${output.slice(-4000)}`));
    }, options.timeoutMs);
    qemu.on('error', reject);
    qemu.on('exit', () => {
      clearTimeout(timer);
      const m = new RegExp(`${EXIT_MARK}(\\d+)`, 'u').exec(output);
      if (!m) return reject(new Error(`the test VM stopped without its script's status:\n${output.slice(-4000)}`));
      resolve({ code: Number(m[1]), output: output.slice(0, m.index) });
    });
  });
}
