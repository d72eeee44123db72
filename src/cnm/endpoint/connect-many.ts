/**
 * Connects asked for at about the same time (many containers started at once, 8 clients connecting) done as one
 * operation, stage by stage: each checked and given its addresses, then the endpoints of each network joined by
 * one driver call (a bridge's host ends in one send), then all recorded in one store transaction. Each caller gets
 * its own outcome: a connect that fails rolls back what it did and does not fail the others. A sandbox named again
 * in the same batch has its later connects done after the others, one by one, in the order asked.
 */
import type { JoinResult } from '../../drivers/driver.js';
import { allRejected, settled } from '../../lib/settled.js';
import type { CnmCore } from '../core.js';
import { writeSandboxFiles } from '../sandbox/hosts.js';
import type { LiveSandbox } from '../state.js';
import type { JoinedEndpoint, NetworkRecord } from '../types.js';
import { UndoStack } from '../undo.js';
import { completeConnect, joinRequest, prepareConnect, recordConnects, type ConnectRequest, type PreparedConnect } from './connect.js';

export interface ConnectCall {
  readonly networkRef: string;
  readonly sandboxId: string;
  readonly req: ConnectRequest;
}

interface Resolved {
  readonly network: NetworkRecord;
  readonly sandbox: LiveSandbox;
  readonly req: ConnectRequest;
}

type Outcome = PromiseSettledResult<JoinedEndpoint>;

export async function connectMany(core: CnmCore, calls: readonly ConnectCall[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const together = new Map<number, Resolved>();
  const after = new Map<number, Resolved>();
  const sandboxes = new Set<string>();
  calls.forEach((call, i) => {
    try {
      const resolved = { network: core.network(call.networkRef), sandbox: core.sandbox(call.sandboxId), req: call.req };
      (sandboxes.has(resolved.sandbox.record.id) ? after : together).set(i, resolved);
      sandboxes.add(resolved.sandbox.record.id);
    } catch (err) {
      outcomes[i] = { status: 'rejected', reason: err };
    }
  });
  const first = await connectTogether(core, [...together.values()]);
  [...together.keys()].forEach((i, k) => (outcomes[i] = first[k]!));
  for (const [i, r] of after) outcomes[i] = (await connectTogether(core, [r]))[0]!;
  return outcomes;
}

/** Connects of distinct sandboxes, stage by stage. */
async function connectTogether(core: CnmCore, items: readonly Resolved[]): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  const fail = async (i: number, undo: UndoStack, err: unknown): Promise<void> => {
    outcomes[i] = { status: 'rejected', reason: await undo.rollback(err).catch((e: unknown) => e) };
  };
  const prepared: { i: number; p: PreparedConnect }[] = [];
  for (const [i, item] of items.entries()) {
    const undo = new UndoStack();
    try {
      prepared.push({ i, p: await prepareConnect(core, item.network, item.sandbox, item.req, undo) });
    } catch (err) {
      await fail(i, undo, err);
    }
  }
  const joins = await joinAll(
    core,
    prepared.map((x) => x.p),
  );
  const done: { i: number; prepared: PreparedConnect; endpoint: JoinedEndpoint }[] = [];
  for (const [k, { i, p }] of prepared.entries()) {
    const join = joins[k]!;
    try {
      if (join.status === 'rejected') throw join.reason;
      done.push({ i, prepared: p, endpoint: await completeConnect(core, p, join.value) });
    } catch (err) {
      await fail(i, p.undo, err);
    }
  }
  try {
    recordConnects(core, done);
  } catch (err) {
    for (const d of done) await fail(d.i, d.prepared.undo, err);
    return outcomes;
  }
  for (const d of done) {
    try {
      writeSandboxFiles(core, d.prepared.sandbox);
      outcomes[d.i] = { status: 'fulfilled', value: d.endpoint };
    } catch (err) {
      await fail(d.i, d.prepared.undo, err);
    }
  }
  return outcomes;
}

/**
 * Each network's endpoints joined by one call of its driver where it can join many, else one by one. (A batch holds
 * 64 connects at most, the controller's cap: one call's sandboxes' namespaces open at once, and their host ends one
 * netlink send of 128 messages.)
 */
async function joinAll(core: CnmCore, prepared: readonly PreparedConnect[]): Promise<PromiseSettledResult<JoinResult>[]> {
  const results: PromiseSettledResult<JoinResult>[] = [];
  const groups = new Map<string, number[]>();
  prepared.forEach((p, k) => {
    const group = groups.get(p.network.id);
    if (group) group.push(k);
    else groups.set(p.network.id, [k]);
  });
  for (const ks of groups.values()) {
    const { driver } = prepared[ks[0]!]!;
    const reqs = ks.map((k) => joinRequest(prepared[k]!));
    const joined =
      driver.joinMany && reqs.length > 1 ? await driver.joinMany(core.driverCtx, reqs).catch((err: unknown) => allRejected<JoinResult>(reqs.length, err)) : [];
    for (const [j, k] of ks.entries()) results[k] = joined[j] ?? (await settled(driver.join(core.driverCtx, reqs[j]!)));
  }
  return results;
}
