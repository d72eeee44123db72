/**
 * The kernel-test harness: every test file gets throwaway network namespaces of its own (a "lab host" and
 * whatever child namespaces it asks for), pinned in a temporary folder, and removed afterwards, also when a test
 * fails or throws. Nothing here ever touches the host's own namespace. Kernel tests are skipped, with the reason
 * in their name, when not run as root.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe } from 'vitest';
import { Handle } from '../../src/netlink/handle.js';
import { NetnsDirectory, type NetNs } from '../../src/netns/netns.js';
import { endLabContainers } from './lab-containers.js';

const execFileAsync = promisify(execFile);

export const isRoot = process.getuid?.() === 0;
export const SKIP_REASON = 'needs root: kernel tests create network namespaces';

/** describe() for kernel tests: declared skipped, with the reason, when not root. */
export function describeKernel(name: string, fn: () => void): void {
  describe.skipIf(!isRoot)(isRoot ? name : `${name} [skipped: ${SKIP_REASON}]`, fn);
}

/** Prefix of lab folders; the owning process id follows, so that stale ones can be recognised. */
export const LAB_PREFIX = 'tsnet-lab-';

export class Lab {
  private readonly handles: Handle[] = [];
  private readonly names: string[] = [];
  readonly netns: NetnsDirectory;
  /** The lab's stand-in for the host: tsnet's "host" namespace in tests. */
  readonly host: NetNs;

  private constructor(readonly dir: string) {
    this.netns = new NetnsDirectory(join(dir, 'netns'));
    this.host = this.ns('host');
  }

  static create(): Lab {
    return new Lab(mkdtempSync(join(tmpdir(), `${LAB_PREFIX}${process.pid}-`)));
  }

  /** A new namespace of this lab, removed with it. */
  ns(name: string): NetNs {
    const ns = this.netns.create(name);
    this.names.push(name);
    return ns;
  }

  /** A netlink handle inside ns, closed with the lab. */
  handle(ns: NetNs = this.host): Handle {
    const h = Handle.open(ns);
    this.handles.push(h);
    return h;
  }

  /** Runs a command inside ns (through nsenter, independent of tsnet's own code). */
  async exec(ns: NetNs, command: string, args: readonly string[], options: { timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
    if (!ns.path) throw new Error('lab: refusing to run a command in the current namespace');
    return execFileAsync('nsenter', [`--net=${ns.path}`, '--', command, ...args], {
      timeout: options.timeoutMs ?? 20_000,
      maxBuffer: 64 * 1024 * 1024,
    });
  }

  /** `ip -j ARGS` inside ns, parsed: the independent oracle of kernel state. */
  async ip<T = IpJson[]>(ns: NetNs, ...args: string[]): Promise<T> {
    const { stdout } = await this.exec(ns, 'ip', ['-j', ...args]);
    return (stdout.trim() === '' ? [] : JSON.parse(stdout)) as T;
  }

  /**
   * Whether ns can ping address: a reply within 3 s, one echo a second until it comes (the first may be lost while a
   * link just set up comes up, or its neighbour is resolved, under the suite's load).
   */
  async ping(ns: NetNs, address: string): Promise<boolean> {
    try {
      await this.exec(ns, 'ping', ['-c', '1', '-w', '3', '-q', address]);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * What one ping (one second) from ns to address met: a reply; no route to send it on (the kernel refused at
   * once); or no reply (sent, and dropped or unanswered on the way).
   */
  async pingResult(ns: NetNs, address: string, options: { ipv6?: boolean } = {}): Promise<PingResult> {
    try {
      await this.exec(ns, 'ping', [...(options.ipv6 ? ['-6'] : []), '-c', '1', '-W', '1', '-q', address]);
      return 'reached';
    } catch (err) {
      const text = `${(err as { stdout?: string }).stdout ?? ''}${(err as { stderr?: string }).stderr ?? ''}`;
      if (/Network is unreachable|No route to host/u.test(text)) return 'no-route';
      if (/100% packet loss/u.test(text)) return 'no-reply';
      throw err;
    }
  }

  /**
   * Packets tsnet's firewall has dropped in ns so far, of one family: the counters of its drop rules, read with
   * iptables-save -c (iptables backend) and `nft list` (nftables backend: its drops serve both families).
   */
  async firewallDrops(ns: NetNs = this.host, family: 4 | 6 = 4): Promise<number> {
    const { stdout } = await this.exec(ns, family === 4 ? 'iptables-save' : 'ip6tables-save', ['-c', '-t', 'filter']);
    let packets = 0;
    for (const line of stdout.split('\n')) {
      const m = /^\[(\d+):\d+\] .*--comment "?tsnet:[0-9a-f]{64}"? -j DROP$/u.exec(line);
      if (m) packets += Number(m[1]);
    }
    for (const line of (await this.nftTable(ns)).split('\n')) {
      const m = /counter packets (\d+) bytes \d+ drop comment "tsnet:[0-9a-f]{64}"/u.exec(line);
      if (m) packets += Number(m[1]);
    }
    return packets;
  }

  /** `nft list table inet tsnet` in ns: the nftables backend's rules, or '' when there is no such table. */
  async nftTable(ns: NetNs = this.host): Promise<string> {
    try {
      return (await this.exec(ns, 'nft', ['list', 'table', 'inet', 'tsnet'])).stdout;
    } catch {
      return '';
    }
  }

  /** Every firewall rule in ns as text, of both backends: iptables-save, ip6tables-save and tsnet's nftables table. */
  async firewallText(ns: NetNs = this.host): Promise<string> {
    const v4 = (await this.exec(ns, 'iptables-save', [])).stdout;
    const v6 = (await this.exec(ns, 'ip6tables-save', [])).stdout;
    return [v4, v6, await this.nftTable(ns)].join('\n');
  }

  /** Whether the kernel can create links of this kind (some kernels are built without dummy or ipvlan). */
  async kernelSupports(kind: string): Promise<boolean> {
    const probe = this.ns(`probe-${kind}-${this.names.length}`);
    try {
      await this.exec(probe, 'ip', ['link', 'add', 'probe0', 'type', kind]);
      return true;
    } catch {
      return false;
    }
  }

  /** Removes every namespace and the folder; goes on past failures and reports them all at the end. */
  destroy(): void {
    const errors: unknown[] = [];
    for (const h of this.handles.splice(0)) {
      try {
        h.close();
      } catch (err) {
        errors.push(err);
      }
    }
    try {
      endLabContainers(this.dir);
    } catch (err) {
      errors.push(err);
    }
    for (const name of this.names.splice(0).reverse()) {
      try {
        this.netns.delete(name, { ignoreMissing: true });
      } catch (err) {
        errors.push(err);
      }
    }
    // Namespaces that the code under test pinned inside the lab folder (a controller's sandboxes) go too.
    for (const point of mountsUnder(this.dir)) {
      try {
        execFileSync('umount', ['-n', '-l', point]);
      } catch (err) {
        errors.push(err);
      }
    }
    try {
      rmSync(this.dir, { recursive: true, force: true });
    } catch (err) {
      errors.push(err);
    }
    if (errors.length > 0) throw new AggregateError(errors, `lab ${this.dir}: cleanup failed`);
  }
}

/** Mount points below dir, deepest first. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((point) => point.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

export type PingResult = 'reached' | 'no-route' | 'no-reply';

/** A loosely typed `ip -j` record. */
export type IpJson = Record<string, unknown> & { ifname?: string; ifindex?: number };

/** Gives the test file a lab created before its tests and destroyed after them, whatever happened. */
export function useLab(): () => Lab {
  let lab: Lab | undefined;
  beforeAll(() => {
    lab = Lab.create();
  });
  afterAll(() => {
    lab?.destroy();
    lab = undefined;
  });
  return () => {
    if (!lab) throw new Error('lab: used outside of a test');
    return lab;
  };
}
