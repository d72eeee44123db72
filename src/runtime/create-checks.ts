/**
 * What a container's create refuses before anything is made (so a refusal changes nothing): no command, a command
 * or environment the launcher cannot pass, an id or a name that is invalid or taken, a network namespace that is not
 * there, a pids limit out of range. Its id (given, or new) and its name (given, or made from the id) when all is well.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { checkPids } from './cgroups.js';
import { checkCommand } from './launcher-args.js';
import type { ContainerConfig } from './types.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/u;

/** Whether an id or a name is held already (by a container, or by a create under way). */
export interface TakenIds {
  id(id: string): boolean;
  name(name: string): boolean;
}

export function checkCreate(config: ContainerConfig, taken: TakenIds): { id: string; name: string } {
  if (config.command.length === 0) throw new InvalidArgumentError('no command given to run in the container');
  checkCommand(config.command, config.env ?? []);
  const id = config.id ?? randomBytes(32).toString('hex');
  if (!/^[0-9a-f]{64}$/u.test(id) || taken.id(id)) throw new InvalidArgumentError(`invalid or duplicate container id "${id}"`);
  const name = config.name ?? `tsnet_${id.slice(0, 8)}`;
  if (!NAME_RE.test(name)) throw new InvalidArgumentError(`invalid container name "${name}"`);
  if (taken.name(name)) throw new TsnetError('TSNET_ERR_CONFLICT', `a container named "${name}" already exists`);
  if (config.netnsPath !== undefined && !existsSync(config.netnsPath)) throw new InvalidArgumentError(`network namespace ${config.netnsPath} does not exist`);
  if (config.limits?.pids !== undefined) checkPids(config.limits.pids);
  return { id, name };
}
