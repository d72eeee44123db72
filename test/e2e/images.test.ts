/**
 * Images with their config, between tsnet and a real dockerd (Debian's docker.io, isolated): an image docker built
 * (a config and two layers, one deleting a file) is saved by docker, loaded by tsnet and run with its Cmd, Env,
 * WorkingDir and the deletion honoured; tsnet's save of it is loaded by docker and runs there; tags, inspect, history.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerAvailable, startDockerd, type Dockerd } from '../../src/lab/dockerd.js';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { startDaemon, tearDown, tsnet, type DaemonHandle } from '../helpers/daemon.js';
import { Lab, describeKernel } from '../helpers/lab.js';

describeKernel('images between tsnet and dockerd', () => {
  let lab: Lab;
  let d: DaemonHandle;
  let dockerd: Dockerd | undefined;
  const must = async (...args: string[]): Promise<string> => {
    const r = await dockerd!.docker(...args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    lab = Lab.create();
    try {
      d = await startDaemon(lab, 'tsnet', ['--bridge', 'none']);
      if (dockerAvailable()) dockerd = await startDockerd(join(lab.dir, 'dockerlab'), lab.host.path!);
    } catch (err) {
      await tearDown(d, lab);
      throw err;
    }
  });
  afterAll(async () => {
    try {
      if (dockerd) {
        for (const id of (await dockerd.docker('ps', '-aq')).stdout.split('\n').filter(Boolean)) await dockerd.docker('rm', '-f', id);
        await dockerd.stop();
      }
    } finally {
      await tearDown(d, lab);
    }
  });

  const reason = dockerAvailable() ? '' : " [skipped: Debian's docker.io is not installed; scripts/setup.sh installs it]";
  it.skipIf(!dockerAvailable())(`loads docker save archives and runs them with their config; docker loads tsnet's save${reason}`, async () => {
    const tar = await busyboxRootfsTar(mkdtempSync(join(lab.dir, 'rootfs-')));
    const changes = ['CMD ["sh", "-c", "echo $GREETING from $PWD as $(id -u)"]', 'ENV GREETING=hello', 'WORKDIR /srv', 'USER nobody', 'EXPOSE 8080/tcp'];
    await must('import', ...changes.flatMap((c) => ['--change', c]), tar, 'greeter:1');
    // A second layer: a file deleted (a whiteout) and one added.
    await must('run', '--name', 'layer2', '--user', 'root', 'greeter:1', 'sh', '-c', 'rm /bin/vi && echo added > /added');
    await must('commit', '--change', changes[0]!, '--change', 'USER nobody', 'layer2', 'greeter:2');
    const archive = join(lab.dir, 'from-docker.tar');
    await must('save', '-o', archive, 'greeter:1', 'greeter:2');

    expect(await tsnet(d, 'image', 'load', '-i', archive)).toMatchObject({ code: 0, stdout: expect.stringContaining('Loaded image: greeter:2') as string });
    expect(await tsnet(d, 'run', '--rm', 'greeter:1')).toMatchObject({ code: 0, stdout: 'hello from /srv as 65534\n' });
    expect(await tsnet(d, 'run', '--rm', '-e', 'GREETING=hi', '-w', '/tmp', '-u', '0', 'greeter:1')).toMatchObject({ stdout: 'hi from /tmp as 0\n' });
    expect(await tsnet(d, 'run', '--rm', 'greeter:2', 'sh', '-c', 'cat /added; ls /bin/vi || echo gone')).toMatchObject({ stdout: 'added\ngone\n' });
    expect((await tsnet(d, 'image', 'inspect', '-f', '{{len .RootFS.Layers}} {{.Config.WorkingDir}}', 'greeter:2')).stdout).toBe('2 /srv\n');
    expect((await tsnet(d, 'image', 'history', 'greeter:2')).stdout).toMatch(/CREATED BY/u);

    // Saved by tsnet under a new tag, loaded by docker, run there.
    expect((await tsnet(d, 'image', 'tag', 'greeter:2', 'roundtrip:1')).code).toBe(0);
    const back = join(lab.dir, 'from-tsnet.tar');
    expect((await tsnet(d, 'image', 'save', '-o', back, 'roundtrip:1')).code).toBe(0);
    expect(await must('load', '-i', back)).toContain('roundtrip:1');
    expect(await must('run', '--rm', 'roundtrip:1')).toBe('hello from /srv as 65534\n');
    expect(await must('run', '--rm', 'roundtrip:1', 'sh', '-c', 'cat /added; ls /bin/vi || echo gone')).toBe('added\ngone\n');
    // An imported root filesystem (no config of its own) is saved with one made for it.
    expect((await tsnet(d, 'image', 'import', tar, 'plain:1')).code).toBe(0);
    const plain = join(lab.dir, 'plain.tar');
    expect((await tsnet(d, 'image', 'save', '-o', plain, 'plain:1')).code).toBe(0);
    await must('load', '-i', plain);
    expect(await must('run', '--rm', 'plain:1', 'echo', 'ok')).toBe('ok\n');
    // Ids are the configs' digests: the same image on both sides.
    expect((await tsnet(d, 'image', 'inspect', '-f', '{{.Id}}', 'roundtrip:1')).stdout.trim()).toBe(
      (await must('image', 'inspect', '-f', '{{.Id}}', 'roundtrip:1')).trim(),
    );
  });

  it('imports with --change, commits a container with its deletions and additions, and runs the new image', async () => {
    const tar = await busyboxRootfsTar(mkdtempSync(join(lab.dir, 'rootfs-')));
    const imported = await tsnet(d, 'image', 'import', '-c', 'CMD ["sh", "-c", "echo $A in $PWD"]', '-c', 'ENV A=1', '-c', 'WORKDIR /w', tar, 'base:1');
    expect(imported.code, imported.stderr).toBe(0);
    expect((await tsnet(d, 'run', '--rm', 'base:1')).stdout).toBe('1 in /w\n');
    expect(await tsnet(d, 'image', 'import', '-c', 'RUN make', tar, 'bad:1')).toMatchObject({
      code: 1,
      stderr: expect.stringContaining('RUN is not one of') as string,
    });

    expect((await tsnet(d, 'run', '-d', '--name', 'changer', 'base:1', 'sleep', '300')).code).toBe(0);
    const script = 'echo made > /made && rm /bin/vi && rm -r /usr && mkdir /usr && echo only > /usr/only';
    expect((await tsnet(d, 'exec', 'changer', 'sh', '-c', script)).code).toBe(0);
    const commit = await tsnet(d, 'commit', '-c', 'CMD ["sh", "-c", "cat /made; ls /usr; ls /bin/vi || echo no-vi"]', '-m', 'a test', 'changer', 'changed:1');
    expect(commit.code, commit.stderr).toBe(0);
    expect((await tsnet(d, 'inspect', '-f', '{{.State.Status}}', 'changer')).stdout).toBe('running\n'); // thawed after
    expect(await tsnet(d, 'run', '--rm', 'changed:1')).toMatchObject({ code: 0, stdout: 'made\nonly\nno-vi\n' });
    expect((await tsnet(d, 'image', 'history', 'changed:1')).stdout).toMatch(/tsnet commit\s+a test/u);
    // export: the same files flattened (what was deleted is not there), importable again.
    const flat = join(lab.dir, 'flat.tar');
    expect((await tsnet(d, 'export', '-o', flat, 'changer')).code).toBe(0);
    const listing = execFileSync('tar', ['-tf', flat], { encoding: 'utf8' }).split('\n');
    expect(listing).toEqual(expect.arrayContaining(['./made', './usr/only', './bin/sh']));
    expect(listing).not.toContain('./bin/vi');
    // A container never started has no layer folders yet (its first start makes them): it exports and commits as its image.
    expect((await tsnet(d, 'create', '--name', 'unstarted', 'base:1', 'true')).code).toBe(0);
    const fresh = join(lab.dir, 'fresh.tar');
    expect((await tsnet(d, 'export', '-o', fresh, 'unstarted')).code).toBe(0);
    expect(execFileSync('tar', ['-tf', fresh], { encoding: 'utf8' }).split('\n')).toEqual(expect.arrayContaining(['./bin/sh', './bin/vi']));
    expect((await tsnet(d, 'commit', 'unstarted', 'unstarted:1')).code).toBe(0);
    expect((await tsnet(d, 'rm', 'unstarted')).code).toBe(0);
    expect((await tsnet(d, 'image', 'import', flat, 'flat:1')).code).toBe(0);
    expect((await tsnet(d, 'run', '--rm', 'flat:1', 'sh', '-c', 'cat /made /usr/only; ls /usr')).stdout).toBe('made\nonly\nonly\n');
    if (!dockerd) return;
    // The committed layer's whiteouts are an archive's again: docker sees the same files.
    const file = join(lab.dir, 'changed.tar');
    expect((await tsnet(d, 'image', 'save', '-o', file, 'changed:1')).code).toBe(0);
    await must('load', '-i', file);
    expect(await must('run', '--rm', 'changed:1')).toBe('made\nonly\nno-vi\n');
  });

  it('loads an OCI image layout (gzip layers, an index naming the image)', async () => {
    const tar = await busyboxRootfsTar(mkdtempSync(join(lab.dir, 'rootfs-')));
    expect((await tsnet(d, 'image', 'import', '-c', 'CMD ["echo", "from an OCI layout"]', tar, 'ocisrc:1')).code).toBe(0);
    const saved = join(lab.dir, 'ocisrc.tar');
    expect((await tsnet(d, 'image', 'save', '-o', saved, 'ocisrc:1')).code).toBe(0);
    // The same image rewritten as an OCI layout: blobs by digest, the layer gzipped, an index with the name.
    const src = mkdtempSync(join(lab.dir, 'docker-'));
    const oci = mkdtempSync(join(lab.dir, 'oci-'));
    execFileSync('tar', ['-xf', saved, '-C', src]);
    const [entry] = JSON.parse(readFileSync(join(src, 'manifest.json'), 'utf8')) as { Config: string; Layers: string[] }[];
    mkdirSync(join(oci, 'blobs', 'sha256'), { recursive: true });
    const blob = (data: Buffer): { digest: string; size: number } => {
      const hex = createHash('sha256').update(data).digest('hex');
      writeFileSync(join(oci, 'blobs', 'sha256', hex), data);
      return { digest: `sha256:${hex}`, size: data.length };
    };
    const config = blob(readFileSync(join(src, entry!.Config)));
    const layers = entry!.Layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...blob(gzipSync(readFileSync(join(src, l)))) }));
    const manifest = blob(
      Buffer.from(JSON.stringify({ schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config }, layers })),
    );
    writeFileSync(join(oci, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(
      join(oci, 'index.json'),
      JSON.stringify({
        schemaVersion: 2,
        manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest, annotations: { 'io.containerd.image.name': 'fromoci:1' } }],
      }),
    );
    const archive = join(lab.dir, 'oci.tar');
    execFileSync('tar', ['-cf', archive, '-C', oci, '.']);
    expect(await tsnet(d, 'image', 'load', '-i', archive)).toMatchObject({ code: 0, stdout: 'Loaded image: fromoci:1\n' });
    expect((await tsnet(d, 'run', '--rm', 'fromoci:1')).stdout).toBe('from an OCI layout\n');
  });
});
