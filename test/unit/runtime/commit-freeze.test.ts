import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { commitContainer } from '../../../src/runtime/commit.js';
import type { Image, ImageStore } from '../../../src/runtime/images.js';

/** A store whose folder is a file: the commit itself fails (ENOTDIR), after the freeze, which must be undone. */
const dir = mkdtempSync(join(tmpdir(), 'tsnet-commit-'));
writeFileSync(join(dir, 'not-a-folder'), '');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const store = { root: join(dir, 'not-a-folder') } as unknown as ImageStore;
const base = { id: 'b', name: 'base', layers: [] } as unknown as Image;
const opaqueMarks = async (): Promise<void> => undefined;

it('freezes a running container for its commit and thaws it, also when the commit fails; never one that does not run, nor when told not to', async () => {
  const calls: boolean[] = [];
  const freeze = async (frozen: boolean): Promise<void> => void calls.push(frozen);
  const commit = (running: boolean, pause?: boolean) =>
    commitContainer(store, { running, upper: join(dir, 'upper'), base, freeze }, { name: 'x:1', opaqueMarks, ...(pause !== undefined ? { pause } : {}) });
  await expect(commit(true)).rejects.toThrow(/ENOTDIR/u);
  expect(calls).toEqual([true, false]);
  calls.length = 0;
  await expect(commit(false)).rejects.toThrow();
  await expect(commit(true, false)).rejects.toThrow();
  expect(calls).toEqual([]);
});
