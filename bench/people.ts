/**
 * The runtime as people meet it, through the CLIs, in the same run: `run -it` until the shell's first prompt (in a
 * pseudo-terminal made by script(1)) and `exec` of `true` in a running container, for tsnet and for Docker
 * (Debian's docker.io, an isolated dockerd; skipped, and said, when absent). Samples are interleaved.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { dockerAvailable, startDockerd, type Dockerd } from '../src/lab/dockerd.js';
import { busyboxRootfsTar } from '../src/runtime/busybox.js';
import { summarise, timeMs, type Summary } from './stats.js';
import { CLI, startBenchDaemon } from './tsnetd.js';

export interface PeopleResult {
  readonly tsnet: { runItPrompt: Summary; exec: Summary };
  readonly docker: { runItPrompt: Summary; exec: Summary } | null;
  readonly skipped: readonly string[];
}

const shellQuote = (argv: readonly string[]): string => argv.map((a) => `'${a.replace(/'/gu, `'\\''`)}'`).join(' ');

/** Milliseconds from starting argv in a pseudo-terminal until "/ # " shows; then the shell is told to exit. */
function untilPrompt(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const p = spawn('script', ['-qfec', shellQuote(argv), '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let seen = '';
    let ms: number | undefined;
    p.stdout.on('data', (d: Buffer) => {
      seen += d.toString();
      if (ms === undefined && seen.includes('/ # ')) {
        ms = Number(process.hrtime.bigint() - t0) / 1e6;
        p.stdin.write('exit\n');
      }
    });
    p.once('exit', (code) => (ms !== undefined ? resolve(ms) : reject(new Error(`no prompt (exit ${code}): ${seen}`))));
  });
}

async function must(dockerd: Dockerd, ...args: string[]): Promise<void> {
  const r = await dockerd.docker(...args);
  if (r.code !== 0) throw new Error(`docker ${args.join(' ')}: ${r.stderr.trim()}`);
}

export async function measurePeople(state: string, samples: number, progress: (text: string) => void): Promise<PeopleResult> {
  const skipped: string[] = [];
  const tsnet = await startBenchDaemon(state, ['--bridge', 'none']);
  const dockerd = dockerAvailable() ? await startDockerd(join(state, 'dockerlab'), '/proc/self/ns/net') : undefined;
  if (!dockerd) skipped.push('docker: not installed (apt-get install docker.io)');
  try {
    const tarball = await busyboxRootfsTar(state);
    await tsnet.cli('image', 'import', tarball, 'busybox');
    await tsnet.cli('run', '-d', '--network', 'none', '--name', 'target', 'busybox', 'sleep', '100000');
    if (dockerd) {
      await must(dockerd, 'import', tarball, 'busybox:latest');
      await must(dockerd, 'run', '-d', '--network', 'none', '--name', 'target', 'busybox:latest', 'sleep', '100000');
    }
    const tsnetCli = [process.execPath, CLI, '--host', `unix://${tsnet.socket}`];
    const out = { ts: { it: [] as number[], exec: [] as number[] }, docker: { it: [] as number[], exec: [] as number[] } };
    for (let i = 0; i < samples; i++) {
      out.ts.it.push(await untilPrompt([...tsnetCli, 'run', '-it', '--rm', '--network', 'none', 'busybox', 'sh']));
      out.ts.exec.push(await timeMs(() => tsnet.cli('exec', 'target', 'true')));
      if (dockerd) {
        out.docker.it.push(
          await untilPrompt(['docker', '-H', `unix://${dockerd.dir}/docker.sock`, 'run', '-it', '--rm', '--network', 'none', 'busybox:latest', 'sh']),
        );
        out.docker.exec.push(await timeMs(() => must(dockerd, 'exec', 'target', 'true')));
      }
      progress(`run -it and exec: ${i + 1}/${samples}`);
    }
    progress('');
    return {
      tsnet: { runItPrompt: summarise(out.ts.it), exec: summarise(out.ts.exec) },
      docker: dockerd ? { runItPrompt: summarise(out.docker.it), exec: summarise(out.docker.exec) } : null,
      skipped,
    };
  } finally {
    // The daemon leaves containers running when it stops: removed first, so that the lab's folder can go.
    await tsnet.cli('rm', '-f', 'target').catch(() => undefined);
    await dockerd?.stop();
    await tsnet.stop();
  }
}
