/**
 * Runs a bench's external commands (the baselines: CNI's plugin, netavark, ip) from a small process of its own
 * rather than from the bench's: each fork of the bench's large process (it holds tsnet's controller) would leave
 * that process faulting its pages back in, slowing the tsnet contender that runs next, and would slow the
 * baseline's own spawn. One command at a time, timed in the runner.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface Command {
  readonly cmd: string;
  readonly args: readonly string[];
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
}

export class CommandRunner {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private readonly reader: Interface;

  constructor() {
    this.child = spawn(process.execPath, [fileURLToPath(new URL('./runner-child.js', import.meta.url))], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.reader = createInterface({ input: this.child.stdout! });
    this.lines = this.reader[Symbol.asyncIterator]();
  }

  /** Runs the command to its end; resolves with its time in ms, rejects (naming `what`) when it fails. */
  async run(what: string, c: Command): Promise<number> {
    this.child.stdin!.write(`${JSON.stringify({ cmd: c.cmd, args: c.args, input: c.input ?? '', env: c.env })}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error(`${what}: the command runner ended`);
    const answer = JSON.parse(next.value) as { ms: number; status: number | null; output: string };
    if (answer.status !== 0) throw new Error(`${what} failed: ${answer.output}`);
    return answer.ms;
  }

  close(): void {
    this.reader.close();
    this.child.stdin!.end();
  }
}
