/**
 * Images to and from registries: Debian's docker-registry on the lab's loopback, with no auth, with htpasswd
 * (Basic) and with Docker's token auth (Bearer, from a token service). tsnet pushes, pulls a fresh copy and runs
 * it; a multi-platform index gives each platform its own image; credentials are checked at login, saved 0600
 * and used; a tampered reference is refused. When Debian's docker.io is there, dockerd pulls what tsnet pushed
 * and tsnet pulls what dockerd pushed.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { dockerAvailable, startDockerd } from '../../src/lab/dockerd.js';
import { tsnet, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';
import { registryAvailable, startRegistry, type Registry } from '../helpers/registry.js';

const skipped = registryAvailable() ? '' : " [skipped: Debian's docker-registry is not installed; scripts/setup.sh installs it]";

describeKernel(`images to and from registries${skipped}`, () => {
  const env = useBusyboxDaemon();
  const registries: Registry[] = [];
  let open: Registry;
  let configDir: string;
  const savedConfig = process.env.TSNET_CONFIG;
  const ok = async (...args: string[]): Promise<string> => {
    const r = await tsnet(env.d, ...args);
    if (r.code !== 0) throw new Error(`tsnet ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    if (!registryAvailable()) return;
    configDir = mkdtempSync(join(env.lab.dir, 'cli-config-'));
    process.env.TSNET_CONFIG = configDir; // where tsnet login saves, for the CLI the tests run
    open = await startRegistry(env.lab, 'open', 5000);
    registries.push(open);
  });
  afterAll(async () => {
    if (savedConfig === undefined) delete process.env.TSNET_CONFIG;
    else process.env.TSNET_CONFIG = savedConfig;
    for (const r of registries) await r.stop();
  });

  it.skipIf(!registryAvailable())('pushes an image, pulls it into a store without it, and runs it; pushing again sends nothing', async () => {
    const ref = `${open.address}/tools/busybox:1`;
    await ok('image', 'tag', 'busybox', ref);
    expect(await ok('push', ref)).toMatch(/1 layers pushed, 0 already there\ndigest: sha256:[0-9a-f]{64} size: \d+/u);
    const again = await ok('push', ref);
    expect(again).toContain('0 layers pushed, 1 already there');
    const digest = /digest: (sha256:[0-9a-f]{64})/u.exec(again)![1]!;

    // The image and its layer gone from the store: the pull must fetch the layer.
    await ok('image', 'rm', ref, 'busybox');
    expect(await ok('image', 'ls')).not.toContain('busybox');
    const pulled = await ok('pull', ref);
    expect(pulled).toContain('1 layers pulled, 0 already here');
    expect(pulled).toContain(`Digest: ${digest}`);
    expect(await ok('run', '--rm', ref, 'echo', 'pulled and running')).toBe('pulled and running\n');

    // run and create pull what is missing (--pull missing, Docker's default), unless told never to.
    await ok('image', 'rm', ref);
    expect(await tsnet(env.d, 'run', '--rm', '--pull', 'never', ref, 'true')).toMatchObject({
      code: 125,
      stderr: expect.stringContaining('not found') as string,
    });
    expect(await tsnet(env.d, 'run', '--rm', ref, 'echo', 'pulled by run')).toMatchObject({
      code: 0,
      stdout: 'pulled by run\n',
      stderr: expect.stringContaining(`Unable to find image '${ref}' locally`) as string,
    });
    expect((await tsnet(env.d, 'run', '--pull', 'sometimes', ref)).stderr).toContain('invalid --pull "sometimes"');

    // By digest; and the short name back for the other tests.
    const byDigest = `${open.address}/tools/busybox@${digest}`;
    expect(await ok('pull', byDigest)).toContain('0 layers pulled, 1 already here');
    expect(await ok('image', 'ls')).toContain(byDigest);
    await ok('image', 'tag', ref, 'busybox');
  });

  it.skipIf(!registryAvailable())('takes the platform asked for from a multi-platform index, and says which platforms there are', async () => {
    const base = `${open.address}/multi`;
    await ok('image', 'tag', 'busybox', `${base}:amd64`);
    await ok('push', `${base}:amd64`);
    const amd64 = await open.curl(
      '-D',
      '-',
      '-o',
      '/dev/null',
      '-H',
      'Accept: application/vnd.docker.distribution.manifest.v2+json',
      `http://${open.address}/v2/multi/manifests/amd64`,
    );
    const manifest = JSON.parse(
      await open.curl('-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `http://${open.address}/v2/multi/manifests/amd64`),
    ) as {
      config: { digest: string };
      layers: unknown[];
    };
    // An arm64 image: the same layer with a config that says arm64 (nothing here runs it; it is only chosen).
    const config = JSON.parse(await open.curl(`http://${open.address}/v2/multi/blobs/${manifest.config.digest}`)) as Record<string, unknown>;
    const armConfig = Buffer.from(JSON.stringify({ ...config, architecture: 'arm64', variant: 'v8' }));
    const put = async (bytes: Buffer, type: string, url: string): Promise<string> => {
      const file = join(env.lab.dir, `blob-${createHash('sha256').update(bytes).digest('hex')}`);
      writeFileSync(file, bytes);
      await open.curl('-X', 'PUT', '-H', `Content-Type: ${type}`, '--data-binary', `@${file}`, url);
      return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    };
    const armConfigDigest = `sha256:${createHash('sha256').update(armConfig).digest('hex')}`;
    const upload = await open.curl('-X', 'POST', '-D', '-', '-o', '/dev/null', `http://${open.address}/v2/multi/blobs/uploads/`);
    const location = new URL(/^location: (\S+)/imu.exec(upload)![1]!, `http://${open.address}`);
    location.searchParams.set('digest', armConfigDigest);
    await put(armConfig, 'application/octet-stream', location.toString());
    const armManifest = Buffer.from(JSON.stringify({ ...manifest, config: { ...manifest.config, digest: armConfigDigest, size: armConfig.length } }));
    const armDigest = await put(armManifest, 'application/vnd.docker.distribution.manifest.v2+json', `http://${open.address}/v2/multi/manifests/arm64`);
    const amdDigest = /docker-content-digest: (sha256:[0-9a-f]{64})/iu.exec(amd64)![1]!;
    const amdSize = Number(/content-length: (\d+)/iu.exec(amd64)![1]);
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          digest: armDigest,
          size: armManifest.length,
          platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
        },
        {
          mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
          digest: amdDigest,
          size: amdSize,
          platform: { os: 'linux', architecture: 'amd64' },
        },
      ],
    };
    await put(Buffer.from(JSON.stringify(index)), 'application/vnd.oci.image.index.v1+json', `http://${open.address}/v2/multi/manifests/latest`);

    expect(await ok('pull', base)).toContain(`Digest: ${amdDigest}`);
    expect(await ok('image', 'inspect', '-f', '{{.Architecture}}', base)).toBe('amd64\n');
    await ok('image', 'rm', base);
    expect(await ok('pull', '--platform', 'linux/arm64', base)).toContain(`Digest: ${armDigest}`);
    expect(await ok('image', 'inspect', '-f', '{{.Architecture}}', base)).toBe('arm64\n');
    const none = await tsnet(env.d, 'pull', '--platform', 'linux/s390x', base);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('has no image for linux/s390x (it has linux/arm64/v8, linux/amd64)');
    expect((await tsnet(env.d, 'pull', '--platform', 'linux', base)).stderr).toContain('invalid platform "linux"');
  });

  it.skipIf(!registryAvailable())('refuses a reference that does not exist, and a bad one, with what is wrong', async () => {
    const missing = await tsnet(env.d, 'pull', `${open.address}/nothing/here:1`);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found in the registry/u);
    const bad = await tsnet(env.d, 'pull', `${open.address}/UPPER:1`);
    expect(bad.stderr).toContain('invalid image reference');
    const unreachable = await tsnet(env.d, 'pull', '127.0.0.1:5999/x');
    expect(unreachable.stderr).toMatch(/cannot reach the registry at http:\/\/127\.0\.0\.1:5999/u);
  });

  it.skipIf(!registryAvailable())('refuses content that does not match its digest', async () => {
    const ref = `${open.address}/tamper/busybox:1`;
    await ok('image', 'tag', 'busybox', ref);
    await ok('push', ref);
    const manifest = JSON.parse(
      await open.curl('-H', 'Accept: application/vnd.docker.distribution.manifest.v2+json', `http://${open.address}/v2/tamper/busybox/manifests/1`),
    ) as {
      config: { digest: string };
    };
    const hex = manifest.config.digest.slice(7);
    const blob = join(env.lab.dir, 'registry-open', 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
    const original = readFileSync(blob);
    // The registry keeps one blob for every repository that has it: the others get it back afterwards.
    writeFileSync(blob, original.toString().replace('"amd64"', '"AMD64"'));
    await ok('image', 'rm', ref);
    const pulled = await tsnet(env.d, 'pull', ref).finally(() => writeFileSync(blob, original));
    expect(pulled.code).not.toBe(0);
    expect(pulled.stderr).toContain(`the blob ${manifest.config.digest} of ${open.address}/tamper/busybox arrived with digest sha256:`);
    expect(await ok('image', 'ls')).not.toContain('tamper');
  });

  for (const mode of ['htpasswd', 'token'] as const) {
    it.skipIf(!registryAvailable())(
      `asks for a login, checks it, saves it 0600 and uses it (${mode === 'htpasswd' ? 'Basic' : 'Bearer token'} auth)`,
      async () => {
        const port = mode === 'htpasswd' ? 5001 : 5002;
        const reg = await startRegistry(
          env.lab,
          mode,
          port,
          mode === 'htpasswd' ? { kind: mode, user: 'alice', password: 's3cret' } : { kind: mode, user: 'alice', password: 's3cret', tokenPort: 5003 },
        );
        registries.push(reg);
        const ref = `${reg.address}/private/busybox:1`;
        await ok('image', 'tag', 'busybox', ref);

        const anonymous = await tsnet(env.d, 'push', ref);
        expect(anonymous.code).not.toBe(0);
        expect(anonymous.stderr).toMatch(mode === 'htpasswd' ? /asks for credentials .*\(tsnet login 127\.0\.0\.1:5001\)/u : /refused anonymous access/u);
        const wrong = await tsnet(env.d, 'login', reg.address, '-u', 'alice', '-p', 'wrong');
        expect(wrong.code).not.toBe(0);
        expect(wrong.stderr).toContain('refused the credentials of "alice"');
        expect(() => statSync(join(configDir, 'config.json'))).toThrow();

        expect(await ok('login', reg.address, '-u', 'alice', '-p', 's3cret')).toBe('Login Succeeded\n');
        expect(statSync(join(configDir, 'config.json')).mode & 0o777).toBe(0o600);
        expect(readFileSync(join(configDir, 'config.json'), 'utf8')).toContain(reg.address);
        expect(await ok('push', ref)).toContain('1 layers pushed');
        await ok('image', 'rm', ref);
        expect(await ok('pull', ref)).toContain('0 layers pulled, 1 already here');

        expect(await ok('logout', reg.address)).toBe(`Removing login credentials for ${reg.address}\n`);
        expect((await tsnet(env.d, 'pull', ref)).code).not.toBe(0);
        rmSync(join(configDir, 'config.json'), { force: true });
      },
    );
  }

  it.skipIf(!registryAvailable() || !dockerAvailable())('dockerd pulls and runs what tsnet pushed, and tsnet runs what dockerd pushed', async () => {
    const dockerd = await startDockerd(join(env.lab.dir, 'dockerlab'), env.lab.host.path!);
    try {
      const docker = async (...args: string[]): Promise<string> => {
        const r = await dockerd.docker(...args);
        if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      const fromTsnet = `${open.address}/from/tsnet:1`;
      await ok('image', 'tag', 'busybox', fromTsnet);
      await ok('push', fromTsnet);
      await docker('pull', fromTsnet);
      expect(await docker('run', '--rm', fromTsnet, 'echo', 'docker runs it')).toBe('docker runs it\n');

      const fromDocker = `${open.address}/from/docker:1`;
      await docker('run', '--name', 'maker', fromTsnet, 'sh', '-c', 'echo made by docker > /made');
      await docker('commit', '--change', 'CMD ["cat", "/made"]', 'maker', fromDocker);
      await docker('push', fromDocker);
      expect(await ok('pull', fromDocker)).toContain('1 layers pulled, 1 already here');
      expect(await ok('run', '--rm', fromDocker)).toBe('made by docker\n');
    } finally {
      await dockerd.docker('rm', '-f', 'maker');
      await dockerd.stop();
    }
  });
});
