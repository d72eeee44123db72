/** A ping run's samples: each probe timed from when it left, a lost one between its answered neighbours. */
import { expect, it } from 'vitest';
import { pingSamples } from '../../../src/daemon/labs/probes.js';

it('times answered probes by their answer less the RTT, and lost ones between, before or after the answered', () => {
  // Probes 1..6 every 10 ms from t=1000 (wall clock), but the 4th left 5 ms late; 1, 3 and 6 were lost.
  const replies = [
    { seq: 2, at: 1012, rtt: 2 },
    { seq: 4, at: 1037, rtt: 2 },
    { seq: 5, at: 1042, rtt: 2 },
  ];
  const s = pingSamples({ sent: 6, intervalMs: 10, replies }, 1000, 999);
  expect(s['loss_pct']!.samples).toEqual([
    { t: 0, v: 100 },
    { t: 10, v: 0 },
    { t: 23, v: 100 }, // between 2 (1010) and 4 (1035)
    { t: 35, v: 0 },
    { t: 40, v: 0 },
    { t: 50, v: 100 },
  ]);
  expect(s['rtt_ms']!.samples).toEqual([
    { t: 12, v: 2 },
    { t: 37, v: 2 },
    { t: 42, v: 2 },
  ]);
  expect(pingSamples({ sent: 2, intervalMs: 10, replies: [] }, 1000, 1005)['loss_pct']!.samples).toEqual([
    { t: 5, v: 100 },
    { t: 15, v: 100 },
  ]);
});
