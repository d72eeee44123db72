/**
 * Where the kernel has netem, impairments use it: checked on a second kernel that has it (Debian's, in a VM: this
 * machine's kernel has no netem, see test/helpers/vm.ts). In the VM the real daemon deploys a two-node lab with a
 * declared delay; the CLI changes it live. iproute2's tc, an independent reader, shows what the kernel holds, and
 * real pings between the nodes show it holds. The VM is emulated, so each delay is measured against the
 * unimpaired round trip measured in the same VM, by the median and the interquartile range (test/helpers/rtt-stats.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { busyboxRootfsTar } from '../../src/runtime/busybox.js';
import { isRoot } from '../helpers/lab.js';
import { replyTimes, rttStats } from '../helpers/rtt-stats.js';
import { runInVm, vmUnavailable, type VmResult } from '../helpers/vm.js';
import { twoNodeLab } from '../helpers/two-node-lab.js';

const { topology: TOPOLOGY, companion: COMPANION } = twoNodeLab('vmnet', '{ delay: 100ms }');

/** The VM's script: each result on a line of its own, "@@NAME VALUE". */
const script = (tarball: string): string => `set -e
D=/tmp/tsnet-vm
# tsnet's root on a tmpfs of the VM's own: a container's overlay cannot have its upper layer on the VM's root overlay.
mkdir -p $D && mount -t tmpfs tmpfs $D
cat > $D/vmnet.clab.yml <<'EOF'
${TOPOLOGY}EOF
cat > $D/vmnet.tsnet.yml <<'EOF'
${COMPANION}EOF
node dist/src/cli/tsnet.cjs daemon --root $D/root --socket $D/sock --netns-dir $D/netns --bridge none > $D/daemon.log 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; cat $D/daemon.log | tail -20' EXIT
i=0; while [ ! -S $D/sock ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done
t() { node dist/src/cli/tsnet.cjs --host unix://$D/sock "$@"; }
echo "@@doctor $(t lab doctor --format json | tr -d '\\n')"
t image import ${tarball} busybox > /dev/null
t lab deploy -t $D/vmnet.clab.yml > /dev/null
n1=$D/netns/$(t inspect -f '{{.NetworkSettings.SandboxID}}' clab-vmnet-n1)
inn1() { nsenter --net=$n1 -- "$@"; }
rtt() { inn1 ping -c $1 -i $2 10.200.0.2 | sed -n 's/.*time=\\([0-9.]*\\) ms.*/time=\\1 ms/p' | tr '\\n' ' '; }
qdisc() { echo "@@qdisc-$1 $(inn1 tc qdisc show dev eth1 | tr '\\n' '|')"; }
echo "@@show $(t lab link show --name vmnet --format json | tr -d '\\n')"
qdisc declared
echo "@@rtt-100 $(rtt 20 0.05)"
t lab link set --name vmnet n1:eth1 --clear --delay 50ms --jitter 10ms > /dev/null
qdisc jitter
echo "@@rtt-jitter $(rtt 3000 0.01)"
t lab link set --name vmnet n1:eth1 --clear --delay 10ms --reorder 25% --corrupt 1% --loss-model 1%,10%,70%,0.1% --rate 10mbit > /dev/null
qdisc many
t lab link set --name vmnet n1:eth1 --clear --duplicate 50% > /dev/null
qdisc duplicate
echo "@@dup $(inn1 ping -c 200 -i 0.01 10.200.0.2 | grep 'packets transmitted')"
t lab link set --name vmnet n1:eth1 --clear --rate 10mbit > /dev/null
qdisc rate
t lab link set --name vmnet n1:eth1 --clear > /dev/null
qdisc clear
echo "@@rtt-base $(rtt 50 0.02)"
echo "@@show-clear $(t lab link show --name vmnet --format json | tr -d '\\n')"
t lab destroy --name vmnet > /dev/null
echo "@@done"
`;

const unavailable = isRoot ? vmUnavailable() : 'needs root';

describe.skipIf(!!unavailable && !process.env.CI)(
  `netem, where the kernel has it (a second kernel in a VM)${unavailable ? ` [skipped: ${unavailable}]` : ''}`,
  () => {
    const results = new Map<string, string>();
    let run: VmResult;
    let dir: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'tsnet-vm-fixture-'));
      const tarball = await busyboxRootfsTar(dir);
      run = await runInVm(script(tarball), { timeoutMs: 600_000 });
      for (const line of run.output.split('\n')) {
        // Anywhere on its line: the first follows the firmware's screen codes.
        const m = /@@(\S+) ?(.*)$/u.exec(line.trim());
        if (m) results.set(m[1]!, m[2]!);
      }
    }, 660_000);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    const result = (name: string): string => {
      const v = results.get(name);
      if (v === undefined) throw new Error(`the VM's script did not get to "${name}" (status ${run.code}):\n${run.output.slice(-3000)}`);
      return v;
    };

    it('runs the whole scenario in the VM', () => {
      expect(result('done')).toBe('');
      expect(run.code, run.output.slice(-3000)).toBe(0);
    });

    it('says netem applies delays there, and applies a declared delay with it (no relay)', () => {
      const doctor = JSON.parse(result('doctor')) as { impairment: string; engine: string; supported: boolean }[];
      expect(doctor.find((s) => s.impairment.startsWith('delay'))).toMatchObject({ supported: true, engine: 'kernel: netem qdisc on the end' });
      const show = JSON.parse(result('show')) as { ends: { endpoint: string; engines: string[]; relayPid?: number }[] }[];
      const n1 = show[0]!.ends.find((e) => e.endpoint === 'n1:eth1')!;
      expect(n1).toMatchObject({ engines: ['netem'] });
      expect(n1.relayPid).toBeUndefined();
      expect(result('qdisc-declared')).toMatch(/^qdisc netem 2: root refcnt \d+ limit 1000 delay 100ms\|$/u);
    });

    it('holds the delay: 100 ms (+/- 5%) and 50 ms with a normal jitter of 10 ms (+/- 10%) over the unimpaired round trip', () => {
      const base = rttStats(replyTimes(result('rtt-base')));
      const delayed = rttStats(replyTimes(result('rtt-100')));
      expect(delayed.min, 'no packet before its delay').toBeGreaterThanOrEqual(100);
      expect(Math.abs(delayed.median - base.median - 100) / 100, `RTT ${delayed.median} ms over ${base.median} ms`).toBeLessThanOrEqual(0.05);
      expect(result('qdisc-jitter')).toMatch(/netem 2: root .*delay 50ms {2}10ms\|$/u);
      // 3,000 draws: 3 standard errors are 1.4% of 50 ms for the median, 6.4% of 10 ms for the spread.
      const jittered = rttStats(replyTimes(result('rtt-jitter')));
      expect(jittered.received).toBe(3000);
      expect(Math.abs(jittered.median - base.median - 50) / 50, `RTT ${jittered.median} ms over ${base.median} ms`).toBeLessThanOrEqual(0.05);
      expect(Math.abs(jittered.sigma - 10) / 10, `RTT spread ${jittered.sigma.toFixed(2)} ms`).toBeLessThanOrEqual(0.1);
    });

    it('gives netem the rest (reorder, corrupt, Gilbert-Elliott loss) with the rate as a TBF below it, and takes it all away again', () => {
      const many = result('qdisc-many');
      expect(many).toMatch(/^qdisc netem 2: root .*delay 10ms /u);
      for (const part of ['loss gemodel p 1% r 10% 1-h 70% 1-k 0.1% ', 'reorder 25% ', 'corrupt 1% ']) expect(many).toContain(part);
      expect(many).toMatch(/qdisc tbf 1: parent 2:1 rate 10Mbit/u);
      expect(result('qdisc-rate')).toMatch(/^qdisc tbf 1: root refcnt \d+ rate 10Mbit/u);
      expect(result('qdisc-clear')).not.toMatch(/netem|tbf/u);
      const show = JSON.parse(result('show-clear')) as { ends: { endpoint: string; engines: string[] }[] }[];
      expect(show[0]!.ends.find((e) => e.endpoint === 'n1:eth1')).toMatchObject({ engines: [] });
    });

    it('sends the configured 50% twice: real pings come back duplicated within 3 standard errors', () => {
      // Only the duplicate: what the change before it set (reorder, corruption, bursty loss) is gone.
      expect(result('qdisc-duplicate')).toMatch(/^qdisc netem 2: root refcnt \d+ limit 1000 duplicate 50%\|$/u);
      const m = /(\d+) packets transmitted, (\d+) received, \+(\d+) duplicates/u.exec(result('dup'));
      expect(m, result('dup')).not.toBeNull();
      const [sent, received, dups] = [Number(m![1]), Number(m![2]), Number(m![3])];
      expect(received).toBe(sent);
      expect(Math.abs(dups - sent * 0.5)).toBeLessThanOrEqual(3 * Math.sqrt(sent * 0.25));
    });
  },
);
