import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { StateFiles } from '../../../src/runtime/state-files.js';
import type { ContainerState } from '../../../src/runtime/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { files: StateFiles; dir: string } {
  const root = mkdtempSync(join(tmpdir(), 'tsnet-state-'));
  dirs.push(root);
  mkdirSync(join(root, 'c1'));
  return {
    files: new StateFiles(
      (id) => join(root, id),
      () => undefined,
    ),
    dir: join(root, 'c1'),
  };
}
const state = (status: string): ContainerState => ({ id: 'c1', name: 'c1', status }) as unknown as ContainerState;
const onDisk = (dir: string): string => (JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { status: string }).status;

it('puts an asynchronous save in place, unless a later save overtook it; and leaves no temporary file', async () => {
  const { files, dir } = setup();
  await files.saveAsync(state('running'));
  expect(onDisk(dir)).toBe('running');
  const late = files.saveAsync(state('running'));
  files.save(state('exited')); // the end, saved while the start's save was still being written
  await late;
  expect(onDisk(dir)).toBe('exited');
  expect(readdirSync(dir)).toEqual(['state.json']);
});

it('drops a save still being written when its container is removed', async () => {
  const { files, dir } = setup();
  const pending = files.saveAsync(state('running'));
  files.forget('c1');
  await pending;
  expect(readdirSync(dir)).toEqual([]);
});
