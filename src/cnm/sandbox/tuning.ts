/** A sandbox's own network settings beyond its endpoints: network sysctls (docker run --sysctl) and extra routes. */
import { InvalidArgumentError } from '../../errors.js';
import { addrAddRequest } from '../../netlink/addr.js';
import type { CnmCore } from '../core.js';

export interface SandboxRoute {
  /** "10.0.23.0/30" or "default" */
  readonly dst: string;
  readonly via?: string;
  readonly dev?: string;
}

/** Writes net.* sysctls inside the sandbox's namespace (its own: they change nothing of the host's). */
export function setSandboxSysctls(core: CnmCore, sandboxId: string, sysctls: Readonly<Record<string, string>>): void {
  const s = core.sandbox(sandboxId);
  if (core.inHostNamespace(s)) throw new InvalidArgumentError("a sandbox in the host namespace takes no sysctls: they would be the host's");
  for (const [key, value] of Object.entries(sysctls)) {
    if (!/^net\.[A-Za-z0-9_.-]+$/u.test(key)) throw new InvalidArgumentError(`sysctl "${key}" is not a network sysctl (net.*) of the container's namespace`);
    if (!/^[A-Za-z0-9 _.:-]*$/u.test(value)) throw new InvalidArgumentError(`sysctl ${key}: invalid value "${value}"`);
    s.ns.sysctlWrite(key.replace(/\./gu, '/'), value);
  }
}

/** Adds routes inside the sandbox, all in one send. */
export async function addSandboxRoutes(core: CnmCore, sandboxId: string, routes: readonly SandboxRoute[]): Promise<void> {
  const s = core.sandbox(sandboxId);
  for (const r of routes) {
    const oif = r.dev ? (await s.handle.linkGet(r.dev)).index : undefined;
    await s.handle.routeAdd({ dst: r.dst, ...(r.via ? { gateway: r.via } : {}), ...(oif !== undefined ? { oif } : {}) });
  }
}

/** Adds addresses to an interface of the sandbox (a lab node's loopback addresses), in one send. */
export async function addSandboxAddresses(core: CnmCore, sandboxId: string, ifname: string, addresses: readonly string[]): Promise<void> {
  const s = core.sandbox(sandboxId);
  const link = await s.handle.linkGet(ifname);
  if (addresses.some((a) => a.includes(':'))) s.ns.sysctlWrite(`net/ipv6/conf/${ifname}/disable_ipv6`, '0');
  await s.handle.pipeline(addresses.map((a) => addrAddRequest(link.index, a, { noDad: true })));
}
