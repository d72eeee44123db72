/**
 * The delay engine's relays as processes of tsnet's launcher (`tsnet-launcher delay-relay`, native/delay.c): started
 * detached, so that they hold their links' packets while the daemon restarts, each reported ready before its link
 * is redirected to it; stopped by pid, only if that pid is still the relay of that link.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsnetError } from '../errors.js';
import type { RelaySpec } from '../lib/impairment.js';

const DISTRIBUTIONS = { none: 0, normal: 1, uniform: 2 } as const;

export class DelayRelays {
  constructor(
    private readonly launcher: string,
    /** Where each relay's log goes (one file a hidden interface). */
    private readonly logDir: string,
  ) {}

  start(spec: RelaySpec): Promise<number> {
    mkdirSync(this.logDir, { recursive: true, mode: 0o700 });
    const log = openSync(join(this.logDir, `${spec.inIf}.log`), 'a');
    const options = {
      '--delay': spec.delayNs,
      '--jitter': spec.jitterNs,
      '--dist': DISTRIBUTIONS[spec.distribution],
      '--limit': spec.limit,
      '--duplicate': spec.duplicatePpm,
      '--reorder': spec.reorderPpm,
      '--corrupt': spec.corruptPpm,
    };
    const ge = spec.gilbertElliottPpm ? ['--ge', ...spec.gilbertElliottPpm.map(String)] : [];
    const args = [spec.nsPath, spec.inIf, spec.outIf, String(spec.mark), ...Object.entries(options).flatMap(([k, v]) => [k, String(v)]), ...ge];
    const child = spawn(this.launcher, ['delay-relay', ...args], { detached: true, stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    return new Promise((resolve, reject) => {
      let said = '';
      const timer = setTimeout(() => fail('it did not report ready in 5 s'), 5000);
      const fail = (why: string): void => {
        clearTimeout(timer);
        if (child.exitCode === null && child.pid) child.kill('SIGTERM');
        const logged = readFileSync(join(this.logDir, `${spec.inIf}.log`), 'utf8')
          .trim()
          .split('\n')
          .slice(-2)
          .join(' ');
        reject(new TsnetError('TSNET_ERR_INTERNAL', `delay relay on ${spec.outIf}: ${why}${logged ? ` (${logged})` : ''}`));
      };
      child.once('error', (err) => fail(err.message));
      child.once('exit', (code) => fail(`it exited (${code})`));
      child.stdout!.on('data', (d: Buffer) => {
        said += d.toString();
        if (!said.includes('ready')) return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        child.stdout!.destroy();
        child.unref();
        resolve(child.pid!);
      });
    });
  }

  /** Tells the relay (if pid is still the one reading inIf) to send what it holds and end. */
  drain(pid: number, inIf: string): void {
    if (isRelay(pid, inIf)) process.kill(pid, 'SIGUSR1');
  }

  /** Ends the relay (if pid is still the relay reading inIf) and resolves once it is gone: two would both read. */
  async stop(pid: number, inIf: string): Promise<void> {
    if (!isRelay(pid, inIf)) return;
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 400 && isRelay(pid, inIf); i++) await new Promise((r) => setTimeout(r, 5));
  }
}

/** Whether pid is a live (not zombie) relay reading inIf. */
function isRelay(pid: number, inIf: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return args[1] === 'delay-relay' && args[3] === inIf && state !== 'Z';
  } catch {
    return false; // gone already
  }
}
