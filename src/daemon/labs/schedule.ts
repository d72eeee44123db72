/**
 * A lab's scheduled events, run on the monotonic clock from the schedule's start: each change applied at its time,
 * and what happened recorded (when it was applied, how late, or why it failed). Node's timers fire a millisecond or
 * more late, so each event's timer is set a little early and the last moment is waited out in a short spin.
 */
import type { LabEventResult, LabScheduleView } from '../../api/labs.js';
import type { LabEvent } from '../../labs/topology.js';

/** How early a timer is set before its event: the spin after it is at most this long. */
const SPIN_MS = 3;

const describeEvent = (e: LabEvent): string =>
  [
    e.clear ? 'clear' : '',
    e.set
      ? Object.entries(e.set)
          .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
          .join(' ')
      : '',
    e.state ?? '',
    e.peerToo ? '(peer too)' : '',
  ]
    .filter(Boolean)
    .join(' ');

export class LabSchedule {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly results: LabEventResult[];
  private readonly start = process.hrtime.bigint();
  private readonly startedAt = new Date().toISOString();

  constructor(events: readonly LabEvent[], apply: (e: LabEvent) => Promise<void>) {
    const ordered = [...events].sort((a, b) => a.atNs - b.atNs);
    this.results = ordered.map((e) => ({ at: e.atNs / 1e6, endpoint: e.endpoint, change: describeEvent(e) }));
    ordered.forEach((e, i) => {
      const due = this.start + BigInt(e.atNs);
      const fire = async (): Promise<void> => {
        while (process.hrtime.bigint() < due); // at most SPIN_MS
        const fired = Number(process.hrtime.bigint() - this.start) / 1e6;
        const result = { ...this.results[i]!, firedLateMs: round(fired - e.atNs / 1e6) };
        try {
          await apply(e);
          const done = Number(process.hrtime.bigint() - this.start) / 1e6;
          this.results[i] = { ...result, appliedMs: round(done), lateMs: round(done - e.atNs / 1e6) };
        } catch (err) {
          this.results[i] = { ...result, error: (err as Error).message };
        }
      };
      this.timers.push(setTimeout(() => void fire(), Math.max(0, e.atNs / 1e6 - SPIN_MS)));
    });
  }

  view(): LabScheduleView {
    return { startedAt: this.startedAt, events: [...this.results] };
  }

  cancel(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
