/** Image references: by name, by id with or without "sha256:", by an unambiguous prefix of the hex digits. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ImageStore } from '../../../src/runtime/images.js';

describe('image references', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-images-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('never takes the "sha256" of every id for a prefix, and refuses ambiguous prefixes', () => {
    mkdirSync(dir, { recursive: true });
    const image = (name: string, hex: string) => ({ name, id: `sha256:${hex.padEnd(64, '0')}`, created: '', size: 1 });
    const images = [image('alpha:latest', 'abcd1'), image('beta:latest', 'abce2'), image('gamma:1', 'ffff3'), image('gamma:2', 'ffff3')];
    const store = new ImageStore(dir);
    writeFileSync((store as unknown as { indexFile: string }).indexFile, JSON.stringify(images));
    expect(store.get('alpha').name).toBe('alpha:latest');
    expect(store.get('gamma:2').name).toBe('gamma:2');
    expect(store.get('abcd1').name).toBe('alpha:latest');
    expect(store.get(`sha256:abce2`).name).toBe('beta:latest');
    expect(store.get('ffff').id).toBe(images[2]!.id); // two names of one layer: one image
    expect(() => store.get('s')).toThrow('image "s" not found');
    expect(() => store.get('sha256')).toThrow('image "sha256" not found');
    expect(() => store.get('abc')).toThrow('image "abc" not found'); // shorter than 4 hex digits
    expect(() => store.get('abcd')).not.toThrow();
    expect(() => store.get('abc'.padEnd(4, 'd'))).not.toThrow();
    expect(() => store.get('ab')).toThrow(/not found/u);
    const twice = new ImageStore(dir);
    writeFileSync((twice as unknown as { indexFile: string }).indexFile, JSON.stringify([image('x:1', 'aaaa1'), image('y:1', 'aaaa2')]));
    expect(() => twice.get('aaaa')).toThrow('image id prefix "aaaa" is ambiguous: it matches x:1, y:1');
  });
});
