/**
 * Debian's docker-registry for the e2e tests, inside a lab namespace on its loopback (where the daemon under test
 * runs): no auth, htpasswd (bcrypt, made with htpasswd -B), or Docker's token auth with the test token service
 * (test/helpers/registry-token-server.ts). Each is stopped by the test that started it; `curl` talks to it raw.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Lab } from './lab.js';

const execFileAsync = promisify(execFile);
export const REGISTRY = '/usr/bin/docker-registry';
export const registryAvailable = (): boolean => existsSync(REGISTRY) && existsSync('/usr/bin/htpasswd');
const TOKEN_SERVER = fileURLToPath(new URL('../../dist/test/helpers/registry-token-server.js', import.meta.url));

export type RegistryAuthMode =
  { kind: 'none' } | { kind: 'htpasswd'; user: string; password: string } | { kind: 'token'; user: string; password: string; tokenPort: number };

export interface Registry {
  /** host:port, as image references name it. */
  readonly address: string;
  /** curl ARGS inside the lab namespace; resolves with stdout. */
  curl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

async function waitForOutput(child: ChildProcess, out: () => string, text: string, what: string): Promise<void> {
  for (let i = 0; i < 200 && !out().includes(text); i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited (${child.exitCode}): ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!out().includes(text)) throw new Error(`${what} did not start: ${out()}`);
}

function spawnIn(lab: Lab, command: string, args: readonly string[]): { child: ChildProcess; out: () => string } {
  const child = spawn('nsenter', [`--net=${lab.host.path}`, '--', command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

const stopChild = (child: ChildProcess): Promise<void> =>
  new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });

/** The auth section of the registry's config, and the token service it needs (started here). */
async function authSection(lab: Lab, dir: string, auth: RegistryAuthMode, children: ChildProcess[]): Promise<string> {
  if (auth.kind === 'none') return '';
  if (auth.kind === 'htpasswd') {
    writeFileSync(join(dir, 'htpasswd'), execFileSync('htpasswd', ['-Bbn', auth.user, auth.password]));
    return `auth:\n  htpasswd:\n    realm: tsnet-test\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const key = join(dir, 'token.key');
  const cert = join(dir, 'token.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=tsnet-test-token'], {
    stdio: 'ignore',
  });
  const token = spawnIn(lab, process.execPath, [
    TOKEN_SERVER,
    String(auth.tokenPort),
    key,
    cert,
    auth.user,
    auth.password,
    'tsnet-test-issuer',
    'tsnet-test-registry',
  ]);
  children.push(token.child);
  await waitForOutput(token.child, token.out, 'token service listening', 'the token service');
  return [
    'auth:',
    '  token:',
    `    realm: http://127.0.0.1:${auth.tokenPort}/token`,
    '    service: tsnet-test-registry',
    '    issuer: tsnet-test-issuer',
    `    rootcertbundle: ${cert}`,
    '',
  ].join('\n');
}

/** Starts a registry on 127.0.0.1:PORT inside the lab's host namespace, its storage under the lab's folder. */
export async function startRegistry(lab: Lab, name: string, port: number, auth: RegistryAuthMode = { kind: 'none' }): Promise<Registry> {
  const dir = join(lab.dir, `registry-${name}`);
  mkdirSync(join(dir, 'data'), { recursive: true });
  await lab.exec(lab.host, 'ip', ['link', 'set', 'lo', 'up']);
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const c of children.reverse()) await stopChild(c);
  };
  try {
    const config = [
      'version: 0.1',
      'log:\n  level: info',
      `storage:\n  filesystem:\n    rootdirectory: ${join(dir, 'data')}`,
      `http:\n  addr: 127.0.0.1:${port}\n  secret: tsnet-test-${name}`,
      await authSection(lab, dir, auth, children),
    ].join('\n');
    writeFileSync(join(dir, 'config.yml'), config);
    const registry = spawnIn(lab, REGISTRY, ['serve', join(dir, 'config.yml')]);
    children.push(registry.child);
    await waitForOutput(registry.child, registry.out, 'listening on', 'docker-registry');
  } catch (err) {
    await stop();
    throw err;
  }
  const address = `127.0.0.1:${port}`;
  return {
    address,
    curl: async (...args) =>
      (await execFileAsync('nsenter', [`--net=${lab.host.path}`, '--', 'curl', '-sS', '--fail-with-body', ...args], { maxBuffer: 64 << 20 })).stdout,
    stop,
  };
}
