import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rewriteInPlace } from '../../../src/lib/rewrite-in-place.js';

describe('rewriteInPlace', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsnet-rewrite-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a file that does not exist', () => {
    const path = join(dir, 'hosts');
    rewriteInPlace(path, 'one\n');
    expect(readFileSync(path, 'utf8')).toBe('one\n');
  });

  it('keeps the inode (what a bind mount sees) through longer and shorter texts, leaving nothing of the old one', () => {
    const path = join(dir, 'resolv.conf');
    rewriteInPlace(path, 'nameserver 10.0.0.1\n');
    const inode = statSync(path).ino;
    rewriteInPlace(path, 'nameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch example.com\n');
    expect(readFileSync(path, 'utf8')).toBe('nameserver 10.0.0.1\nnameserver 10.0.0.2\nsearch example.com\n');
    rewriteInPlace(path, 'nameserver 127.0.0.11\n');
    expect(readFileSync(path, 'utf8')).toBe('nameserver 127.0.0.11\n');
    rewriteInPlace(path, '');
    expect(readFileSync(path, 'utf8')).toBe('');
    rewriteInPlace(path, 'h\u00e9llo \u2603\n');
    expect(readFileSync(path, 'utf8')).toBe('h\u00e9llo \u2603\n');
    expect(statSync(path).ino).toBe(inode);
  });

  it('fails on what it cannot open, as a write would', () => {
    expect(() => rewriteInPlace(join(dir, 'no-such-folder', 'hosts'), 'x')).toThrow(/ENOENT/u);
    expect(() => rewriteInPlace(dir, 'x')).toThrow(/EISDIR/u);
  });
});
