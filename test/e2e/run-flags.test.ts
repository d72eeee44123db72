/**
 * Docker's run flags for people, end to end, each observed by its effect: the working directory, the user from the
 * image's files, the environment from the client, the entrypoint, a read-only root that refuses a write, tmpfs and
 * /dev/shm sizes that run out, resource limits, and a CPU quota the kernel throttles.
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { CLI, tsnet, type CliResult, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';

describeKernel("run's flags for people, end to end", () => {
  const env = useBusyboxDaemon();

  const run = (...args: string[]): Promise<CliResult> => tsnet(env.d, 'run', '--rm', ...args);

  it('-w makes and enters the folder; -u takes names from the image and refuses unknown ones; --entrypoint', async () => {
    expect(await run('-w', '/work/here', 'busybox', 'pwd')).toMatchObject({ code: 0, stdout: '/work/here\n' });
    expect(await run('-u', 'nobody', 'busybox', 'sh', '-c', 'id -u; id -g; touch /root/x')).toMatchObject({
      code: 1,
      stdout: '65534\n65534\n',
      stderr: expect.stringContaining('Permission denied') as string,
    });
    expect(await run('-u', '1000:nogroup', 'busybox', 'sh', '-c', 'echo $(id -u):$(id -g)')).toMatchObject({ stdout: '1000:65534\n' });
    expect(await run('-u', 'ghost', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringContaining('unable to find user ghost') as string });
    expect(await run('--entrypoint', '/bin/echo', 'busybox', 'a', 'b')).toMatchObject({ code: 0, stdout: 'a b\n' });
    expect((await tsnet(env.d, 'run', '-d', '--name', 'wd', '-w', '/srv', 'busybox', 'sleep', '100')).code).toBe(0);
    expect((await tsnet(env.d, 'exec', 'wd', 'pwd')).stdout).toBe('/srv\n'); // exec starts in the container's working directory
  });

  it('-e NAME takes the client environment, --env-file reads KEY=VALUE lines', async () => {
    const file = join(env.lab.dir, 'env.list');
    writeFileSync(file, '# a comment\nFROM_FILE=yes\n\nFROM_CLIENT\n');
    const r = await new Promise<CliResult>((resolve) =>
      execFile(
        process.execPath,
        [
          CLI,
          '--host',
          `unix://${env.d.socket}`,
          'run',
          '--rm',
          '--env-file',
          file,
          '-e',
          'ALSO',
          '-e',
          'UNSET_HERE',
          'busybox',
          'sh',
          '-c',
          'echo $FROM_FILE $FROM_CLIENT $ALSO ${UNSET_HERE-none}',
        ],
        { env: { ...process.env, FROM_CLIENT: 'client', ALSO: 'too' } },
        (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr }),
      ),
    );
    expect(r).toMatchObject({ code: 0, stdout: 'yes client too none\n' });
  });

  it('--read-only refuses writes to the root; --tmpfs and --shm-size give writable mounts that run out at their size', async () => {
    expect(await run('--read-only', 'busybox', 'touch', '/x')).toMatchObject({ code: 1, stderr: expect.stringContaining('Read-only file system') as string });
    expect(await run('--read-only', '--tmpfs', '/tmp', 'busybox', 'sh', '-c', 'touch /tmp/x /dev/shm/y && echo ok')).toMatchObject({ stdout: 'ok\n' });
    const tmpfs = await run(
      '--tmpfs',
      '/scratch:size=1m,mode=0700',
      'busybox',
      'sh',
      '-c',
      'grep " /scratch " /proc/mounts; dd if=/dev/zero of=/scratch/f bs=1k count=2048',
    );
    expect(tmpfs.stdout).toMatch(/^tmpfs \/scratch tmpfs rw,[^ ]*size=1024k,mode=700/mu);
    expect(tmpfs.stdout.split(' ')[3]!.split(',')).toEqual(expect.arrayContaining(['nosuid', 'nodev', 'noexec']));
    expect(tmpfs).toMatchObject({ code: 1, stderr: expect.stringContaining('No space left on device') as string });
    const shm = await run('--shm-size', '2m', 'busybox', 'sh', '-c', 'grep " /dev/shm " /proc/mounts; dd if=/dev/zero of=/dev/shm/f bs=1k count=3072');
    expect(shm.stdout).toMatch(/size=2048k/u);
    expect(shm).toMatchObject({ code: 1, stderr: expect.stringContaining('No space left on device') as string });
    expect(await run('--tmpfs', 'relative', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid --tmpfs') as string });
  });

  it('--ulimit holds in the container and in exec; a limit above it is refused', async () => {
    expect(await run('--ulimit', 'nofile=100:200', 'busybox', 'sh', '-c', 'ulimit -n; ulimit -Hn; ulimit -n 300')).toMatchObject({
      code: 1,
      stdout: '100\n200\n',
    });
    expect((await tsnet(env.d, 'run', '-d', '--name', 'lim', '--ulimit', 'nproc=50', 'busybox', 'sleep', '100')).code).toBe(0);
    expect((await tsnet(env.d, 'exec', 'lim', 'sh', '-c', 'ulimit -u')).stdout).toBe('50\n');
    expect(await run('--ulimit', 'files=1', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid --ulimit') as string });
  });

  it('--cpus is a quota the kernel throttles a busy container to; --cpu-shares sets its weight', async () => {
    const cpuDir = (id: string): string => join('/sys/fs/cgroup/cpu/tsnet', id);
    const v1 = (() => {
      try {
        return readFileSync('/sys/fs/cgroup/cpu/cpu.shares', 'utf8').length > 0;
      } catch {
        return false;
      }
    })();
    expect((await tsnet(env.d, 'run', '-d', '--name', 'busy', '--cpus', '0.1', '--cpu-shares', '512', 'busybox', 'sh', '-c', 'while :; do :; done')).code).toBe(
      0,
    );
    const id = (await tsnet(env.d, 'inspect', '-f', '{{.Id}}', 'busy')).stdout.trim();
    await new Promise((r) => setTimeout(r, 1000));
    const stat = readFileSync(v1 ? join(cpuDir(id), 'cpu.stat') : join('/sys/fs/cgroup/tsnet', id, 'cpu.stat'), 'utf8');
    expect(Number(/nr_throttled (\d+)/u.exec(stat)?.[1])).toBeGreaterThan(0);
    if (v1) expect(readFileSync(join(cpuDir(id), 'cpu.shares'), 'utf8').trim()).toBe('512');
    expect(await run('--cpus', '1000', 'busybox', 'true')).toMatchObject({ code: 125, stderr: expect.stringContaining('invalid --cpus') as string });
    expect((await tsnet(env.d, 'rm', '-f', 'busy')).code).toBe(0);
  });
});
