/**
 * `tsnet demo`: a small topology built inside a throwaway namespace, to show tsnet working on a fresh machine.
 * A bridge plays the network, two sandboxes ("alpha", "beta") join it with veth pairs created directly inside
 * them; they ping each other and their gateway; then everything is removed and the removal is checked.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { attachVethEndpoint } from '../drivers/bridge/veth-endpoint.js';
import { Handle } from '../netlink/handle.js';
import type { Link } from '../netlink/link.js';
import { NetnsDirectory, type NetNs } from '../netns/netns.js';
import { ensureIsolated } from './isolation.js';

const execFileAsync = promisify(execFile);

const SUBNET_PREFIX = 24;
const GATEWAY = '10.10.0.1';

interface Member {
  readonly name: string;
  readonly ns: NetNs;
  readonly address: string;
  readonly hostEnd: string;
  mac?: string | undefined;
}

export interface DemoOptions {
  /** Where progress and the report go. */
  readonly out: (line: string) => void;
}

async function join(host: Handle, bridge: Link, member: Member): Promise<void> {
  const inner = Handle.open(member.ns);
  try {
    const { containerIndex } = await attachVethEndpoint(host, {
      hostName: member.hostEnd,
      containerName: 'eth0',
      bridgeIndex: bridge.index,
      sandbox: member.ns,
      sandboxHandle: inner,
      address: `${member.address}/${SUBNET_PREFIX}`,
      gateway: GATEWAY,
      alias: `tsnet:endpoint:demo-${member.name}`,
    });
    member.mac = (await inner.linkGet(containerIndex)).mac;
  } finally {
    inner.close();
  }
}

async function ping(from: Member, to: string): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync('nsenter', [`--net=${from.ns.path}`, '--', 'ping', '-c', '3', '-i', '0.2', '-W', '1', to]);
    return /= [\d.]+\/([\d.]+)\//u.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

export async function runDemo(options: DemoOptions): Promise<number> {
  ensureIsolated();
  const { out } = options;
  const dir = new NetnsDirectory('/run/netns');
  const host = Handle.open();
  const members: Member[] = [];
  let failures = 0;
  try {
    out('tsnet demo: building a bridge and two sandboxes inside a throwaway network namespace');
    const bridge = await host.linkAdd({ kind: 'bridge', name: 'tsnet-demo0', alias: 'tsnet:network:demo', up: true });
    await host.addrAdd(bridge.index, `${GATEWAY}/${SUBNET_PREFIX}`);
    for (const [i, name] of ['alpha', 'beta'].entries()) {
      const ns = dir.create(name);
      ns.sysctlWrite('net/ipv6/conf/all/disable_ipv6', '1');
      members.push({ name, ns, address: `10.10.0.${i + 2}`, hostEnd: `veth-${name}` });
    }
    for (const m of members) await join(host, bridge, m);

    out('');
    out('sandbox  interface  address         mac                host end');
    for (const m of members) out(`${m.name.padEnd(7)}  eth0       ${`${m.address}/${SUBNET_PREFIX}`.padEnd(14)}  ${m.mac ?? '?'}  ${m.hostEnd}`);
    out('');
    const [alpha, beta] = members as [Member, Member];
    for (const [from, to, label] of [
      [alpha, beta.address, 'beta'],
      [beta, alpha.address, 'alpha'],
      [alpha, GATEWAY, 'gateway'],
    ] as const) {
      const rtt = await ping(from, to);
      if (rtt === undefined) failures++;
      out(`ping ${from.name} -> ${label} (${to}): ${rtt === undefined ? 'FAILED' : `ok, ${rtt} ms average`}`);
    }
  } finally {
    out('');
    out('cleaning up: links, sandboxes');
    await host.linkDeleteMany(members.map((m) => m.hostEnd)).catch(() => 0);
    await host.linkFind('tsnet-demo0').then((l) => (l ? host.linkDelete(l.index) : undefined));
    for (const m of members) dir.delete(m.name, { ignoreMissing: true });
    const left = (await host.linkList()).filter((l) => l.name !== 'lo');
    host.close();
    if (left.length > 0 || dir.list().length > 0) {
      failures++;
      out(`cleanup incomplete: ${left.map((l) => l.name).join(', ')} ${dir.list().join(', ')}`);
    } else {
      out('nothing left behind: no interface, no namespace');
    }
  }
  out(failures === 0 ? 'demo passed' : `demo failed: ${failures} check(s) did not pass`);
  return failures === 0 ? 0 : 1;
}
