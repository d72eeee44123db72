import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ContainerFiles } from '../../../src/runtime/container-files.js';

/** Waits until the folder is empty: its deletion goes on in the background. */
async function emptied(dir: string): Promise<string[]> {
  for (let i = 0; i < 500 && readdirSync(dir).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
  return readdirSync(dir);
}

/** A container's folder as the runtime leaves it: files and a nested layer folder. */
function makeFolder(files: ContainerFiles, id: string): void {
  mkdirSync(join(files.changes(id), 'etc'), { recursive: true });
  writeFileSync(join(files.changes(id), 'etc', 'hostname'), 'c1\n');
  writeFileSync(files.log(id), 'log\n');
  writeFileSync(files.exitFile(id), '0\n');
}

describe('ContainerFiles', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'tsnet-container-files-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('moves a removed container folder out of the containers folder at once, then deletes it', async () => {
    const files = new ContainerFiles(root);
    makeFolder(files, 'a'.repeat(64));
    makeFolder(files, 'b'.repeat(64));
    await files.remove('a'.repeat(64));
    expect(readdirSync(files.folder)).toEqual(['b'.repeat(64)]);
    expect(await emptied(join(root, 'containers.removed'))).toEqual([]);
  });

  it('deletes at its start what an earlier run left waiting for deletion', async () => {
    const left = join(root, 'containers.removed', `${'c'.repeat(64)}-x`);
    mkdirSync(join(left, 'upper', 'etc'), { recursive: true });
    writeFileSync(join(left, 'upper', 'etc', 'hosts'), '');
    new ContainerFiles(root);
    expect(await emptied(join(root, 'containers.removed'))).toEqual([]);
  });

  it('deletes a folder in place when it cannot be moved aside', async () => {
    const files = new ContainerFiles(root);
    makeFolder(files, 'd'.repeat(64));
    rmSync(join(root, 'containers.removed'), { recursive: true });
    await files.remove('d'.repeat(64));
    expect(existsSync(files.dir('d'.repeat(64)))).toBe(false);
  });

  it('removes a container that never had a folder', async () => {
    const files = new ContainerFiles(root);
    await expect(files.remove('e'.repeat(64))).resolves.toBeUndefined();
  });
});
