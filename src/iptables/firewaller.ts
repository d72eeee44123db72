/**
 * The Firewaller applies tsnet's rules in one namespace. IptablesFirewaller runs one `iptables-restore --noflush -w`
 * per change (honouring the xtables lock), never one process per rule. The interface lets an nftables backend
 * follow.
 */
import { spawn } from 'node:child_process';
import { TsnetError } from '../errors.js';
import type { NetNs } from '../netns/netns.js';
import { JUMPS, jumpKey, parseBase, renderRuleset, renderTeardown, type FirewallBase, type NetworkFirewall } from './rules.js';

export interface Firewaller {
  /** Makes the rules match these networks exactly (all of them, not a difference). */
  apply(networks: readonly NetworkFirewall[]): Promise<void>;
  /** Removes tsnet's chains and jumps (TSNET-USER stays, as it holds the user's rules). */
  teardown(): Promise<void>;
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

export class IptablesFirewaller implements Firewaller {
  private base: FirewallBase | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly ns: NetNs) {}

  /** What tsnet's jumps and user chain look like now: read once, then kept up to date by apply. */
  private async currentBase(): Promise<FirewallBase> {
    if (!this.base) this.base = parseBase(await run(this.ns, 'iptables-save', []));
    return this.base;
  }

  apply(networks: readonly NetworkFirewall[]): Promise<void> {
    const step = this.queue.then(async () => {
      const base = await this.currentBase();
      await run(this.ns, 'iptables-restore', ['--noflush', '-w'], renderRuleset(networks, base));
      // After a successful batch every jump and the user chain exist: no need to read them again.
      this.base = { userChainExists: true, jumps: new Set(JUMPS.map((j) => jumpKey(j.chain, j.target))) };
    });
    this.queue = step.catch(() => undefined);
    return step;
  }

  teardown(): Promise<void> {
    const step = this.queue.then(async () => {
      const base = parseBase(await run(this.ns, 'iptables-save', []));
      await run(this.ns, 'iptables-restore', ['--noflush', '-w'], renderTeardown(base));
      this.base = undefined;
    });
    this.queue = step.catch(() => undefined);
    return step;
  }
}
