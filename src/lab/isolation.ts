/**
 * Runs the current program inside a throwaway network and mount namespace, so that demos, benchmarks and labs can
 * build whatever they like without touching the machine's own network. The process re-executes itself under
 * `unshare --net --mount --propagation private`: its namespace is the lab's "host", a private tmpfs on /run holds
 * the lab's named namespaces (so `ip -n NAME` works), and everything vanishes with the process, even on a crash.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { TsnetError } from '../errors.js';

const MARK = 'TSNET_ISOLATED';

/** Whether this process already runs in its own throwaway namespaces. */
export const isIsolated = (): boolean => process.env[MARK] === '1';

/**
 * In the parent: re-runs this very command isolated, waits, and exits with its code (never returns).
 * In the isolated child: mounts the private /run and returns.
 */
export function ensureIsolated(): void {
  if (isIsolated()) {
    // -n: libmount must not create /run/mount/utab, which would land on the host's /run before ours covers it.
    const r = spawnSync('mount', ['-n', '-t', 'tmpfs', '-o', 'mode=755', 'tsnet-lab', '/run'], { stdio: 'inherit' });
    if (r.status !== 0) throw new TsnetError('TSNET_ERR_NETNS', 'isolation: cannot mount a private /run in the lab namespace');
    mkdirSync('/run/netns', { recursive: true });
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', 'this command needs root: it creates network namespaces (run it with sudo)');
  }
  const r = spawnSync('unshare', ['--net', '--mount', '--propagation', 'private', '--', process.execPath, ...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, [MARK]: '1' },
  });
  if (r.error) throw new TsnetError('TSNET_ERR_NETNS', `isolation: cannot run unshare (${r.error.message}): install util-linux`);
  process.exit(r.status ?? (r.signal ? 128 + 1 : 1));
}
