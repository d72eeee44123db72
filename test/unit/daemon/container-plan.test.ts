/** Restart policies and the networks a start joins, as the daemon decides them: pure code. */
import { describe, expect, it } from 'vitest';
import {
  parseRestartPolicy,
  plannedNetworks,
  restartDelayMs,
  restartsAfterExit,
  restartsAtDaemonStart,
  type ContainerPlan,
} from '../../../src/daemon/container-plan.js';

const plan = (restart: string, more: Partial<ContainerPlan> = {}): ContainerPlan => ({ request: { image: 'x', restart }, ...more });

describe('restart policies', () => {
  it("reads Docker's policies and refuses others", () => {
    expect(parseRestartPolicy()).toEqual({ name: 'no' });
    expect(parseRestartPolicy('on-failure:3')).toEqual({ name: 'on-failure', max: 3 });
    expect(parseRestartPolicy('on-failure')).toEqual({ name: 'on-failure' });
    expect(() => parseRestartPolicy('sometimes')).toThrow(/invalid restart policy/u);
  });

  it('restarts after an exit as Docker does', () => {
    expect(restartsAfterExit(plan('no'), 1)).toBe(false);
    expect(restartsAfterExit(plan('always'), 0)).toBe(true);
    expect(restartsAfterExit(plan('always', { stoppedByUser: true }), 0)).toBe(false);
    expect(restartsAfterExit(plan('on-failure'), 0)).toBe(false);
    expect(restartsAfterExit(plan('on-failure:2', { restartCount: 1 }), 1)).toBe(true);
    expect(restartsAfterExit(plan('on-failure:2', { restartCount: 2 }), 1)).toBe(false);
    expect(restartsAfterExit(plan('unless-stopped'), 137)).toBe(true);
  });

  it('starts at daemon start: always even if stopped by hand, unless-stopped only if not', () => {
    expect(restartsAtDaemonStart(plan('always', { stoppedByUser: true }), 0)).toBe(true);
    expect(restartsAtDaemonStart(plan('unless-stopped', { stoppedByUser: true }), 0)).toBe(false);
    expect(restartsAtDaemonStart(plan('unless-stopped'), 0)).toBe(true);
    expect(restartsAtDaemonStart(plan('on-failure'), 0)).toBe(false);
    expect(restartsAtDaemonStart(plan('on-failure'), 2)).toBe(true);
    expect(restartsAtDaemonStart(plan('no'), 1)).toBe(false);
  });

  it('backs off from 100 ms, doubling, to a minute', () => {
    expect([0, 1, 2, 9, 20].map(restartDelayMs)).toEqual([100, 200, 400, 51_200, 60_000]);
  });
});

describe('planned networks', () => {
  it('joins the asked networks less those left, then those joined later', () => {
    const p: ContainerPlan = { request: { image: 'x', networks: ['a', 'b'] }, left: ['a'], joined: [{ network: 'c', aliases: ['x'] }] };
    expect(plannedNetworks(p, 'bridge')).toEqual([{ network: 'b' }, { network: 'c', aliases: ['x'] }]);
    expect(plannedNetworks({ request: { image: 'x' } }, 'bridge')).toEqual([{ network: 'bridge' }]);
  });
});
