// Runs a command (the test suite) and proves that it left the host's own network as it found it: `ip -j link`,
// `ip -j route`, `iptables-save` and `nft list ruleset` (counters left out) of the host namespace are recorded before and compared after. A difference
// fails the run, whatever the command's own result. Counters and timestamps are left out: they move by themselves.
import { execFileSync, spawnSync } from 'node:child_process';

function read(command, args) {
  try {
    return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return `(${command} unavailable)\n`;
  }
}

function snapshot() {
  let links;
  try {
    links = JSON.parse(read('ip', ['-j', 'link']))
      .map((l) => `${l.ifname} ${l.flags.join(',')} mtu ${l.mtu} ${l.address ?? ''} ${l.master ?? ''}`)
      .join('\n');
  } catch {
    links = '(ip unavailable)';
  }
  const routes = read('ip', ['-j', 'route', 'show', 'table', 'all']) + read('ip', ['-j', '-6', 'route', 'show', 'table', 'all']);
  const rules = (command) =>
    read(command, [])
      .split('\n')
      .filter((line) => !line.startsWith('#'))
      .map((line) => line.replace(/\[\d+:\d+\]/g, ''))
      .join('\n');
  const nft = read('nft', ['list', 'ruleset']).replace(/counter packets \d+ bytes \d+/g, 'counter');
  return `links:\n${links}\nroutes:\n${routes}\nrules:\n${rules('iptables-save')}\nip6 rules:\n${rules('ip6tables-save')}\nnftables:\n${nft}`;
}

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-host-guard.mjs COMMAND [ARGS...]');
  process.exit(2);
}
const before = snapshot();
const result = spawnSync(command, args, { stdio: 'inherit' });
const after = snapshot();
if (after !== before) {
  console.error("host guard: the run changed the host's own network namespace.");
  const a = before.split('\n');
  const b = after.split('\n');
  for (const line of a) if (!b.includes(line)) console.error(`  - ${line}`);
  for (const line of b) if (!a.includes(line)) console.error(`  + ${line}`);
  process.exit(1);
}
console.error('host guard: the host network namespace is unchanged (links, routes, iptables, ip6tables and nftables rules)');
process.exit(result.status ?? 1);
