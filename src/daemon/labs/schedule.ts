/**
 * A lab's scheduled events, run on the monotonic clock from the schedule's start: each change applied at its time,
 * and what happened recorded (when it was applied, how late, or why it failed). Each event is taken up LEAD_MS
 * early with its due time: what can be made ahead (a delay relay started) is, and the change itself lands at due.
 */
import type { LabEventResult, LabScheduleView } from '../../api/labs.js';
import type { LabEvent } from '../../labs/topology.js';

/** How early an event is taken up: enough to start a delay relay on this machine before the change is due. */
const LEAD_MS = 150;

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

  constructor(events: readonly LabEvent[], apply: (e: LabEvent, due: bigint) => Promise<void>) {
    const ordered = [...events].sort((a, b) => a.atNs - b.atNs);
    this.results = ordered.map((e) => ({ at: e.atNs / 1e6, endpoint: e.endpoint, change: describeEvent(e) }));
    ordered.forEach((e, i) => {
      const due = this.start + BigInt(e.atNs);
      const fire = async (): Promise<void> => {
        // How late the daemon took the event up, past its lead (a busy machine).
        const fired = Number(process.hrtime.bigint() - this.start) / 1e6;
        const result = { ...this.results[i]!, firedLateMs: round(Math.max(0, fired - (e.atNs / 1e6 - LEAD_MS))) };
        try {
          await apply(e, due);
          const done = Number(process.hrtime.bigint() - this.start) / 1e6;
          this.results[i] = { ...result, appliedMs: round(done), lateMs: round(done - e.atNs / 1e6) };
        } catch (err) {
          this.results[i] = { ...result, error: (err as Error).message };
        }
      };
      this.timers.push(setTimeout(() => void fire(), Math.max(0, e.atNs / 1e6 - LEAD_MS)));
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
