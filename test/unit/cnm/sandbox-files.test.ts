import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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

  it('retires many folders at once, and the folder an earlier version left its removed ones in', async () => {
    const r = root();
    // What an earlier version's crash left in its trash folder goes at the next start.
    mkdirSync(join(`${r}.removed`, 'old'), { recursive: true });
    const files = new SandboxFiles(r);
    expect(existsSync(`${r}.removed`)).toBe(false);
    for (const id of ['a', 'b', 'c']) await files.write(id, 'hosts', 'resolv');
    mkdirSync(join(files.dir('b'), 'odd'));
    files.retire(['a', 'b', 'missing']);
    expect(readdirSync(r)).toEqual(['c']);
    expect(readdirSync(files.dir('c')).sort()).toEqual(['hosts', 'resolv.conf']);
  });

  it('rewrites only the files that changed, and after a failed write writes that file again, though its text is the old one', async () => {
    const files = new SandboxFiles(root());
    await files.write('a', 'hosts 1', 'resolv 1');
    // An unchanged file is not touched: made unwritable, it would fail a write.
    rmSync(join(files.dir('a'), 'resolv.conf'));
    mkdirSync(join(files.dir('a'), 'resolv.conf'));
    files.writeResolv('a', 'resolv 1');
    files.writeHosts('a', 'hosts 2');
    expect(readFileSync(join(files.dir('a'), 'hosts'), 'utf8')).toBe('hosts 2');
    expect(() => files.writeResolv('a', 'resolv 2')).toThrow(/EISDIR/u);
    rmSync(join(files.dir('a'), 'resolv.conf'), { recursive: true });
    files.writeResolv('a', 'resolv 1'); // what it held before the failed write: written, not skipped
    expect(readFileSync(join(files.dir('a'), 'resolv.conf'), 'utf8')).toBe('resolv 1');
  });

  it('deletes at its start what a stop or a crash left waiting for deletion', () => {
    const r = root();
    mkdirSync(join(`${r}.removed`, 'old'), { recursive: true });
    writeFileSync(join(`${r}.removed`, 'old', 'hosts'), 'x');
    new SandboxFiles(r);
    expect(existsSync(`${r}.removed`)).toBe(false);
  });

  it("keeps an earlier version's sandboxes' files where they are, writes new ones in its own folder, and removes the old folder once emptied", async () => {
    const legacy = root();
    const run = root().replace(/sandboxes$/u, 'run-sandboxes');
    for (const id of ['old1', 'old2']) {
      mkdirSync(join(legacy, id), { recursive: true });
      writeFileSync(join(legacy, id, 'hosts'), 'old hosts');
    }
    const files = new SandboxFiles(run, legacy);
    expect(files.dir('old1')).toBe(join(legacy, 'old1'));
    // A running container binds the old file: an update must reach that very file.
    files.writeHosts('old1', 'new hosts');
    expect(readFileSync(join(legacy, 'old1', 'hosts'), 'utf8')).toBe('new hosts');
    await files.write('fresh', 'h', 'r');
    expect(existsSync(join(run, 'fresh', 'hosts'))).toBe(true);
    files.retire(['old1', 'fresh']);
    expect(existsSync(join(legacy, 'old1'))).toBe(false);
    expect(existsSync(legacy)).toBe(true);
    files.remove('old2');
    expect(existsSync(legacy)).toBe(false);
    expect(files.dir('old2')).toBe(join(run, 'old2'));
  });

  it('removes an empty legacy folder at its start', () => {
    const legacy = root();
    mkdirSync(legacy, { recursive: true });
    new SandboxFiles(root(), legacy);
    expect(existsSync(legacy)).toBe(false);
  });
});
