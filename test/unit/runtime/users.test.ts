/** -u USER[:GROUP] against an image's files, and the run flags' own syntax: pure code. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveUser } from '../../../src/runtime/users.js';
import { checkTmpfs, parseUlimit } from '../../../src/daemon/container-request.js';
import { parseMountFlag, parseVolumeFlag } from '../../../src/lib/mount-syntax.js';

describe('users from the image', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsnet-users-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n# note\nweb:x:33:44::/var/www:/bin/false\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\nstaff:x:50:\n');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('looks names up, takes numbers as they are, and gives the primary group', () => {
    expect(resolveUser(root, 'web')).toEqual({ uid: 33, gid: 44 });
    expect(resolveUser(root, 'web:staff')).toEqual({ uid: 33, gid: 50 });
    expect(resolveUser(root, '33')).toEqual({ uid: 33, gid: 44 });
    expect(resolveUser(root, '1000')).toEqual({ uid: 1000, gid: 0 });
    expect(resolveUser(root, '1000:7')).toEqual({ uid: 1000, gid: 7 });
  });

  it('refuses what is not there', () => {
    expect(() => resolveUser(root, 'ghost')).toThrow(/unable to find user ghost/u);
    expect(() => resolveUser(root, 'web:nope')).toThrow(/unable to find group nope/u);
    expect(() => resolveUser(root, 'web:')).toThrow(/invalid user/u);
  });
});

describe('run flag syntax', () => {
  it('--ulimit NAME=SOFT[:HARD]', () => {
    expect(parseUlimit('nofile=10')).toBe('nofile=10:10');
    expect(parseUlimit('nproc=5:9')).toBe('nproc=5:9');
    expect(() => parseUlimit('nofile=9:5')).toThrow(/soft limit is above/u);
    expect(() => parseUlimit('files=1')).toThrow(/invalid --ulimit/u);
  });

  it('--tmpfs PATH[:OPTS] with known options only', () => {
    expect(checkTmpfs('/run:rw,size=64m,mode=1777')).toBe('/run:rw,size=64m,mode=1777');
    expect(checkTmpfs('/tmp')).toBe('/tmp');
    expect(() => checkTmpfs('/x:size=1m,context=evil')).toThrow(/invalid --tmpfs/u);
    expect(() => checkTmpfs('/a/../b')).toThrow(/invalid --tmpfs/u);
  });
});

describe('-v and --mount', () => {
  it("reads Docker's -v forms", () => {
    expect(parseVolumeFlag('/data')).toEqual({ type: 'volume', target: '/data' });
    expect(parseVolumeFlag('db:/var/lib/db:ro')).toEqual({ type: 'volume', source: 'db', target: '/var/lib/db', readOnly: true });
    expect(parseVolumeFlag('/srv:/srv')).toEqual({ type: 'bind', source: '/srv', target: '/srv' });
    expect(() => parseVolumeFlag('a:/b:rx')).toThrow(/invalid -v/u);
  });

  it("reads Docker's --mount fields", () => {
    expect(parseMountFlag('type=bind,src=/a,dst=/b,readonly')).toEqual({ type: 'bind', source: '/a', target: '/b', readOnly: true });
    expect(parseMountFlag('source=v,target=/v')).toEqual({ type: 'volume', source: 'v', target: '/v' });
    expect(parseMountFlag('type=tmpfs,target=/t,tmpfs-size=2m')).toEqual({ type: 'tmpfs', target: '/t', tmpfsSize: 2 * 1024 * 1024 });
    expect(() => parseMountFlag('type=bind,target=/b')).toThrow(/needs a source/u);
    expect(() => parseMountFlag('type=volume,target=/b,colour=red')).toThrow(/unknown field "colour"/u);
  });
});
