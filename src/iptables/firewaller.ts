/**
 * The Firewaller applies tsnet's rules in one namespace. IptablesFirewaller runs one `iptables-restore --noflush -w`
 * per change (honouring the xtables lock), never one process per rule. The interface lets an nftables backend
 * follow.
 */
import { spawn } from 'node:child_process';
import { TsnetError } from '../errors.js';
import { SerialQueue } from '../lib/serial-queue.js';
import type { NetNs } from '../netns/netns.js';
import { allJumps, missingRules, parseBase, renderRuleset, renderTeardown, type FirewallBase, type IpFamily, type NetworkFirewall } from './rules.js';

export interface Firewaller {
  /** Makes the rules match these networks exactly (all of them, not a difference). */
  apply(networks: readonly NetworkFirewall[]): Promise<void>;
  /** Removes tsnet's chains and jumps (TSNET-USER stays, as it holds the user's rules). */
  teardown(): Promise<void>;
  /** The rules these networks need that the kernel lacks now (after `iptables -F`, a firewalld reload...). */
  missing(networks: readonly NetworkFirewall[]): Promise<string[]>;
}

export class FirewallError extends TsnetError {
  constructor(what: string, detail: string) {
    super('TSNET_ERR_FIREWALL', `iptables: ${what}: ${detail}`);
  }
}

/** Runs a command inside ns (directly when ns is the current namespace), feeding it input. */
function run(ns: NetNs, command: string, args: readonly string[], input = ''): Promise<string> {
  const argv = ns.path === null ? [command, ...args] : ['nsenter', `--net=${ns.path}`, '--', command, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new FirewallError(command, `${err.message} (is the iptables package installed?)`)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new FirewallError(command, stderr.trim() || `exit code ${code}`))));
    // A command that exits without reading its input (iptables-save) must not turn into an EPIPE error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** iptables (IPv4) or ip6tables (IPv6): one restore per change, in the namespace it was made for. */
export class IptablesFirewaller implements Firewaller {
  private base: FirewallBase | undefined;
  /** The last batch applied: an identical one is not run again (IPv6 when only IPv4 ports changed, say). */
  private applied: string | undefined;
  private readonly queue = new SerialQueue();
  private readonly save: string;
  private readonly restore: string;

  constructor(
    private readonly ns: NetNs,
    private readonly family: IpFamily = 4,
  ) {
    this.save = family === 4 ? 'iptables-save' : 'ip6tables-save';
    this.restore = family === 4 ? 'iptables-restore' : 'ip6tables-restore';
  }

  /** What tsnet's jumps and user chain look like now: read once, then kept up to date by apply. */
  private async currentBase(): Promise<FirewallBase> {
    if (!this.base) this.base = parseBase(await run(this.ns, this.save, []));
    return this.base;
  }

  apply(networks: readonly NetworkFirewall[]): Promise<void> {
    return this.queue.run(async () => {
      const base = await this.currentBase();
      const input = renderRuleset(networks, base, this.family);
      if (input === this.applied) return;
      this.applied = undefined;
      await run(this.ns, this.restore, ['--noflush', '-w'], input);
      // After a successful batch every jump and the user chain exist: no need to read them again.
      this.base = allJumps();
      this.applied = renderRuleset(networks, this.base, this.family);
    });
  }

  missing(networks: readonly NetworkFirewall[]): Promise<string[]> {
    return this.queue.run(async () => {
      const lacking = missingRules(networks, await run(this.ns, this.save, []), this.family);
      // What is missing must be read afresh at the next apply (the jumps may be gone too), and applied again.
      if (lacking.length > 0) {
        this.base = undefined;
        this.applied = undefined;
      }
      return lacking.map((r) => `${this.family === 4 ? 'iptables' : 'ip6tables'}: ${r}`);
    });
  }

  teardown(): Promise<void> {
    return this.queue.run(async () => {
      const save = await run(this.ns, this.save, []);
      // Nothing of tsnet's but the user's chain: nothing to run.
      if (!/^:TSNET-(?!USER )/mu.test(save) && !/ -j TSNET-(?!USER)/u.test(save)) return;
      const base = parseBase(save);
      await run(this.ns, this.restore, ['--noflush', '-w'], renderTeardown(base, this.family));
      this.base = undefined;
      this.applied = undefined;
    });
  }
}

/**
 * One backend in charge, the other retired: before its first change, the active backend has what the other one
 * left (from before a switch of --firewall-backend) removed, so that two sets of tsnet's rules never disagree. The
 * retired one's teardown is best effort: its tool may not even be installed.
 */
export class ExclusiveFirewaller implements Firewaller {
  private retired: Firewaller | undefined;

  constructor(
    private readonly active: Firewaller,
    retired: Firewaller,
  ) {
    this.retired = retired;
  }

  private async retire(): Promise<void> {
    const retired = this.retired;
    this.retired = undefined;
    await retired?.teardown().catch(() => undefined);
  }

  async apply(networks: readonly NetworkFirewall[]): Promise<void> {
    await this.retire();
    await this.active.apply(networks);
  }

  teardown(): Promise<void> {
    return this.active.teardown();
  }

  missing(networks: readonly NetworkFirewall[]): Promise<string[]> {
    return this.active.missing(networks);
  }
}

/**
 * IPv4 and IPv6 together: the same chains in both; IPv6 has no outbound masquerade (as Docker), only the DNAT of
 * published ports.
 */
export class DualStackFirewaller implements Firewaller {
  constructor(
    private readonly v4: Firewaller,
    private readonly v6: Firewaller,
  ) {}

  async apply(networks: readonly NetworkFirewall[]): Promise<void> {
    await this.v4.apply(networks);
    await this.v6.apply(networks);
  }

  async teardown(): Promise<void> {
    await this.v4.teardown();
    await this.v6.teardown();
  }

  async missing(networks: readonly NetworkFirewall[]): Promise<string[]> {
    return [...(await this.v4.missing(networks)), ...(await this.v6.missing(networks))];
  }
}
