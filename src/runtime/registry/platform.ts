/** Platforms as registries' image indexes name them (os/architecture[/variant]), and this machine's. */
import { InvalidArgumentError } from '../../errors.js';

export interface Platform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

const NODE_TO_OCI: Readonly<Record<string, string>> = {
  x64: 'amd64',
  ia32: '386',
  arm64: 'arm64',
  arm: 'arm',
  ppc64: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/** The platform this machine runs: linux and its architecture in OCI's words. */
export const hostPlatform = (): Platform => ({ os: 'linux', architecture: NODE_TO_OCI[process.arch] ?? process.arch });

/** "linux/arm64/v8" as a platform; refused when it is not os/architecture[/variant]. */
export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_]+$/u.test(p)))
    throw new InvalidArgumentError(`invalid platform "${text}": expected OS/ARCHITECTURE[/VARIANT], for example linux/amd64`);
  return { os: parts[0]!, architecture: parts[1]!, ...(parts[2] ? { variant: parts[2] } : {}) };
}

export const formatPlatform = (p: Platform): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** Whether an index entry's platform is the one wanted (any variant when none is asked for). */
export const platformMatches = (entry: Platform | undefined, wanted: Platform): boolean =>
  entry !== undefined &&
  entry.os === wanted.os &&
  entry.architecture === wanted.architecture &&
  (wanted.variant === undefined || entry.variant === wanted.variant);
