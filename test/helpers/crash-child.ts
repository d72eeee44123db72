/**
 * A tsnet process to be killed: it opens a controller on ROOT with HOSTNS as its host namespace and runs a burst of
 * random operations (seeded by SEED): networks made and removed, sandboxes made and connected (a `run`), second
 * networks connected, disconnects, sandboxes removed (an `rm`). It prints a line after each. The crash test kills
 * it with SIGKILL at a random moment. Run from dist: node dist/test/helpers/crash-child.js ROOT HOSTNS SEED N
 */
import { openController } from '../../src/daemon/network-wiring.js';
import { NetNs } from '../../src/netns/netns.js';

const [root, hostNsPath, seedText, countText] = process.argv.slice(2);
/** A small seeded generator (mulberry32), so that a run can be replayed from its seed. */
function seeded(start: number): () => number {
  const state = { seed: start >>> 0 || 1 };
  return () => {
    state.seed = (state.seed + 0x6d2b79f5) >>> 0;
    let t = state.seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const random = seeded(Number(seedText));
const pick = <T>(list: readonly T[]): T | undefined => list[Math.floor(random() * list.length)];

const { controller: ctl } = await openController({ root: root!, hostNs: NetNs.fromPath(hostNsPath!) });
if (!ctl.networks().some((n) => n.name === 'crash')) await ctl.createNetwork({ name: 'crash', subnet: '10.50.0.0/16' });
process.stdout.write('ready\n');
for (let i = 0; i < Number(countText); i++) {
  const r = random();
  const sandboxes = ctl.sandboxes().map((s) => s.record.id);
  const extra = ctl.networks().filter((n) => n.name.startsWith('extra'));
  if ((r < 0.35 && sandboxes.length <= 8) || sandboxes.length < 2) {
    const s = await ctl.createSandbox({ containerId: `crash-${process.pid}-${i}` });
    await ctl.connect('crash', s.id);
  } else if (r < 0.5 && extra.length < 3) {
    await ctl.createNetwork({ name: `extra${process.pid}x${i}` });
  } else if (r < 0.65 && extra.length > 0) {
    const s = pick(sandboxes)!;
    const n = pick(extra)!;
    if (!ctl.joinedTo(s).some((e) => e.networkId === n.id)) await ctl.connect(n.id, s);
  } else if (r < 0.75) {
    const s = pick(sandboxes)!;
    const e = ctl.joinedTo(s).find((x) => x.networkId !== ctl.network('crash').id);
    if (e) await ctl.disconnect(e.networkId, s);
  } else if (r < 0.9 || sandboxes.length > 8) {
    // Past eight sandboxes, every other step removes one: the state stays small, so each check after a kill is quick.
    await ctl.deleteSandboxes([pick(sandboxes)!]);
  } else {
    const unused = extra.find((n) => ctl.endpointsOf({ networkId: n.id }).length === 0);
    if (unused) await ctl.deleteNetwork(unused.id);
  }
  process.stdout.write(`${i}\n`);
}
await ctl.close();
