/**
 * Compiled seccomp programs, one per profile (by the hash of its resolved rules), in the runtime's folder: the
 * launcher compiles a profile once (`seccomp-compile`), and every container with that profile loads the compiled
 * program instead of compiling it again, which is most of what confining a container costs (about 13 ms a start).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SeccompProgram {
  readonly file: string;
  /** true: a compiled BPF program (--seccomp-bpf); false: the rules, compiled by the launcher itself (--seccomp). */
  readonly compiled: boolean;
}

export class SeccompPrograms {
  constructor(
    private readonly dir: string,
    private readonly launcher: string,
  ) {}

  /** The hash that names a profile's program: of its rules' text. */
  static hashOf(rules: string | Buffer): string {
    return createHash('sha256').update(rules).digest('hex');
  }

  /**
   * The program for a rules file (its hash given when known, saving a read): compiled now if it is not yet; the
   * rules themselves if compiling failed.
   */
  programFor(rulesFile: string, hash = SeccompPrograms.hashOf(readFileSync(rulesFile))): SeccompProgram {
    const out = join(this.dir, `${hash}.bpf`);
    if (existsSync(out)) return { file: out, compiled: true };
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const r = spawnSync(this.launcher, ['seccomp-compile', rulesFile, out], { stdio: 'ignore' });
    // A failure is the launcher's to report at start, with the rules it could not compile.
    return r.status === 0 && existsSync(out) ? { file: out, compiled: true } : { file: rulesFile, compiled: false };
  }
}
