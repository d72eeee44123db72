/**
 * Seccomp profiles in Docker's format (its profiles/seccomp/default.json, or a user's file given with --security-opt
 * seccomp=FILE), resolved for this machine's architecture, kernel and the container's capabilities into the plain
 * rule list the launcher loads with libseccomp. What a rule includes or excludes (capabilities, architectures, a
 * minimum kernel) is decided here, as Docker decides it, so the launcher only applies rules.
 */
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, TsnetError } from '../../errors.js';
import type { CapabilityName } from './capabilities.js';

interface ProfileArg {
  readonly index: number;
  readonly value: number;
  readonly valueTwo?: number;
  readonly op: string;
}

interface ProfileFilter {
  readonly caps?: readonly string[];
  readonly arches?: readonly string[];
  readonly minKernel?: string;
}

interface ProfileRule {
  readonly names?: readonly string[];
  readonly name?: string;
  readonly action: string;
  readonly errnoRet?: number;
  readonly args?: readonly ProfileArg[] | null;
  readonly includes?: ProfileFilter;
  readonly excludes?: ProfileFilter;
}

/** A profile in Docker's format. */
export interface SeccompProfile {
  readonly defaultAction: string;
  readonly defaultErrnoRet?: number;
  readonly archMap?: readonly { architecture: string; subArchitectures?: readonly string[] }[];
  readonly architectures?: readonly string[];
  readonly syscalls?: readonly ProfileRule[];
}

const ACTIONS: Readonly<Record<string, string>> = {
  SCMP_ACT_ALLOW: 'allow',
  SCMP_ACT_ERRNO: 'errno',
  SCMP_ACT_KILL: 'kill',
  SCMP_ACT_KILL_THREAD: 'kill',
  SCMP_ACT_KILL_PROCESS: 'kill_process',
  SCMP_ACT_TRAP: 'trap',
  SCMP_ACT_LOG: 'log',
};
const OPS = new Set(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);
const EPERM = 1;

/** Node's architecture name -> Docker's (Go's) and libseccomp's native one. */
const NATIVE: Readonly<Record<string, { go: string; scmp: string }>> = {
  x64: { go: 'amd64', scmp: 'SCMP_ARCH_X86_64' },
  arm64: { go: 'arm64', scmp: 'SCMP_ARCH_AARCH64' },
  ia32: { go: '386', scmp: 'SCMP_ARCH_X86' },
  arm: { go: 'arm', scmp: 'SCMP_ARCH_ARM' },
};

/** Where Docker's default profile is found: tsnet's copy (scripts/setup.sh), or Debian's package's. */
export const DEFAULT_PROFILE_PATHS = [
  fileURLToPath(new URL('../../../../native/build/docker-seccomp-default.json', import.meta.url)),
  fileURLToPath(new URL('../../../native/build/docker-seccomp-default.json', import.meta.url)),
  '/usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json',
];

/** A profile's JSON text (what Docker's CLI sends for --security-opt seccomp=FILE); `what` names it in errors. */
export function parseProfile(text: string, what: string): SeccompProfile {
  let profile: SeccompProfile;
  try {
    profile = JSON.parse(text) as SeccompProfile;
  } catch (err) {
    throw new InvalidArgumentError(`seccomp profile ${what}: ${(err as Error).message}`);
  }
  if (typeof profile !== 'object' || profile === null || typeof profile.defaultAction !== 'string') {
    throw new InvalidArgumentError(`seccomp profile ${what}: not a Docker seccomp profile (no defaultAction)`);
  }
  return profile;
}

export function loadProfile(path: string): SeccompProfile {
  return parseProfile(readFileSync(path, 'utf8'), path);
}

/** Docker's default profile; refused loudly when absent, since a container must not run unconfined by accident. */
export function defaultProfile(paths: readonly string[] = DEFAULT_PROFILE_PATHS): SeccompProfile {
  const found = paths.find((p) => existsSync(p));
  if (!found) {
    throw new TsnetError(
      'TSNET_ERR_NATIVE_UNAVAILABLE',
      "Docker's default seccomp profile is missing: run scripts/setup.sh (it extracts profiles/seccomp/default.json from Debian's golang-github-docker-docker-dev)",
    );
  }
  return loadProfile(found);
}

const kernelAtLeast = (min: string, have: string): boolean => {
  const [a, b] = [min, have].map((v) => v.split(/[.-]/u).slice(0, 2).map(Number));
  return a![0]! < b![0]! || (a![0] === b![0] && (a![1] ?? 0) <= (b![1] ?? 0));
};

export interface ResolveOptions {
  readonly caps: readonly CapabilityName[];
  /** Node's process.arch (default: this machine's). */
  readonly arch?: string;
  readonly kernel?: string;
}

function applies(rule: ProfileRule, goArch: string, caps: ReadonlySet<string>, kernel: string): boolean {
  const inc = rule.includes ?? {};
  const exc = rule.excludes ?? {};
  if (inc.arches?.length && !inc.arches.includes(goArch)) return false;
  if (inc.caps?.some((c) => !caps.has(c))) return false;
  if (inc.minKernel && !kernelAtLeast(inc.minKernel, kernel)) return false;
  if (exc.arches?.includes(goArch)) return false;
  if (exc.caps?.some((c) => caps.has(c))) return false;
  return true;
}

function action(name: string, errno: number | undefined, where: string): string {
  const a = ACTIONS[name];
  if (!a) throw new InvalidArgumentError(`seccomp profile: unknown action "${name}" in ${where}`);
  return a === 'errno' ? `errno ${errno ?? EPERM}` : `${a} 0`;
}

/**
 * The launcher's input: "default ACTION ERRNO", "arch NAME" lines, then "rule ACTION ERRNO SYSCALL NARGS" followed by
 * NARGS "INDEX OP VALUE VALUETWO" groups, one line per syscall.
 */
export function resolveProfile(profile: SeccompProfile, options: ResolveOptions): string {
  const native = NATIVE[options.arch ?? process.arch];
  if (!native) throw new TsnetError('TSNET_ERR_INTERNAL', `seccomp: no architecture mapping for ${options.arch ?? process.arch}`);
  const caps = new Set<string>(options.caps);
  const kernel = options.kernel ?? release();
  const lines = [`default ${action(profile.defaultAction, profile.defaultErrnoRet, 'defaultAction')}`];
  const arches = (profile.archMap ?? []).filter((a) => a.architecture === native.scmp).flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])]);
  for (const a of arches.length ? arches : [native.scmp, ...(profile.architectures ?? [])]) lines.push(`arch ${a.replace(/^SCMP_ARCH_/u, '').toLowerCase()}`);
  for (const [i, rule] of (profile.syscalls ?? []).entries()) {
    if (!applies(rule, native.go, caps, kernel)) continue;
    const act = action(rule.action, rule.errnoRet, `syscalls[${i}]`);
    const args = (rule.args ?? []).map((a) => {
      if (!OPS.has(a.op) || !Number.isInteger(a.index) || a.index < 0 || a.index > 5) {
        throw new InvalidArgumentError(`seccomp profile: bad argument condition in syscalls[${i}]: ${JSON.stringify(a)}`);
      }
      return `${a.index} ${a.op.replace(/^SCMP_CMP_/u, '').toLowerCase()} ${BigInt(a.value)} ${BigInt(a.valueTwo ?? 0)}`;
    });
    for (const name of [...(rule.names ?? []), ...(rule.name ? [rule.name] : [])]) {
      if (!/^[a-z0-9_]+$/u.test(name)) throw new InvalidArgumentError(`seccomp profile: bad syscall name "${name}" in syscalls[${i}]`);
      lines.push([`rule ${act} ${name} ${args.length}`, ...args].join(' '));
    }
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Docker's default profile, read once, and the rules it resolves to per capability set, kept: most containers
 * share both, and reading and resolving the profile cost a container's start about 0.8 ms of the daemon's time.
 */
export class DefaultSeccompRules {
  private profile: SeccompProfile | undefined;
  private readonly byCaps = new Map<string, string>();

  constructor(private readonly paths: readonly string[] = DEFAULT_PROFILE_PATHS) {}

  rulesFor(caps: readonly CapabilityName[]): string {
    const key = [...caps].sort().join(',');
    let rules = this.byCaps.get(key);
    if (rules === undefined) {
      this.profile ??= defaultProfile(this.paths);
      rules = resolveProfile(this.profile, { caps });
      this.byCaps.set(key, rules);
    }
    return rules;
  }
}
