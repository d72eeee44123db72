import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SandboxFiles } from '../../../src/cnm/sandbox/files.js';

describe("sandboxes' files", () => {
  const dirs: string[] = [];
  const root = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'tsnet-files-'));
    dirs.push(d);
    return join(d, 'sandboxes');
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('retires many folders at once: gone from their place at once, deleted in the background', async () => {
    const r = root();
    const files = new SandboxFiles(r);
    for (const id of ['a', 'b', 'c']) await files.write(id, 'hosts', 'resolv');
    files.retire(['a', 'b', 'missing']);
    expect(existsSync(files.dir('a'))).toBe(false);
    expect(existsSync(files.dir('b'))).toBe(false);
    expect(existsSync(files.dir('c'))).toBe(true);
    for (let i = 0; i < 100 && readdirSync(`${r}.removed`).length > 0; i++) await new Promise((res) => setTimeout(res, 10));
    expect(readdirSync(`${r}.removed`)).toEqual([]);
  });

  it('deletes at its start what a stop or a crash left waiting for deletion', () => {
    const r = root();
    mkdirSync(join(`${r}.removed`, 'old'), { recursive: true });
    writeFileSync(join(`${r}.removed`, 'old', 'hosts'), 'x');
    new SandboxFiles(r);
    expect(existsSync(`${r}.removed`)).toBe(false);
  });
});
