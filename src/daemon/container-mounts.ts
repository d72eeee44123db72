/**
 * A run's volumes and mounts read as Docker reads them: -v NAME:/path (a named volume, made when missing), -v /path
 * (an anonymous one), -v /host:/path (a bind), --mount type=volume|bind|tmpfs, and --volumes-from CONTAINER[:ro|rw]
 * (that container's mounts). Checked before anything is made; mounted parents before children.
 */
import { existsSync } from 'node:fs';
import type { MountSpec, RunBody } from '../api/containers.js';
import { InvalidArgumentError } from '../errors.js';
import type { Mount, Runtime } from '../runtime/runtime.js';

function checkTarget(target: string): void {
  if (!target.startsWith('/') || target === '/' || target.split('/').includes('..')) {
    throw new InvalidArgumentError(`invalid mount point "${target}": it must be an absolute path other than / and without ".."`);
  }
}

/** The mounts of --volumes-from containers, with their mode changed where one is given. */
function inherited(runtime: Runtime, volumesFrom: readonly string[]): Mount[] {
  return volumesFrom.flatMap((spec) => {
    const [ref = '', mode] = spec.split(':');
    if (mode !== undefined && mode !== 'ro' && mode !== 'rw') throw new InvalidArgumentError(`invalid --volumes-from "${spec}": use CONTAINER[:ro|rw]`);
    return (runtime.get(ref).config.mounts ?? []).map((m) => (mode ? { ...m, readOnly: mode === 'ro' } : m));
  });
}

function checkSpec(runtime: Runtime, m: MountSpec): void {
  checkTarget(m.target);
  if (m.type === 'bind') {
    if (!m.source?.startsWith('/')) throw new InvalidArgumentError(`invalid bind mount source "${m.source ?? ''}": it must be an absolute host path`);
    if (!existsSync(m.source)) throw new InvalidArgumentError(`bind mount source path does not exist: ${m.source}`);
  }
  if (m.type === 'volume' && m.source !== undefined && !runtime.volumes.has(m.source) && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/u.test(m.source)) {
    throw new InvalidArgumentError(`invalid volume name "${m.source}"`);
  }
}

/** Everything the mounts can be refused for, before anything is made. */
export function checkMounts(runtime: Runtime, req: RunBody): void {
  const specs = req.mounts ?? [];
  for (const m of specs) checkSpec(runtime, m);
  const targets = [...specs.map((m) => m.target), ...inherited(runtime, req.volumesFrom ?? []).map((m) => m.target)];
  const dup = targets.find((t, i) => targets.indexOf(t) !== i);
  if (dup) throw new InvalidArgumentError(`duplicate mount point: ${dup}`);
}

/** The runtime's mounts (named volumes made when missing, anonymous ones made), and tmpfs mounts as --tmpfs values. */
export function resolveMounts(runtime: Runtime, req: RunBody): { mounts: Mount[]; tmpfs: string[] } {
  const mounts: Mount[] = inherited(runtime, req.volumesFrom ?? []);
  const tmpfs: string[] = [];
  for (const m of req.mounts ?? []) {
    const readOnly = m.readOnly ? { readOnly: true } : {};
    if (m.type === 'tmpfs') tmpfs.push(`${m.target}:${m.readOnly ? 'ro,' : ''}mode=1777${m.tmpfsSize ? `,size=${m.tmpfsSize}` : ''}`);
    else if (m.type === 'bind') mounts.push({ type: 'bind', source: m.source!, target: m.target, ...readOnly });
    else {
      const v = runtime.volumes.create(m.source, m.source === undefined ? { anonymous: true } : {});
      mounts.push({ type: 'volume', source: v.name, target: m.target, ...readOnly });
    }
  }
  const depth = (p: string): number => p.split('/').filter(Boolean).length;
  return { mounts: mounts.sort((a, b) => depth(a.target) - depth(b.target)), tmpfs };
}
