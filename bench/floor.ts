/**
 * The kernel's floor for an endpoint (bench/floor.c, built with the native code as native/build/tsnet-floor), driven
 * one endpoint at a time over a pipe. The C program times each endpoint itself, so the pipe is not counted.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// From bench/ (run by tsx or vitest) and from dist/bench/ (compiled) alike.
const candidates = [join(here, '../native/build/tsnet-floor'), join(here, '../../native/build/tsnet-floor')];

export interface FloorEndpoint {
  readonly sandboxPath: string;
  readonly bridgeIndex: number;
  readonly hostName: string;
  /** "10.88.0.2/16" */
  readonly address: string;
  readonly gateway: string;
}

export class Floor {
  private readonly waiting: ((line: string) => void)[] = [];

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    createInterface({ input: child.stdout }).on('line', (line) => this.waiting.shift()?.(line));
  }

  /** Starts the floor program inside the namespace pinned at hostNetnsPath. */
  static start(hostNetnsPath: string, ...flags: string[]): Floor {
    const binary = candidates.find((c) => existsSync(c));
    if (!binary) throw new Error('native/build/tsnet-floor is missing: run "npm run build"');
    return new Floor(spawn(binary, [hostNetnsPath, ...flags], { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  /** Makes one endpoint; resolves with the milliseconds the kernel's floor took for it. */
  endpoint(e: FloorEndpoint): Promise<number> {
    const [address, prefix] = e.address.split('/');
    return new Promise((resolve, reject) => {
      this.waiting.push((line) => {
        if (line.startsWith('error')) reject(new Error(`floor endpoint ${e.hostName}: ${line}`));
        else resolve(Number(line) / 1e6);
      });
      this.child.stdin.write(`${e.sandboxPath} ${e.bridgeIndex} ${e.hostName} ${address} ${prefix} ${e.gateway}\n`);
    });
  }

  close(): void {
    this.child.stdin.end();
  }
}
