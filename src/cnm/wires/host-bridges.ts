/**
 * Bridges in the host namespace that wires plug into (a lab's `bridge` nodes). One that exists and is not tsnet's is
 * used as it is and never changed or removed; one that does not exist is made, tagged with its owner, and removed
 * by that owner only.
 */
import { TsnetError } from '../../errors.js';
import type { CnmCore } from '../core.js';

/** The tag of a bridge made for an owner ("lab:ring"): not a record of the controller's, so reconciliation leaves it. */
export const hostBridgeTag = (owner: string): string => `tsnet-bridge:${owner}`;

/** Makes the bridge when it is missing; whether this call made it. */
export async function ensureHostBridge(core: CnmCore, name: string, owner: string): Promise<boolean> {
  const host = core.driverCtx.host;
  const existing = await host.linkFind(name);
  if (existing) {
    if (existing.kind !== 'bridge')
      throw new TsnetError('TSNET_ERR_CONFLICT', `"${name}" exists and is not a bridge (${existing.kind ?? 'link'} ${existing.index})`);
    return false;
  }
  const made = await host.linkAdd({ kind: 'bridge', name, alias: hostBridgeTag(owner) });
  await host.linkSet(made.index, { alias: hostBridgeTag(owner), up: true });
  return true;
}

/** Removes the bridges made for the owner (found by their tag); how many. A bridge that is not the owner's stays. */
export async function removeHostBridges(core: CnmCore, owner: string): Promise<number> {
  const host = core.driverCtx.host;
  const ours = (await host.linkList()).filter((l) => l.kind === 'bridge' && l.alias === hostBridgeTag(owner)).map((l) => l.index);
  await host.linkDeleteMany(ours);
  return ours.length;
}
