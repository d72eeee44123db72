/**
 * `tsnet demo`, the main job: inside a throwaway network and mount namespace, an "upstream" namespace plays the
 * internet; a tsnet daemon starts; the busybox image is built; two networks and three containers are made; the
 * demo shows containers reaching each other across one network, isolated across two, reaching upstream through
 * NAT, finding each other by name, and a web server published on the host's port 8080 answering the upstream;
 * it prints a report and removes everything, checking that nothing is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFAULT_SOCKET } from '../api/defaults.js';
import type { ContainerView, ExecBody, ExecResult, RunBody } from '../api/containers.js';
import type { NetworkCreate, NetworkView } from '../api/networks.js';
import { TsnetClient } from '../client/client.js';
import { addressOf } from '../ipam/subnet.js';
import { Handle } from '../netlink/handle.js';
import { DEFAULT_NETNS_DIR, NetnsDirectory } from '../netns/netns.js';
import { ensureIsolated } from './isolation.js';
import { UPSTREAM, linkUpstream } from './upstream.js';

const SOCKET = DEFAULT_SOCKET;
const NETWORKS = [
  { name: 'front', subnet: '10.10.1.0/24' },
  { name: 'back', subnet: '10.10.2.0/24' },
];
/** web serves a page on port 80, published on the host's port 8080. */
const WEB_COMMAND = ['sh', '-c', 'mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www'];
const CONTAINERS: { name: string; network: string; command?: string[]; publish?: RunBody['publish'] }[] = [
  { name: 'web', network: 'front', command: WEB_COMMAND, publish: [{ protocol: 'tcp', containerPort: 80, hostPort: 8080 }] },
  { name: 'app', network: 'front' },
  { name: 'db', network: 'back' },
];

/** GET url from inside the upstream namespace (node's own client, through nsenter): the body, or undefined. */
function fetchFromUpstream(url: string): Promise<string | undefined> {
  const script = `require('http').get(${JSON.stringify(url)},(r)=>{let b='';r.on('data',(d)=>b+=d);r.on('end',()=>{process.stdout.write(b);process.exit(0)})}).on('error',()=>process.exit(1));setTimeout(()=>process.exit(2),3000)`;
  return new Promise((resolve) => {
    const child = spawn('nsenter', ['--net=/run/netns/upstream', '--', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
    let body = '';
    child.stdout.on('data', (d: Buffer) => (body += d.toString()));
    child.on('close', (code) => resolve(code === 0 ? body.trim() : undefined));
  });
}

export interface DemoOptions {
  readonly out: (line: string) => void;
}

/** The lab's upstream namespace, linked to this (isolated) host namespace. */
async function buildUpstream(): Promise<void> {
  const upstream = new NetnsDirectory('/run/netns').create('upstream');
  const host = Handle.open();
  const up = Handle.open(upstream);
  try {
    await linkUpstream(host, up, upstream);
  } finally {
    host.close();
    up.close();
  }
}

async function waitForDaemon(client: TsnetClient, daemon: ChildProcess): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (daemon.exitCode !== null) throw new Error(`the daemon exited with code ${daemon.exitCode}`);
    try {
      await client.call('GET', '/v1/version');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('the daemon did not answer within 10 s');
}

interface Check {
  readonly what: string;
  readonly expected: boolean;
  readonly got: boolean;
}

/** Networks and containers made, what reaches what checked and printed, then everything removed again. */
async function exercise(client: TsnetClient, out: (line: string) => void): Promise<Check[]> {
  out('- building the busybox image');
  await client.call('POST', '/v1/images/busybox', {});
  for (const n of NETWORKS) {
    await client.call<NetworkView>('POST', '/v1/networks', n satisfies NetworkCreate);
    out(`- network ${n.name} (${n.subnet})`);
  }
  const info: ContainerView[] = [];
  for (const c of CONTAINERS) {
    const run: RunBody = {
      image: 'busybox',
      name: c.name,
      networks: [c.network],
      command: c.command ?? ['sleep', '3600'],
      ...(c.publish ? { publish: c.publish } : {}),
    };
    info.push(await client.call<ContainerView>('POST', '/v1/containers', run));
    out(`- container ${c.name} on ${c.network}${c.publish ? ', its port 80 published on the host as 8080' : ''}`);
  }
  const ip = (name: string): string => addressOf(Object.values(info.find((c) => c.name === name)!.networks)[0]!.ipv4!);
  const ping = async (from: string, to: string): Promise<boolean> => {
    const r = await client.call<ExecResult>('POST', `/v1/containers/${from}/exec`, { command: ['ping', '-c', '1', '-W', '1', to] } satisfies ExecBody);
    return r.exitCode === 0;
  };
  const lookup = async (from: string, name: string): Promise<string | undefined> => {
    const r = await client.call<ExecResult>('POST', `/v1/containers/${from}/exec`, { command: ['nslookup', '-type=a', name] } satisfies ExecBody);
    return /^Name:\s+\S+\nAddress: (\S+)/mu.exec(r.stdout)?.[1];
  };
  const page = await fetchFromUpstream(`http://${UPSTREAM.host}:8080/`);
  const checks: Check[] = [
    { what: `web -> app (${ip('app')}), same network`, expected: true, got: await ping('web', ip('app')) },
    { what: `app -> web (${ip('web')}), same network`, expected: true, got: await ping('app', ip('web')) },
    { what: `web -> db (${ip('db')}), other network`, expected: false, got: await ping('web', ip('db')) },
    { what: `db -> app (${ip('app')}), other network`, expected: false, got: await ping('db', ip('app')) },
    { what: `web -> upstream ${UPSTREAM.server}, through NAT`, expected: true, got: await ping('web', UPSTREAM.server) },
    { what: `db -> upstream ${UPSTREAM.server}, through NAT`, expected: true, got: await ping('db', UPSTREAM.server) },
    { what: `app finds web by name (embedded DNS: web is ${ip('web')})`, expected: true, got: (await lookup('app', 'web')) === ip('web') },
    { what: 'db cannot find web by name (another network)', expected: false, got: (await lookup('db', 'web')) !== undefined },
    { what: `upstream -> http://${UPSTREAM.host}:8080/, published port of web ("${page ?? ''}")`, expected: true, got: page === 'hello from web' },
  ];
  out('');
  out('container  network  address         mac');
  for (const c of info)
    for (const [n, e] of Object.entries(c.networks)) out(`${c.name.padEnd(9)}  ${n.padEnd(7)}  ${(e.ipv4 ?? '-').padEnd(14)}  ${e.mac ?? '-'}`);
  out('');
  for (const c of checks) out(`${c.got === c.expected ? 'ok  ' : 'FAIL'}  ${c.what}: ${c.got ? 'reached' : 'not reached'}`);
  out(`  (the upstream has no route back to ${NETWORKS.map((n) => n.subnet).join(' or ')}: replies come back only through NAT)`);
  out('');
  out('cleaning up: containers, networks, image, daemon');
  for (const c of CONTAINERS) await client.call('DELETE', `/v1/containers/${c.name}?force=true`);
  for (const n of NETWORKS) await client.call('DELETE', `/v1/networks/${n.name}`);
  await client.call('DELETE', '/v1/images/busybox');
  return checks;
}

/** Interfaces and namespaces left in the demo's namespace after the daemon has gone. */
async function leftovers(): Promise<string[]> {
  const host = Handle.open();
  try {
    const links = (await host.linkList()).map((l) => l.name).filter((n) => !['lo', 'uplink0'].includes(n));
    return [...links, ...(existsSync(DEFAULT_NETNS_DIR) ? readdirSync(DEFAULT_NETNS_DIR) : [])];
  } finally {
    host.close();
  }
}

export async function runDemo(options: DemoOptions): Promise<number> {
  ensureIsolated();
  const { out } = options;
  const cli = fileURLToPath(new URL('../cli/tsnet.cjs', import.meta.url));
  const client = new TsnetClient(`unix://${SOCKET}`);

  out('tsnet demo: everything below happens inside a throwaway network namespace');
  out('- upstream namespace playing the internet at 203.0.113.10');
  await buildUpstream();
  out('- starting the tsnet daemon');
  // The lab's resolvers: the upstream's address (nothing answers there; the demo looks up only container names).
  writeFileSync('/run/tsnet-demo-resolv.conf', `nameserver ${UPSTREAM.server}\n`);
  const daemon = spawn(
    process.execPath,
    [cli, 'daemon', '--root', '/run/tsnet-demo', '--socket', SOCKET, '--bridge', 'none', '--resolv-conf', '/run/tsnet-demo-resolv.conf'],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  const daemonErr: string[] = [];
  daemon.stderr?.on('data', (d: Buffer) => daemonErr.push(d.toString()));
  let checks: Check[];
  try {
    await waitForDaemon(client, daemon);
    checks = await exercise(client, out);
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode !== null ? r(undefined) : daemon.once('exit', r)));
  }
  if (daemon.exitCode !== 0) out(`the daemon ended with code ${daemon.exitCode}: ${daemonErr.join('').trim()}`);
  const left = await leftovers();
  out(left.length === 0 ? 'nothing left behind: no interface, no namespace' : `left behind: ${left.join(', ')}`);
  const failed = checks.filter((c) => c.got !== c.expected).length + (left.length === 0 ? 0 : 1) + (daemon.exitCode === 0 ? 0 : 1);
  out(failed === 0 ? 'demo passed' : `demo failed: ${failed} check(s) did not pass`);
  return failed === 0 ? 0 : 1;
}
