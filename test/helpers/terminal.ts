/**
 * A real terminal for end-to-end tests: a tmux server of the test's own (its own socket, no configuration), one
 * window of a chosen size running a command, keys sent as a person types them and the screen read back. The
 * command's exit status is written to a file by the shell that runs it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Terminal {
  private constructor(
    private readonly socket: string,
    private readonly statusFile: string,
  ) {}

  /** Runs argv in a new rows x cols terminal; dir holds the tmux socket and the status file. */
  static open(dir: string, name: string, argv: readonly string[], size = { rows: 30, cols: 100 }): Terminal {
    const t = new Terminal(join(dir, `${name}.tmux`), join(dir, `${name}.status`));
    const quoted = argv.map((a) => `'${a.replace(/'/gu, `'\\''`)}'`).join(' ');
    // Ctrl-C reaches the whole foreground group, the shell too: it outlives it (a trap, not an ignore, so that
    // the command gets the default), and stays a moment after the command so that its last screen can be read.
    const script = `trap : INT; ${quoted}; echo $? > ${t.statusFile}; sleep 30`;
    t.tmux('-f', '/dev/null', 'new-session', '-d', '-x', String(size.cols), '-y', String(size.rows), 'sh', '-c', script);
    return t;
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-S', this.socket, ...args], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
  }

  /** tmux key names: text, "Enter", "C-c", "C-p"... */
  keys(...keys: string[]): void {
    this.tmux('send-keys', ...keys);
  }

  screen(): string {
    return this.tmux('capture-pane', '-p');
  }

  /** Waits until the screen matches (polled; the limit only ends a test that would hang). */
  async waitFor(re: RegExp, limitMs = 20_000): Promise<string> {
    for (const start = Date.now(); Date.now() - start < limitMs; await sleep(50)) {
      const s = this.screen();
      if (re.test(s)) return s;
    }
    throw new Error(`the terminal never showed ${re}; it shows:\n${this.screen()}`);
  }

  /** The command's exit status, once it has ended. */
  async status(limitMs = 20_000): Promise<number> {
    for (const start = Date.now(); Date.now() - start < limitMs; await sleep(50)) {
      if (existsSync(this.statusFile)) {
        const text = readFileSync(this.statusFile, 'utf8');
        if (text.endsWith('\n')) return Number(text);
      }
    }
    throw new Error(`the command never ended; the terminal shows:\n${this.screen()}`);
  }

  close(): void {
    try {
      this.tmux('kill-server');
    } catch {
      // already gone
    }
  }
}
