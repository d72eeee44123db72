/**
 * Starts launchers through `tsnet-launcher spawner`, a small process of tsnet's that forks them: Node forks the whole
 * daemon for every child and stops its event loop until the child has exec'd (about 10 ms for a 115 MB daemon),
 * which was half of what starting a lab's nodes cost. The spawner reports each launcher's report (fd 3) and exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { TsnetError } from '../errors.js';

export interface Spawned {
  readonly pid: number;
  /** What the launcher wrote on its fd 3 before closing it ("ok PID", "error ..."), trimmed. */
  readonly report: string;
  /** Its exit status; null when a signal ended it. */
  readonly exited: Promise<number | null>;
}

interface Pending {
  resolve: (s: Spawned) => void;
  reject: (err: Error) => void;
  exited: Promise<number | null>;
  exit: (code: number | null) => void;
}

export class Spawner {
  private readonly pending = new Map<string, Pending>();
  private next = 0;
  private buffered = '';

  private constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (d: Buffer) => this.onData(d.toString()));
    child.once('exit', () => {
      for (const p of this.pending.values()) p.reject(new TsnetError('TSNET_ERR_INTERNAL', 'the launcher spawner ended'));
      this.pending.clear();
    });
    // It keeps the process alive only while a launcher it started is watched (as a child of the process would).
    child.unref();
    this.holdLoop(false);
  }

  private holdLoop(hold: boolean): void {
    const out = this.child.stdout as unknown as { ref?: () => void; unref?: () => void };
    if (hold) out.ref?.();
    else out.unref?.();
  }

  static open(launcher: string): Spawner {
    return new Spawner(spawn(launcher, ['spawner'], { stdio: ['pipe', 'pipe', 'inherit'] }));
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Runs argv (argv[0]: the program) with stdout and stderr appended to logFile and a report pipe on fd 3. */
  run(argv: readonly string[], logFile: string): Promise<Spawned> {
    const id = String(++this.next);
    let exit!: (code: number | null) => void;
    const exited = new Promise<number | null>((r) => (exit = r));
    const answered = new Promise<Spawned>((resolve, reject) => this.pending.set(id, { resolve, reject, exited, exit }));
    this.holdLoop(true);
    const payload = Buffer.from([id, logFile, ...argv].map((s) => `${s}\0`).join(''));
    const len = Buffer.alloc(4);
    len.writeUInt32LE(payload.length);
    this.child.stdin!.write(Buffer.concat([len, payload]));
    return answered;
  }

  private onData(text: string): void {
    this.buffered += text;
    for (let nl = this.buffered.indexOf('\n'); nl !== -1; nl = this.buffered.indexOf('\n')) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      const m = /^([REX]) (\S+) ?(.*)$/su.exec(line);
      const p = m ? this.pending.get(m[2]!) : undefined;
      if (!m || !p) continue;
      if (m[1] === 'E') {
        this.pending.delete(m[2]!);
        p.reject(new TsnetError('TSNET_ERR_INTERNAL', `cannot start the launcher: ${m[3]}`));
      } else if (m[1] === 'R') {
        const [pid = '0', ...report] = m[3]!.split(' ');
        p.resolve({ pid: Number(pid), report: report.join(' ').trim(), exited: p.exited });
      } else {
        this.pending.delete(m[2]!);
        const code = Number(m[3]);
        p.exit(code < 0 ? null : code);
      }
    }
    if (this.pending.size === 0) this.holdLoop(false);
  }

  /** Stops watching: the launchers go on alone (their ends are for whoever watches next). */
  close(): void {
    this.pending.clear();
    this.holdLoop(false);
    this.child.stdin!.end();
  }
}

/** The same through Node's own spawn (when the spawner is not running): a launcher run as this process's child. */
export function spawnDirect(launcher: string, argv: readonly string[], logFile: string): Promise<Spawned> {
  const log = openSync(logFile, 'a');
  const child = spawn(launcher, argv.slice(1), { detached: true, stdio: ['ignore', log, log, 'pipe'] });
  closeSync(log);
  const exited = new Promise<number | null>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve(child.exitCode);
    else child.once('exit', (code) => resolve(code));
  });
  return new Promise((resolve) => {
    let text = '';
    const sync = child.stdio[3] as NodeJS.ReadableStream;
    const done = (): void => resolve({ pid: child.pid ?? 0, report: text.trim(), exited });
    sync.on('data', (d: Buffer) => (text += d.toString()));
    sync.on('end', done);
    sync.on('error', done);
  });
}
