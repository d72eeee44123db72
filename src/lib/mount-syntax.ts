/** Docker's -v and --mount syntax, read into the API's mount specs (the CLI's, checked again by the daemon). */
import type { MountSpec } from '../api/containers.js';
import { parseByteSize } from './sizes.js';

/** -v /path (an anonymous volume), -v NAME:/path[:ro|rw], -v /host:/path[:ro|rw]. */
export function parseVolumeFlag(text: string): MountSpec {
  const parts = text.split(':');
  if (parts.length === 1) return { type: 'volume', target: parts[0]! };
  const [source = '', target = '', mode, ...rest] = parts;
  if (rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw') || !source || !target) {
    throw new RangeError(`invalid -v "${text}": use /path, NAME:/path[:ro] or /host/path:/path[:ro]`);
  }
  return { type: source.startsWith('/') ? 'bind' : 'volume', source, target, ...(mode === 'ro' ? { readOnly: true } : {}) };
}

/** --mount type=volume|bind|tmpfs,source=...,target=...,readonly,tmpfs-size=64m */
export function parseMountFlag(text: string): MountSpec {
  const fields = new Map<string, string>();
  for (const kv of text.split(',')) {
    const eq = kv.indexOf('=');
    fields.set(eq === -1 ? kv : kv.slice(0, eq), eq === -1 ? 'true' : kv.slice(eq + 1));
  }
  const type = fields.get('type') ?? 'volume';
  const source = fields.get('source') ?? fields.get('src');
  const target = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
  const ro = fields.get('readonly') ?? fields.get('ro');
  const size = fields.get('tmpfs-size');
  const known = new Set(['type', 'source', 'src', 'target', 'destination', 'dst', 'readonly', 'ro', 'tmpfs-size']);
  const unknown = [...fields.keys()].find((k) => !known.has(k));
  if ((type !== 'volume' && type !== 'bind' && type !== 'tmpfs') || !target || unknown !== undefined) {
    throw new RangeError(
      `invalid --mount "${text}"${unknown ? `: unknown field "${unknown}"` : ''}: use type=volume|bind|tmpfs,source=...,target=...[,readonly]`,
    );
  }
  if (type === 'bind' && !source) throw new RangeError(`invalid --mount "${text}": a bind mount needs a source`);
  const bytes = size === undefined ? undefined : parseByteSize(size);
  if (size !== undefined && (!bytes || type !== 'tmpfs')) throw new RangeError(`invalid --mount "${text}": tmpfs-size is a size such as 64m, for type=tmpfs`);
  return {
    type,
    target,
    ...(source && type !== 'tmpfs' ? { source } : {}),
    ...(ro === 'true' || ro === '1' ? { readOnly: true } : {}),
    ...(bytes ? { tmpfsSize: bytes } : {}),
  };
}
