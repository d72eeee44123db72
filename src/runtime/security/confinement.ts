/**
 * What confines a container, as Docker does by default: its capabilities, no_new_privs, a seccomp filter from
 * Docker's default profile, masked and read-only paths under /proc and /sys, and device rules; and what
 * --privileged, --cap-add, --cap-drop, --security-opt and --device change. Planned here (validated, resolved to plain
 * values), applied by the launcher and the cgroups.
 */
import { statSync } from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';
import { containerCapabilities, namesOf, type CapabilityName } from './capabilities.js';
import { DefaultSeccompRules, parseProfile, resolveProfile } from './seccomp.js';

/** Docker's masked paths: hidden behind /dev/null or an empty read-only tmpfs. */
export const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

/** Docker's read-only paths. */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Docker's default device rules (cgroup v1 devices.allow lines), after "a" is denied. */
export const DEFAULT_DEVICE_RULES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm', // null
  'c 1:5 rwm', // zero
  'c 1:7 rwm', // full
  'c 1:8 rwm', // random
  'c 1:9 rwm', // urandom
  'c 5:0 rwm', // tty
  'c 5:1 rwm', // console
  'c 5:2 rwm', // ptmx
  'c 136:* rwm', // pts
];

export interface SecurityRequest {
  readonly privileged?: boolean;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  /**
   * Docker's --security-opt values: seccomp=unconfined, seccomp=<a profile's JSON text> (the CLI reads the file, as
   * Docker's does), no-new-privileges[=true|false].
   */
  readonly securityOpt?: readonly string[];
  /** Docker's --device values: HOST[:CONTAINER[:PERMISSIONS]]. */
  readonly devices?: readonly string[];
  /** Capabilities added before --cap-add (lab nodes: NET_ADMIN, NET_RAW). */
  readonly baseCaps?: readonly CapabilityName[];
  /** Paths made writable again below the read-only ones (lab nodes: /proc/sys/net). */
  readonly writablePaths?: readonly string[];
}

/** A device node to make in the container, and the rule that lets it be used. */
export interface DeviceNode {
  readonly type: 'c' | 'b';
  readonly major: number;
  readonly minor: number;
  readonly mode: number;
  readonly path: string;
  readonly permissions: string;
}

/** The plan, as plain JSON (kept in the container's state, so that exec confines the same way). */
export interface Confinement {
  /** Capability mask, hex. */
  readonly caps: string;
  readonly noNewPrivs: boolean;
  /** The launcher's seccomp rules, or null for unconfined. */
  readonly seccompRules: string | null;
  readonly masked: readonly string[];
  readonly readonly: readonly string[];
  readonly writable: readonly string[];
  readonly devices: readonly DeviceNode[];
  /** cgroup device rules to allow after denying all, or "all". */
  readonly deviceRules: readonly string[] | 'all';
  readonly sysReadWrite: boolean;
}

interface SecurityOptions {
  seccomp: 'default' | 'unconfined' | string;
  noNewPrivs: boolean | undefined;
}

function invalidSeccomp(value: string): never {
  throw new InvalidArgumentError(`--security-opt seccomp="${value.slice(0, 60)}": expected unconfined, or a profile (the CLI reads the file)`);
}

function parseSecurityOpts(opts: readonly string[]): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', noNewPrivs: undefined };
  for (const opt of opts) {
    const eq = opt.indexOf('=');
    const key = eq === -1 ? opt : opt.slice(0, eq);
    const value = eq === -1 ? undefined : opt.slice(eq + 1);
    if (key === 'seccomp' && value) out.seccomp = value.trim().startsWith('{') || value === 'unconfined' ? value : invalidSeccomp(value);
    else if (key === 'no-new-privileges' && (value === undefined || value === 'true' || value === 'false')) out.noNewPrivs = value !== 'false';
    else throw new InvalidArgumentError(`unsupported --security-opt "${opt}" (tsnet takes seccomp=unconfined|PROFILE.json and no-new-privileges[=true|false])`);
  }
  return out;
}

/** "/dev/fuse", "/dev/sdb:/dev/xvdb", "/dev/net/tun:/dev/net/tun:rw" -> a node and its rule. */
export function parseDevice(spec: string): DeviceNode {
  const [host = '', inside = host, permissions = 'rwm', ...rest] = spec.split(':');
  if (!host.startsWith('/') || rest.length > 0 || !/^[rwm]{1,3}$/u.test(permissions)) {
    throw new InvalidArgumentError(`invalid --device "${spec}": use HOST[:CONTAINER[:PERMISSIONS]], e.g. /dev/net/tun or /dev/sdb:/dev/xvdb:r`);
  }
  let st;
  try {
    st = statSync(host, { bigint: true });
  } catch {
    throw new InvalidArgumentError(`--device ${host}: no such device on this machine`);
  }
  if (!st.isCharacterDevice() && !st.isBlockDevice()) throw new InvalidArgumentError(`--device ${host}: not a device node`);
  const rdev = st.rdev;
  const major = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
  if (!inside.startsWith('/dev/') || inside.includes('..') || /[\s\0]/u.test(inside)) {
    throw new InvalidArgumentError(`invalid --device "${spec}": the container path must be below /dev`);
  }
  return { type: st.isCharacterDevice() ? 'c' : 'b', major, minor, mode: Number(st.mode & 0o777n), path: inside, permissions };
}

/**
 * Validates the request and resolves it; `deviceControl` says whether this machine can enforce device rules, and
 * `defaults` resolves Docker's default profile (a runtime keeps one, so that it is read and resolved once).
 */
export function planConfinement(req: SecurityRequest, deviceControl: boolean, defaults = new DefaultSeccompRules()): Confinement {
  const opts = parseSecurityOpts(req.securityOpt ?? []);
  const devices = (req.devices ?? []).map(parseDevice);
  let caps = containerCapabilities({
    ...(req.privileged ? { privileged: true } : {}),
    ...(req.capAdd ? { capAdd: req.capAdd } : {}),
    ...(req.capDrop ? { capDrop: req.capDrop } : {}),
    ...(req.baseCaps ? { base: req.baseCaps } : {}),
  });
  // Without a device controller (cgroup v2 without a device program), no node may be made: the container keeps the
  // few that tsnet binds into /dev, and those given with --device.
  if (!deviceControl && !req.privileged) caps &= ~(1n << 27n); // CAP_MKNOD
  const seccomp = req.privileged && opts.seccomp === 'default' ? 'unconfined' : opts.seccomp;
  const seccompRules =
    seccomp === 'unconfined'
      ? null
      : seccomp === 'default'
        ? defaults.rulesFor(namesOf(caps))
        : resolveProfile(parseProfile(seccomp, 'given with --security-opt'), { caps: namesOf(caps) });
  return {
    caps: caps.toString(16),
    noNewPrivs: opts.noNewPrivs ?? !req.privileged,
    seccompRules,
    masked: req.privileged ? [] : MASKED_PATHS,
    readonly: req.privileged ? [] : READONLY_PATHS,
    writable: req.privileged ? [] : [...(req.writablePaths ?? [])],
    devices,
    deviceRules: req.privileged ? 'all' : [...DEFAULT_DEVICE_RULES, ...devices.map((d) => `${d.type} ${d.major}:${d.minor} ${d.permissions}`)],
    sysReadWrite: req.privileged === true,
  };
}

/** The launcher's arguments for a plan (the seccomp rules are kept once per profile, in the runtime's folder). */
export function launcherSecurityArgs(c: Confinement, seccomp: { readonly file: string; readonly compiled: boolean } | null): string[] {
  return [
    '--caps',
    c.caps,
    ...(c.noNewPrivs ? ['--no-new-privs'] : []),
    ...(seccomp ? [seccomp.compiled ? '--seccomp-bpf' : '--seccomp', seccomp.file] : []),
    ...c.masked.flatMap((p) => ['--mask', p]),
    ...c.readonly.flatMap((p) => ['--readonly', p]),
    ...c.writable.flatMap((p) => ['--writable', p]),
    ...c.devices.flatMap((d) => ['--device', `${d.type}:${d.major}:${d.minor}:${d.mode.toString(8)}:${d.path}`]),
    ...(c.sysReadWrite ? ['--sys-rw'] : []),
  ];
}
