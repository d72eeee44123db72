/**
 * Real packets between namespaces: a one-shot server (node, in the server's namespace through nsenter) and a client
 * in another; the answer is the source address the server saw, or undefined when nothing arrived.
 */
import { spawn } from 'node:child_process';
import type { NetNs } from '../../src/netns/netns.js';
import type { Lab } from './lab.js';

export interface ProbeTarget {
  readonly address: string;
  readonly port: number;
}

export type Protocol = 'tcp' | 'udp';

const serverScript = (proto: Protocol, listen: ProbeTarget): string =>
  proto === 'tcp'
    ? `const s=require('net').createServer(c=>{console.log(c.remoteAddress);c.end();s.close()});s.listen(${listen.port},'${listen.address}',()=>console.log('ready'));setTimeout(()=>process.exit(2),8000).unref()`
    : `const s=require('dgram').createSocket('${listen.address.includes(':') ? 'udp6' : 'udp4'}');s.on('message',(m,r)=>{console.log(r.address);s.send('ok',r.port,r.address,()=>s.close())});s.bind(${listen.port},'${listen.address}',()=>console.log('ready'));setTimeout(()=>process.exit(2),8000).unref()`;

const clientScript = (proto: Protocol, to: ProbeTarget): string =>
  proto === 'tcp'
    ? `require('net').connect(${to.port},'${to.address}').on('connect',function(){this.end()}).on('error',()=>process.exit(1));setTimeout(()=>process.exit(3),3000).unref()`
    : `const c=require('dgram').createSocket('${to.address.includes(':') ? 'udp6' : 'udp4'}');c.on('message',()=>{c.close()});c.send('hi',${to.port},'${to.address}');setTimeout(()=>process.exit(3),3000).unref()`;

/**
 * Listens in server on listen, connects (or sends a datagram and waits for the reply) from client to `to`, and
 * returns the client address the server saw.
 */
export async function probe(l: Lab, proto: Protocol, server: NetNs, client: NetNs, listen: ProbeTarget, to: ProbeTarget = listen): Promise<string | undefined> {
  const child = spawn('nsenter', [`--net=${server.path}`, '--', process.execPath, '-e', serverScript(proto, listen)]);
  const lines: string[] = [];
  let onLine: () => void = () => undefined;
  child.stdout.on('data', (d: Buffer) => {
    lines.push(...d.toString().trim().split('\n'));
    onLine();
  });
  const waitFor = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => (lines.length >= n ? resolve() : undefined);
      onLine = check;
      child.on('close', () => resolve());
      check();
    });
  await waitFor(1);
  try {
    await l.exec(client, process.execPath, ['-e', clientScript(proto, to)]);
  } catch {
    child.kill();
    return undefined;
  }
  await waitFor(2);
  child.kill();
  return lines[1];
}

/** Opens a TCP connection from client to server:port and returns the source address the server saw. */
export const tcpProbe = (l: Lab, server: NetNs, client: NetNs, address: string, port: number): Promise<string | undefined> =>
  probe(l, 'tcp', server, client, { address, port });

/** Whether a TCP or UDP port can be bound in ns now (it cannot while tsnet holds it). */
export async function canBind(l: Lab, ns: NetNs, proto: Protocol, port: number, address = '0.0.0.0'): Promise<boolean> {
  const script =
    proto === 'tcp'
      ? `require('net').createServer().on('error',()=>process.exit(1)).listen(${port},'${address}',function(){this.close()})`
      : `require('dgram').createSocket('udp4').on('error',()=>process.exit(1)).bind(${port},'${address}',function(){this.close()})`;
  return l.exec(ns, process.execPath, ['-e', script]).then(
    () => true,
    () => false,
  );
}

/** Whether a datagram sent from client to `to` reaches a server listening in server on listen (no reply needed). */
export async function udpArrives(l: Lab, server: NetNs, client: NetNs, listen: ProbeTarget, to: ProbeTarget): Promise<boolean> {
  const script = `const s=require('dgram').createSocket('udp4');s.on('message',()=>{console.log('got');process.exit(0)});s.bind(${listen.port},'${listen.address}',()=>console.log('ready'));setTimeout(()=>process.exit(2),1500).unref()`;
  const child = spawn('nsenter', [`--net=${server.path}`, '--', process.execPath, '-e', script]);
  let out = '';
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d: Buffer) => ((out += d.toString()), out.includes('ready') && resolve())));
  const done = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await ready;
  await l
    .exec(client, process.execPath, ['-e', `const c=require('dgram').createSocket('udp4');c.send('x',${to.port},'${to.address}',()=>c.close())`])
    .catch(() => undefined);
  await done;
  return out.includes('got');
}
