import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { credentialsFor, credentialsForImage, serverDomain, storeCredentials } from '../../../src/cli/credentials.js';

describe('registry credentials on the client', () => {
  let dir: string;
  const saved = { tsnet: process.env.TSNET_CONFIG, docker: process.env.DOCKER_CONFIG };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsnet-credentials-'));
    process.env.TSNET_CONFIG = join(dir, 'tsnet');
    process.env.DOCKER_CONFIG = join(dir, 'docker');
  });
  afterEach(() => {
    for (const [k, v] of [['TSNET_CONFIG', saved.tsnet] as const, ['DOCKER_CONFIG', saved.docker] as const]) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('saves them 0600 in config.json as Docker does, finds them for an image, and forgets them', () => {
    expect(storeCredentials('localhost:5000', { username: 'alice', password: 'p:w' })).toBe(false);
    const file = join(dir, 'tsnet', 'config.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ auths: { 'localhost:5000': { auth: Buffer.from('alice:p:w').toString('base64') } } });
    expect(credentialsForImage('localhost:5000/tools/net:1')).toEqual({ username: 'alice', password: 'p:w' });
    expect(credentialsForImage('busybox')).toBeUndefined();
    expect(storeCredentials('localhost:5000', undefined)).toBe(true);
    expect(credentialsFor('localhost:5000')).toBeUndefined();
  });

  it("reads a docker login's credentials, Docker Hub's under Docker's key", () => {
    const docker = join(dir, 'docker');
    mkdirSync(docker, { recursive: true });
    writeFileSync(
      join(docker, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('bob:hub').toString('base64') },
          'ghcr.io': { auth: Buffer.from('bob:gh').toString('base64') },
        },
      }),
    );
    expect(credentialsForImage('nicolaka/netshoot')).toEqual({ username: 'bob', password: 'hub' });
    expect(credentialsForImage('ghcr.io/srl-labs/x')).toEqual({ username: 'bob', password: 'gh' });
  });

  it('reduces a server as login takes it to host[:port]', () => {
    expect(serverDomain(undefined)).toBe('docker.io');
    expect(serverDomain('https://index.docker.io/v1/')).toBe('docker.io');
    expect(serverDomain('http://localhost:5000/v2/')).toBe('localhost:5000');
    expect(serverDomain('ghcr.io')).toBe('ghcr.io');
  });
});
