/**
 * Volumes end to end (Docker's section on them): a new named volume filled from the image where it is mounted, a
 * bind mount hiding the image's files, two containers sharing a volume, --volumes-from, read-only mounts, removal
 * refused while in use, anonymous volumes going with --rm, and export then import giving the same files.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { tsnet, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';

describeKernel('volumes, end to end', () => {
  const env = useBusyboxDaemon();

  it('copies image content into a new named volume, shares it between containers, and a bind mount hides the image', async () => {
    // /etc has image content: a new volume over it starts with those files (owners and modes kept).
    expect(await tsnet(env.d, 'run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'sh', '-c', 'cat /etc/group; echo added > /etc/mine')).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('nogroup:x:65534:') as string,
    });
    expect((await tsnet(env.d, 'volume', 'ls', '-q')).stdout).toBe('etcvol\n');
    // Not filled again: what a container wrote stays.
    expect((await tsnet(env.d, 'run', '--rm', '-v', 'etcvol:/etc', 'busybox', 'cat', '/etc/mine')).stdout).toBe('added\n');

    expect(
      (await tsnet(env.d, 'run', '-d', '--name', 'writer', '-v', 'shared:/data', 'busybox', 'sh', '-c', 'echo from-writer > /data/note; sleep 300')).code,
    ).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(
      await tsnet(env.d, 'run', '--rm', '--mount', 'type=volume,source=shared,target=/in,readonly', 'busybox', 'sh', '-c', 'cat /in/note; touch /in/x'),
    ).toMatchObject({
      code: 1,
      stdout: 'from-writer\n',
      stderr: expect.stringContaining('Read-only file system') as string,
    });
    expect((await tsnet(env.d, 'run', '--rm', '--volumes-from', 'writer', 'busybox', 'cat', '/data/note')).stdout).toBe('from-writer\n');

    const host = join(env.lab.dir, 'hostdir');
    mkdirSync(host);
    writeFileSync(join(host, 'only-here'), 'host file\n');
    expect((await tsnet(env.d, 'run', '--rm', '-v', `${host}:/etc:ro`, 'busybox', 'ls', '/etc')).stdout).toBe('only-here\n');
    expect(await tsnet(env.d, 'run', '--rm', '-v', '/no/such/dir:/x', 'busybox', 'true')).toMatchObject({
      code: 125,
      stderr: expect.stringContaining('does not exist') as string,
    });
  });

  it('refuses to remove a volume in use, removes anonymous volumes with --rm, prunes the unused', async () => {
    expect((await tsnet(env.d, 'run', '-d', '--name', 'holder', '-v', 'busyvol:/v', 'busybox', 'sleep', '300')).code).toBe(0);
    expect(await tsnet(env.d, 'volume', 'rm', 'busyvol')).toMatchObject({ code: 1, stderr: expect.stringContaining('in use by holder') as string });
    expect((await tsnet(env.d, 'volume', 'inspect', '-f', '{{.Name}} {{.Driver}}', 'busyvol')).stdout).toBe('busyvol local\n');
    expect(JSON.parse((await tsnet(env.d, 'inspect', '-f', '{{json .Mounts}}', 'holder')).stdout)).toEqual([
      { Type: 'volume', Name: 'busyvol', Source: 'busyvol', Destination: '/v', RW: true },
    ]);
    expect((await tsnet(env.d, 'rm', '-f', 'holder')).code).toBe(0);
    expect((await tsnet(env.d, 'volume', 'rm', 'busyvol')).code).toBe(0);

    const before = (await tsnet(env.d, 'volume', 'ls', '-q')).stdout;
    expect((await tsnet(env.d, 'run', '--rm', '-v', '/scratch', 'busybox', 'touch', '/scratch/x')).code).toBe(0);
    expect((await tsnet(env.d, 'volume', 'ls', '-q')).stdout).toBe(before);
    expect((await tsnet(env.d, 'volume', 'create', 'spare')).code).toBe(0);
    expect((await tsnet(env.d, 'volume', 'prune', '-f')).stdout).toContain('spare');
  });

  it('exports a volume as a tar archive and imports it into another with the same files', async () => {
    const script = 'mkdir -p /v/sub && echo one > /v/a && head -c 100000 /dev/urandom > /v/sub/b && chown 65534:65534 /v/a && chmod 640 /v/a';
    expect((await tsnet(env.d, 'run', '--rm', '-v', 'orig:/v', 'busybox', 'sh', '-c', script)).stderr).toBe('');
    const archive = join(env.lab.dir, 'backup.tar');
    expect((await tsnet(env.d, 'volume', 'export', 'orig', '-o', archive)).code).toBe(0);
    expect(execFileSync('tar', ['-tf', archive], { encoding: 'utf8' })).toContain('./sub/b');
    expect((await tsnet(env.d, 'volume', 'import', 'copy', archive)).code).toBe(0);
    const listing = 'cd /v && find . -type f | sort | xargs md5sum && stat -c "%n %u:%g %a" a';
    const a = await tsnet(env.d, 'run', '--rm', '-v', 'orig:/v', 'busybox', 'sh', '-c', listing);
    const b = await tsnet(env.d, 'run', '--rm', '-v', 'copy:/v', 'busybox', 'sh', '-c', listing);
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(a.stdout).toContain('a 65534:65534 640');
  });
});
