/**
 * `npm run bench -- docker [--json] [--ops N]`: with a real dockerd (Debian's docker.io) started in a throwaway
 * namespace next to a tsnet daemon serving the plugin: `docker run -d` start latency and `docker network connect`
 * + `disconnect` of a running container, on Docker's built-in bridge driver and on tsnet's plugin, in one run.
 */
import { join } from 'node:path';
import { dockerAvailable, startDockerd, type Dockerd } from '../src/lab/dockerd.js';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { round, summarise, table, timeMs, type Summary } from './stats.js';
import { startBenchDaemon } from './tsnetd.js';

const parseArgs = (argv: string[]) => parseBenchArgs(argv, { ops: { default: 30, min: 5, max: 300 } });

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  if (!dockerAvailable()) {
    const skipped = 'dockerd: not installed (apt-get install docker.io)';
    console.log(opts.json ? JSON.stringify({ bench: 'docker', skipped: [skipped] }) : `skipped: ${skipped}`);
    return;
  }
  await inThrowawayLab((state) => measure(opts, state));
}

async function must(dockerd: Dockerd, ...args: string[]): Promise<string> {
  const r = await dockerd.docker(...args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout.trim();
}

/**
 * `docker network rm`, again for a few seconds while dockerd says a network still has active endpoints: dockerd
 * 20.10 can answer `rm -f` before it has released a removed container's endpoint on its own bridge driver, and
 * sometimes never releases it (its inspect then lists no container). On Docker's own networks (`builtin` names
 * them) that is dockerd's bookkeeping, not tsnet's, and the bench says so instead of failing: the whole dockerd and
 * its state are thrown away next. On tsnet's network it fails the bench.
 */
async function removeNetworks(dockerd: Dockerd, names: string[], builtin: ReadonlySet<string>): Promise<void> {
  for (const name of names) {
    for (let attempt = 0; ; attempt++) {
      const r = await dockerd.docker('network', 'rm', name);
      if (r.code === 0) break;
      const stale = /has active endpoints/u.test(r.stderr);
      if (stale && attempt >= 50 && builtin.has(name)) {
        console.error(`bench docker: dockerd kept a stale endpoint on its own network ${name} ("${r.stderr.trim()}"); left to its removal with dockerd`);
        break;
      }
      if (attempt >= 50 || !stale) throw new Error(`docker network rm ${name}: ${r.stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function measure(opts: ReturnType<typeof parseArgs>, state: string): Promise<void> {
  const progress = (text: string): void => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(60));
  };
  // The plugin's socket in the isolated dockerd's plugin folder: Docker names the plugin after it.
  const tsnet = await startBenchDaemon(state, ['--bridge', 'none', '--docker-plugin-socket', join(state, 'dockerlab', 'plugins', 'tsnet.sock')]);
  const dockerd = await startDockerd(join(state, 'dockerlab'), '/proc/self/ns/net');
  try {
    await must(dockerd, 'import', await busyboxRootfsTar(state), 'busybox:latest');
    await must(dockerd, 'network', 'create', '-d', 'bridge', '--subnet', '10.82.0.0/24', 'builtin');
    await must(dockerd, 'network', 'create', '-d', 'tsnet', '--ipam-driver', 'tsnet', '--subnet', '10.83.0.0/24', 'viatsnet');
    // The probe lives on a third network (a container on "none" cannot join others).
    await must(dockerd, 'network', 'create', '-d', 'bridge', '--subnet', '10.84.0.0/24', 'home');
    await must(dockerd, 'run', '-d', '--name', 'probe', '--network', 'home', 'busybox:latest', 'sleep', '100000');
    const results: Record<string, { run: number[]; connect: number[] }> = { builtin: { run: [], connect: [] }, viatsnet: { run: [], connect: [] } };
    // Interleaved, so that both drivers see the same machine conditions.
    for (let i = 0; i < opts.ops; i++) {
      for (const net of ['builtin', 'viatsnet'] as const) {
        results[net]!.run.push(await timeMs(() => must(dockerd, 'run', '-d', '--name', `${net}${i}`, '--network', net, 'busybox:latest', 'sleep', '100000')));
        results[net]!.connect.push(
          await timeMs(async () => {
            await must(dockerd, 'network', 'connect', net, 'probe');
            await must(dockerd, 'network', 'disconnect', net, 'probe');
          }),
        );
      }
      progress(`docker operations: ${i + 1}/${opts.ops}`);
    }
    progress('');
    const ids = (await must(dockerd, 'ps', '-aq')).split('\n').filter(Boolean);
    report(opts, results);
    await must(dockerd, 'rm', '-f', ...ids);
    await removeNetworks(dockerd, ['builtin', 'viatsnet', 'home'], new Set(['builtin', 'home']));
  } catch (err) {
    // What tsnet said about it (its warnings, and the plugin calls it refused), and what dockerd still holds on its
    // networks, for whoever reads the failure.
    const warnings = tsnet
      .output()
      .split('\n')
      .filter((l) => /"level":[45]0/u.test(l) || /"statusCode":[45]\d\d/u.test(l));
    const held = await dockerd.docker('network', 'inspect', '--format', '{{.Name}}: {{json .Containers}}', 'builtin', 'viatsnet', 'home');
    const details = [warnings.length ? `tsnet's log:\n${warnings.join('\n')}` : '', `dockerd's networks:\n${held.stdout.trim()}`];
    throw new Error([(err as Error).message, ...details.filter(Boolean)].join('\n'), { cause: err });
  } finally {
    await dockerd.stop();
    await tsnet.stop();
  }
}

function report(opts: ReturnType<typeof parseArgs>, results: Record<string, { run: number[]; connect: number[] }>): void {
  const s = (x: number[]): Summary => summarise(x);
  const result = {
    bench: 'docker',
    ops: opts.ops,
    builtinBridge: { run: s(results.builtin!.run), connectDisconnect: s(results.builtin!.connect) },
    tsnetPlugin: { run: s(results.viatsnet!.run), connectDisconnect: s(results.viatsnet!.connect) },
    ratio: {
      run: round(s(results.builtin!.run).medianMs / s(results.viatsnet!.run).medianMs, 2),
      connectDisconnect: round(s(results.builtin!.connect).medianMs / s(results.viatsnet!.connect).medianMs, 2),
    },
    target: "tsnet's plugin no slower than Docker's built-in bridge (ratio >= 1)",
  };
  if (opts.json) return void console.log(JSON.stringify(result));
  console.log(`dockerd 20.10 with Docker's bridge driver and with tsnet's plugin, ${opts.ops} operations each\n`);
  console.log(
    table(
      ['operation', 'driver', 'median ms', 'p95 ms'],
      [
        ['docker run -d', 'bridge (built in)', result.builtinBridge.run.medianMs, result.builtinBridge.run.p95Ms],
        ['docker run -d', 'tsnet plugin', result.tsnetPlugin.run.medianMs, result.tsnetPlugin.run.p95Ms],
        ['network connect + disconnect', 'bridge (built in)', result.builtinBridge.connectDisconnect.medianMs, result.builtinBridge.connectDisconnect.p95Ms],
        ['network connect + disconnect', 'tsnet plugin', result.tsnetPlugin.connectDisconnect.medianMs, result.tsnetPlugin.connectDisconnect.p95Ms],
      ],
    ),
  );
  console.log(`\nbuilt-in / tsnet: run ${result.ratio.run}x, connect+disconnect ${result.ratio.connectDisconnect}x (target: at least 1x)`);
}
