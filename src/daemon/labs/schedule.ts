/**
 * A lab's scheduled events, run on the monotonic clock from the schedule's start: each change applied at its time,
 * and what happened recorded (when it was applied, how late, or why it failed). Each event is taken up LEAD_MS
 * early with its due time: what can be made ahead (a delay relay started) is, and the change itself lands at due.
 */
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';
import type { LabEventResult, LabScheduleView } from '../../api/labs.js';
import type { LabEvent } from '../../labs/topology.js';

/** How early an event is taken up: enough to start a delay relay on this machine before the change is due. */
const LEAD_MS = 150;

/**
 * The daemon's scheduling priority while an event is due (nice -10): on a loaded machine a process at the default
 * priority waits its turn for a core for tens of ms, which would be the event's lateness. Only from the lead to the
 * change, then back to what it was.
 */
const EVENT_NICE = -10;

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
  /** Events being applied now: the priority goes back when none is. */
  private applying = 0;
  private nice: number | undefined;

  constructor(events: readonly LabEvent[], apply: (e: LabEvent, due: bigint) => Promise<void>) {
    const ordered = [...events].sort((a, b) => a.atNs - b.atNs);
    this.results = ordered.map((e) => ({ at: e.atNs / 1e6, endpoint: e.endpoint, change: describeEvent(e) }));
    ordered.forEach((e, i) => {
      const due = this.start + BigInt(e.atNs);
      const fire = async (): Promise<void> => {
        // How late the daemon took the event up, past its lead (a busy machine).
        const fired = Number(process.hrtime.bigint() - this.start) / 1e6;
        const result = { ...this.results[i]!, firedLateMs: round(Math.max(0, fired - (e.atNs / 1e6 - LEAD_MS))) };
        this.raisePriority();
        try {
          await apply(e, due);
          const done = Number(process.hrtime.bigint() - this.start) / 1e6;
          this.results[i] = { ...result, appliedMs: round(done), lateMs: round(done - e.atNs / 1e6) };
        } catch (err) {
          this.results[i] = { ...result, error: (err as Error).message };
        } finally {
          this.restorePriority();
        }
      };
      this.timers.push(setTimeout(() => void fire(), Math.max(0, e.atNs / 1e6 - LEAD_MS)));
    });
  }

  private raisePriority(): void {
    if (this.applying++ > 0) return;
    try {
      this.nice = getPriority();
      setThreadsPriority(Math.min(this.nice, EVENT_NICE));
    } catch {
      this.nice = undefined; // not permitted (not root): the event runs at the priority the daemon has
    }
  }

  private restorePriority(): void {
    if (--this.applying > 0 || this.nice === undefined) return;
    setThreadsPriority(this.nice);
    this.nice = undefined;
  }

  view(): LabScheduleView {
    return { startedAt: this.startedAt, events: [...this.results] };
  }

  cancel(): void {
    for (const t of this.timers) clearTimeout(t);
  }
}

/** Linux's nice is a thread's: every thread of the daemon (the netlink receives run on workers) gets it. */
function setThreadsPriority(nice: number): void {
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      setPriority(Number(tid), nice);
    } catch {
      // a thread that ended meanwhile
    }
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000;
