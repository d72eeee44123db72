import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { StateFiles } from '../../../src/runtime/state-files.js';
import type { ContainerState } from '../../../src/runtime/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(): { files: StateFiles; root: string; dir: string; reopen: () => { files: StateFiles; states: ContainerState[] } } {
  const root = mkdtempSync(join(tmpdir(), 'tsnet-state-'));
  dirs.push(root);
  mkdirSync(join(root, 'c1'));
  const open = (): StateFiles =>
    new StateFiles(
      (id) => join(root, id),
      () => undefined,
    );
  return {
    files: open(),
    root,
    dir: join(root, 'c1'),
    reopen: () => {
      const files = open();
      return { files, states: files.readAll(root) };
    },
  };
}
const state = (status: string, extra: Record<string, unknown> = {}): ContainerState =>
  ({ id: 'c1', name: 'c1', status, ...extra }) as unknown as ContainerState;
const statuses = (states: readonly ContainerState[]): string[] => states.map((s) => s.status);

it('writes two slots in turn, in place, and reads back the newest', async () => {
  const { files, dir, reopen } = setup();
  await files.saveAsync(state('created'));
  expect(readdirSync(dir).sort()).toEqual(['state.1.json', 'state.json']);
  const inode = statSync(join(dir, 'state.json')).ino;
  files.save(state('running', { note: 'x'.repeat(500) }));
  files.save(state('exited'));
  expect(statuses(reopen().states)).toEqual(['exited']);
  // In place: the same files, never a new one renamed over them.
  expect(statSync(join(dir, 'state.json')).ino).toBe(inode);
  expect(readdirSync(dir).sort()).toEqual(['state.1.json', 'state.json']);
  // A shorter state cut the longer one it overwrote to its own length.
  expect(readFileSync(join(dir, 'state.json'), 'utf8')).toMatch(/\n\{.*"exited"\}$/u);
});

it('reads back the other slot when a crash tore the one being written, and goes on from there', () => {
  const { files, dir, reopen } = setup();
  files.save(state('created')); // slot 0
  files.save(state('running')); // slot 1
  // A crash in the middle of the next write of slot 1 (a save's first bytes over the old ones).
  const slot1 = readFileSync(join(dir, 'state.1.json'));
  writeFileSync(join(dir, 'state.1.json'), Buffer.concat([Buffer.from('#tsnet-state 3 0000\n{"id":"c1","sta'), slot1.subarray(34)]));
  const again = reopen();
  expect(statuses(again.states)).toEqual(['created']);
  again.files.save(state('exited')); // into the torn slot, not over the whole one
  expect(statuses(reopen().states)).toEqual(['exited']);
  expect(readFileSync(join(dir, 'state.json'), 'utf8')).toContain('"created"');
});

it("reads an earlier version's state.json, and writes its next saves beside it, then over it", () => {
  const { dir, reopen } = setup();
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state('running')));
  const { files, states } = reopen();
  expect(statuses(states)).toEqual(['running']);
  files.save(state('exited'));
  expect(readFileSync(join(dir, 'state.json'), 'utf8')).toBe(JSON.stringify(state('running')));
  files.save(state('created'));
  expect(statuses(reopen().states)).toEqual(['created']);
  // Damaged beyond reading, an earlier version's file is said, not taken for a create cut short.
  const other = setup();
  writeFileSync(join(other.dir, 'state.json'), '{"id":"c1",');
  expect(() => other.reopen()).toThrow(/state\.json: not a container's state/u);
});

it('removes the folder of a create a crash cut short before its first save completed', async () => {
  const { files, root, dir, reopen } = setup();
  mkdirSync(join(root, 'c2'));
  writeFileSync(join(root, 'c2', 'state.json'), '#tsnet-state 1 abc\n{"id":"c2"'); // torn
  writeFileSync(join(root, 'c2', 'state.1.json'), '');
  mkdirSync(join(root, 'c3')); // no state at all
  await files.saveAsync(state('created'));
  expect(statuses(reopen().states)).toEqual(['created']);
  expect(readdirSync(root)).toEqual(['c1']);
  expect(readdirSync(dir).sort()).toEqual(['state.1.json', 'state.json']);
});

it('does not write an asynchronous save that a later save overtook, nor one of a container removed meanwhile', async () => {
  const { files, reopen } = setup();
  const late = files.saveAsync(state('running'));
  files.save(state('exited')); // the end, saved while the start's save was still on its way
  await late;
  expect(statuses(reopen().states)).toEqual(['exited']);

  const other = setup();
  const pending = other.files.saveAsync(state('running'));
  other.files.forget('c1');
  await pending;
  expect(other.reopen().states).toEqual([]);
});
