/**
 * Seccomp profiles, one per profile (by the hash of its resolved rules), in the runtime's folder: the rules are kept
 * once, not once per container, and the launcher compiles them once (`seccomp-compile`); every container with that
 * profile loads the compiled program instead of compiling it again, which is most of what confining a container
 * costs (about 13 ms a start).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SeccompProgram {
  readonly file: string;
  /** true: a compiled BPF program (--seccomp-bpf); false: the rules, compiled by the launcher itself (--seccomp). */
  readonly compiled: boolean;
}

export class SeccompPrograms {
  /** The hashes of rules texts seen (the same text object comes back for every container of a profile). */
  private readonly hashes = new Map<string, string>();

  constructor(
    private readonly dir: string,
    private readonly launcher: string,
  ) {}

  /** The hash that names a profile's program: of its rules' text. */
  static hashOf(rules: string | Buffer): string {
    return createHash('sha256').update(rules).digest('hex');
  }

  /** Keeps a profile's rules (written once, atomically) and returns the hash that names them. */
  keep(rules: string): string {
    const known = this.hashes.get(rules);
    if (known !== undefined) return known;
    const hash = SeccompPrograms.hashOf(rules);
    const file = this.rulesFile(hash);
    if (!existsSync(file)) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      writeFileSync(`${file}.${process.pid}.tmp`, rules);
      renameSync(`${file}.${process.pid}.tmp`, file);
    }
    this.hashes.set(rules, hash);
    return hash;
  }

  /**
   * A container's program, compiled once per profile (null: unconfined). A container created before profiles were
   * kept once has its rules in its own folder (ownRules).
   */
  programOf(confinement: { readonly seccomp: boolean; readonly seccompHash?: string } | undefined, ownRules: string): SeccompProgram | null {
    if (!confinement?.seccomp) return null;
    const hash = confinement.seccompHash;
    if (hash === undefined) return this.programFor(ownRules);
    const kept = this.rulesFile(hash);
    return this.programFor(existsSync(kept) ? kept : ownRules, hash);
  }

  /** Where the rules of the profile with that hash are kept. */
  rulesFile(hash: string): string {
    return join(this.dir, `${hash}.rules`);
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
