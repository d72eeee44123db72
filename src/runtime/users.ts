/**
 * -u USER[:GROUP] as Docker reads it: names looked up in the image's /etc/passwd and /etc/group, numbers taken as
 * they are; a user without a group gets the primary group its passwd line gives (0 when it has none).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidArgumentError } from '../errors.js';

/** Where a path of the image is (its top layer that has it), or a root folder to look in. */
export type ImageFiles = string | ((rel: string) => string | undefined);

/** The lines of one of the image's /etc files, split on ":". */
function table(files: ImageFiles, file: string): string[][] {
  const path = typeof files === 'string' ? join(files, 'etc', file) : files(join('etc', file));
  if (!path || !existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => l.split(':'));
}

const isNumber = (s: string): boolean => /^\d+$/u.test(s);

export function resolveUser(root: ImageFiles, spec: string): { uid: number; gid: number } {
  const [user = '', group] = spec.split(':');
  if (!user || (group !== undefined && !group)) throw new InvalidArgumentError(`invalid user "${spec}": use USER[:GROUP], as names or numbers`);
  const passwd = table(root, 'passwd');
  const entry = passwd.find((f) => (isNumber(user) ? f[2] === user : f[0] === user));
  if (!entry && !isNumber(user)) throw new InvalidArgumentError(`unable to find user ${user}: no matching entries in the image's passwd file`);
  const uid = Number(isNumber(user) ? user : entry![2]);
  if (group === undefined) return { uid, gid: Number(entry?.[3] ?? 0) };
  if (isNumber(group)) return { uid, gid: Number(group) };
  const g = table(root, 'group').find((f) => f[0] === group);
  if (!g) throw new InvalidArgumentError(`unable to find group ${group}: no matching entries in the image's group file`);
  return { uid, gid: Number(g[2]) };
}
