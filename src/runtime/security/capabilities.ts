/**
 * Linux capabilities by name, Docker's default set, and the set a container gets from --cap-add, --cap-drop and
 * --privileged. A set is a bigint mask (bit N = capability N), as /proc/PID/status shows it (CapEff).
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';

/** The kernel's capability numbers (include/uapi/linux/capability.h), in order. */
const NAMES = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
  'PERFMON',
  'BPF',
  'CHECKPOINT_RESTORE',
] as const;

export type CapabilityName = `CAP_${(typeof NAMES)[number]}`;

/** Docker's default capabilities (its oci/caps/defaults.go): CapEff 00000000a80425fb. */
export const DOCKER_DEFAULT_CAPS: readonly CapabilityName[] = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

/** "net_admin", "NET_ADMIN" or "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; unknown names are refused. */
export function capabilityName(text: string): CapabilityName {
  const upper = text.trim().toUpperCase();
  const bare = upper.startsWith('CAP_') ? upper.slice(4) : upper;
  if (!(NAMES as readonly string[]).includes(bare)) throw new InvalidArgumentError(`unknown capability "${text}"`);
  return `CAP_${bare}` as CapabilityName;
}

export const capabilityNumber = (name: CapabilityName): number => (NAMES as readonly string[]).indexOf(name.slice(4));

export function maskOf(names: Iterable<CapabilityName>): bigint {
  let mask = 0n;
  for (const n of names) mask |= 1n << BigInt(capabilityNumber(n));
  return mask;
}

export function namesOf(mask: bigint): CapabilityName[] {
  return NAMES.flatMap((n, i) => ((mask >> BigInt(i)) & 1n ? [`CAP_${n}` as CapabilityName] : []));
}

/** The capabilities this process may hand on (its bounding set): what --privileged gives, as Docker does. */
export function ownBoundingSet(status = '/proc/self/status'): bigint {
  const m = /^CapBnd:\s*([0-9a-f]+)$/mu.exec(readFileSync(status, 'utf8'));
  return m ? BigInt(`0x${m[1]}`) : maskOf(NAMES.map((n) => `CAP_${n}` as CapabilityName));
}

export interface CapabilityRequest {
  readonly privileged?: boolean;
  readonly capAdd?: readonly string[];
  readonly capDrop?: readonly string[];
  /** Added before --cap-add/--cap-drop (lab nodes: NET_ADMIN and NET_RAW). */
  readonly base?: readonly CapabilityName[];
}

/** The container's set: Docker's default (or all, privileged), plus base and --cap-add, minus --cap-drop ("ALL" works). */
export function containerCapabilities(req: CapabilityRequest, bounding = ownBoundingSet()): bigint {
  const all = (list: readonly string[] | undefined): boolean => (list ?? []).some((c) => c.trim().toUpperCase() === 'ALL');
  const named = (list: readonly string[] | undefined): CapabilityName[] => (list ?? []).filter((c) => c.trim().toUpperCase() !== 'ALL').map(capabilityName);
  let mask = req.privileged ? bounding : maskOf([...DOCKER_DEFAULT_CAPS, ...(req.base ?? [])]);
  mask = all(req.capAdd) ? bounding : mask | maskOf(named(req.capAdd));
  mask = all(req.capDrop) ? 0n : mask & ~maskOf(named(req.capDrop));
  return mask & bounding;
}
