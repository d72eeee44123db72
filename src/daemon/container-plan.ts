/**
 * What the daemon keeps with each container (in the runtime's record of it): the run request, whose networks and
 * ports every start joins anew (a stopped container holds no addresses, as in Docker), and the bookkeeping of its
 * restart policy. Restart policies are Docker's: no, on-failure[:N], always, unless-stopped.
 */
import type { RunBody } from '../api/containers.js';
import { InvalidArgumentError } from '../errors.js';
import type { ContainerState } from '../runtime/runtime.js';

/** A network joined later (network connect), with its options, by network name or id as given. */
export interface JoinedLater {
  readonly network: string;
  readonly ip?: string;
  readonly ip6?: string;
  readonly aliases?: readonly string[];
}

export interface ContainerPlan {
  readonly request: RunBody;
  /** Networks of the request left (network disconnect), and networks joined later. */
  readonly left?: readonly string[];
  readonly joined?: readonly JoinedLater[];
  /** The sandbox is made once, at run, and kept until the container is removed (lab nodes, shared sandboxes). */
  readonly keepSandbox?: boolean;
  readonly restartCount?: number;
  /** Stopped through the API: its policy does not restart it (unless-stopped: not even when the daemon starts). */
  readonly stoppedByUser?: boolean;
}

export function planOf(state: ContainerState): ContainerPlan | undefined {
  const p = state.daemon as ContainerPlan | undefined;
  return p && typeof p === 'object' && 'request' in p ? p : undefined;
}

export type RestartPolicy = { readonly name: 'no' | 'always' | 'unless-stopped' } | { readonly name: 'on-failure'; readonly max?: number };

export function parseRestartPolicy(text = 'no'): RestartPolicy {
  if (text === 'no' || text === 'always' || text === 'unless-stopped') return { name: text };
  const m = /^on-failure(?::(\d+))?$/u.exec(text);
  if (m) return m[1] !== undefined ? { name: 'on-failure', max: Number(m[1]) } : { name: 'on-failure' };
  throw new InvalidArgumentError(`invalid restart policy "${text}": use no, on-failure[:N], always or unless-stopped`);
}

/** Whether a container that has just ended is started again. */
export function restartsAfterExit(plan: ContainerPlan, exitCode: number | null): boolean {
  const policy = parseRestartPolicy(plan.request.restart);
  if (plan.stoppedByUser || policy.name === 'no') return false;
  if (policy.name === 'on-failure') return exitCode !== 0 && (policy.max === undefined || (plan.restartCount ?? 0) < policy.max);
  return true;
}

/** Whether a container found not running when the daemon starts is started: always, and unless-stopped if not stopped by hand. */
export function restartsAtDaemonStart(plan: ContainerPlan, exitCode: number | undefined): boolean {
  const policy = parseRestartPolicy(plan.request.restart);
  if (policy.name === 'always') return true;
  if (plan.stoppedByUser) return false;
  if (policy.name === 'unless-stopped') return true;
  return policy.name === 'on-failure' && exitCode !== 0 && (policy.max === undefined || (plan.restartCount ?? 0) < policy.max);
}

/** Docker's back-off between restarts: 100 ms, doubled each time, at most a minute. */
export function restartDelayMs(restartCount: number): number {
  return Math.min(100 * 2 ** Math.min(restartCount, 10), 60_000);
}

/** The networks a start joins: the request's (less those left) then those joined later. */
export function plannedNetworks(plan: ContainerPlan, fallback: string): JoinedLater[] {
  const asked = plan.request.networks && plan.request.networks.length > 0 ? plan.request.networks : [fallback];
  const left = new Set(plan.left ?? []);
  return [...asked.filter((n) => !left.has(n)).map((network) => ({ network })), ...(plan.joined ?? [])];
}
