import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteWhenIdle } from '../../../src/lib/idle-delete.js';

function makeTree(root: string, name: string): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'upper', 'etc'), { recursive: true });
  writeFileSync(join(dir, 'upper', 'etc', 'hosts'), '127.0.0.1 localhost\n');
  writeFileSync(join(dir, 'state.json'), '{}');
  return dir;
}

describe('deleteWhenIdle', () => {
  let root: string;
  const path = process.env['PATH'];
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsnet-idle-delete-'));
  });
  afterEach(() => {
    process.env['PATH'] = path;
    rmSync(root, { recursive: true, force: true });
  });

  it('deletes folders, with what they hold, in the background', async () => {
    const dirs = [makeTree(root, 'a'), makeTree(root, 'b b'), makeTree(root, '-c')];
    // Resolved once the deletion has ended.
    await deleteWhenIdle(dirs);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
    expect(existsSync(root)).toBe(true);
  });

  it('deletes them in this process where the programs it runs are missing', async () => {
    const dirs = [makeTree(root, 'a')];
    process.env['PATH'] = join(root, 'nothing-here');
    // Resolved once the deletion has ended.
    await deleteWhenIdle(dirs);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });

  it('deletes them in this process where the program it runs fails', async () => {
    const dirs = [makeTree(root, 'a')];
    const bin = join(root, 'bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'ionice'), '#!/bin/sh\nexit 1\n');
    chmodSync(join(bin, 'ionice'), 0o755);
    process.env['PATH'] = bin;
    // Resolved once the deletion has ended.
    await deleteWhenIdle(dirs);
    expect(dirs.filter((d) => existsSync(d))).toEqual([]);
  });
});
