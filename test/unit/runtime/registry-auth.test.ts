import { describe, expect, it } from 'vitest';
import { basicAuthorization, parseChallenge } from '../../../src/runtime/registry/auth.js';
import { registryBase } from '../../../src/runtime/registry/client.js';
import { formatPlatform, parsePlatform, platformMatches } from '../../../src/runtime/registry/platform.js';

describe('registry challenges, addresses and platforms', () => {
  it("reads Docker Hub's bearer challenge and a basic one", () => {
    expect(parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual({
      scheme: 'bearer',
      params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' },
    });
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: 'basic', params: { realm: 'Registry Realm' } });
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
    expect(parseChallenge(null)).toBeUndefined();
    expect(basicAuthorization({ username: 'alice', password: 'a:b' })).toBe(`Basic ${Buffer.from('alice:a:b').toString('base64')}`);
  });

  it('speaks https to registries, http to loopback ones, and Docker Hub at its API host', () => {
    expect(registryBase('docker.io')).toBe('https://registry-1.docker.io');
    expect(registryBase('ghcr.io')).toBe('https://ghcr.io');
    expect(registryBase('localhost:5000')).toBe('http://localhost:5000');
    expect(registryBase('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryBase('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryBase('registry.lab:5000', true)).toBe('http://registry.lab:5000');
  });

  it('matches platforms, any variant unless one is asked for', () => {
    const arm = parsePlatform('linux/arm64');
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, arm)).toBe(true);
    expect(platformMatches({ os: 'linux', architecture: 'arm64', variant: 'v8' }, parsePlatform('linux/arm64/v7'))).toBe(false);
    expect(platformMatches(undefined, arm)).toBe(false);
    expect(formatPlatform(parsePlatform('linux/arm/v7'))).toBe('linux/arm/v7');
    expect(() => parsePlatform('linux')).toThrow(/expected OS\/ARCHITECTURE/u);
  });
});
