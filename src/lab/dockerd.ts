/**
 * A real dockerd (Debian's docker.io 20.10) for end-to-end tests and benchmarks, isolated as the dockerd lab notes
 * (shared docs) describe: in the lab's network namespace (shared with tsnet's daemon, since dockerd takes the plugin's
 * interfaces from its own namespace), in new mount and PID namespaces (tini as PID 1: when it ends, the kernel
 * ends containerd, shims and containers), with a private /run and /etc/docker, every state folder under the lab
 * folder, plugin discovery bound to a folder of the lab, and containers' cgroups under /tsnet-dockerlab.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
export const DOCKER = '/usr/bin/docker';
export const DOCKERD = '/usr/sbin/dockerd';
const CGROUP_PARENT = 'tsnet-dockerlab';

export const dockerAvailable = (): boolean => existsSync(DOCKERD) && existsSync(DOCKER) && existsSync('/usr/bin/docker-init');

export interface Dockerd {
  readonly dir: string;
  /** Where dockerd looks for plugin sockets (its /run/docker/plugins). */
  readonly pluginsDir: string;
  docker(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  stop(): Promise<void>;
}

/** The script run as PID 2 of the lab's PID namespace, inside its own mount namespace. */
function innerScript(dir: string): string {
  return [
    'set -e',
    // mount -n: libmount must not write /run/mount/utab on the host before the private /run covers it.
    'mount -n -t tmpfs -o mode=755 tsnet-dockerlab-run /run',
    'mkdir -p /run/docker/plugins',
    `mount -n --bind ${dir}/plugins /run/docker/plugins`,
    'mount -n -t tmpfs -o mode=755 tsnet-dockerlab-etc /etc/docker',
    // A sysfs of the lab's network namespace (dockerd reads /sys/class/net), with the cgroup tree kept.
    `mkdir -p ${dir}/cgroup`,
    `mount -n --rbind /sys/fs/cgroup ${dir}/cgroup`,
    'mount -n -t sysfs tsnet-dockerlab-sys /sys',
    `mount -n --move ${dir}/cgroup /sys/fs/cgroup`,
    `export PATH=${dir}/bin:$PATH`,
    `exec ${DOCKERD} --data-root ${dir}/data --exec-root ${dir}/exec --pidfile ${dir}/dockerd.pid -H unix://${dir}/docker.sock --config-file ${dir}/daemon.json --cgroup-parent /${CGROUP_PARENT} --storage-driver overlay2 --shutdown-timeout 5`,
  ].join('\n');
}

/** Starts dockerd with its state in DIR, inside the network namespace at netnsPath (tsnet's host namespace). */
export async function startDockerd(dir: string, netnsPath: string, options: { bridge?: boolean } = {}): Promise<Dockerd> {
  for (const sub of ['plugins', 'bin', 'data', 'exec']) mkdirSync(join(dir, sub), { recursive: true });
  writeFileSync(
    join(dir, 'daemon.json'),
    JSON.stringify({ 'deprecated-key-path': join(dir, 'key.json'), ...(options.bridge ? {} : { bridge: 'none' }), 'log-level': 'warn' }),
  );
  // dockerd tries modprobe: refuse it, the kernel has what it has.
  writeFileSync(join(dir, 'bin', 'modprobe'), '#!/bin/sh\nexit 1\n', { mode: 0o755 });
  const child: ChildProcess = spawn(
    'nsenter',
    [
      `--net=${netnsPath}`,
      '--',
      'unshare',
      '--mount',
      '--pid',
      '--fork',
      '--kill-child',
      '--mount-proc',
      '--propagation',
      'private',
      '--',
      '/usr/bin/docker-init',
      '--',
      'bash',
      '-c',
      innerScript(dir),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const docker = dockerCommand(dir);
  const stop = (): Promise<void> => stopDockerd(child);
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`dockerd exited (${child.exitCode}): ${log}`);
    if ((await docker('version', '--format', '{{.Server.Version}}')).code === 0) return { dir, pluginsDir: join(dir, 'plugins'), docker, stop };
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`dockerd did not answer in 30 s: ${log}`);
}

/** Runs the docker CLI against the lab's dockerd; never throws, returns the exit code and output. */
function dockerCommand(dir: string): Dockerd['docker'] {
  return async (...args: string[]) => {
    try {
      const { stdout, stderr } = await execFileAsync(DOCKER, ['-H', `unix://${dir}/docker.sock`, ...args], { timeout: 120_000 });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: typeof e.code === 'number' ? e.code : 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
    }
  };
}

/** Stops the lab's dockerd (and with its PID namespace, its containers), then removes their cgroups. */
async function stopDockerd(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.pid) {
    const exited = new Promise((r) => child.once('exit', r));
    process.kill(-child.pid, 'SIGTERM'); // tini forwards it to dockerd, which stops its containers
    const t = setTimeout(() => child.pid && process.kill(-child.pid, 'SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
  // Containers' cgroups: empty once the PID namespace is gone.
  for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const parent = join('/sys/fs/cgroup', hierarchy, CGROUP_PARENT);
    if (!existsSync(parent)) continue;
    for (const sub of readdirSync(parent, { withFileTypes: true })) if (sub.isDirectory()) rmdirSafe(join(parent, sub.name));
    rmdirSafe(parent);
  }
}

function rmdirSafe(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // still busy or already gone: the stale-lab cleanup of the next run takes it
  }
}
