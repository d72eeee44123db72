import { describe, expect, it } from 'vitest';
import { localName, parseReference, tryLocalName } from '../../../src/lib/image-reference.js';

describe('image references', () => {
  it('reads Docker Hub names, official and not', () => {
    expect(parseReference('busybox')).toEqual({ domain: 'docker.io', path: 'library/busybox' });
    expect(parseReference('nicolaka/netshoot:v0.13')).toEqual({ domain: 'docker.io', path: 'nicolaka/netshoot', tag: 'v0.13' });
    expect(localName(parseReference('docker.io/library/alpine'))).toBe('alpine:latest');
  });

  it('takes a first part with a dot, a port or "localhost" as the registry', () => {
    expect(parseReference('localhost:5000/busybox')).toEqual({ domain: 'localhost:5000', path: 'busybox' });
    expect(parseReference('127.0.0.1:5000/tools/net:1')).toEqual({ domain: '127.0.0.1:5000', path: 'tools/net', tag: '1' });
    expect(parseReference('ghcr.io/srl-labs/network-multitool')).toMatchObject({ domain: 'ghcr.io', path: 'srl-labs/network-multitool' });
    expect(localName(parseReference('localhost:5000/busybox'))).toBe('localhost:5000/busybox:latest');
  });

  it('keeps a digest, and names an image pulled by digest alone by it', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    expect(parseReference(`busybox:1@${digest}`)).toEqual({ domain: 'docker.io', path: 'library/busybox', tag: '1', digest });
    expect(localName(parseReference(`r.example:443/x@${digest}`))).toBe(`r.example:443/x@${digest}`);
  });

  it('refuses what is not a reference, saying what is wrong', () => {
    expect(() => parseReference('Busybox')).toThrow(/invalid image reference "Busybox": the name is lower-case/u);
    expect(() => parseReference('busybox:')).toThrow(/is not a tag/u);
    expect(() => parseReference('busybox@sha256:12')).toThrow(/the digest must be sha256: and 64 hex digits/u);
    expect(() => parseReference('a//b')).toThrow(/invalid image reference/u);
    expect(() => parseReference('')).toThrow(/1 to 255 characters/u);
    expect(tryLocalName('-x')).toBeUndefined();
  });
});
