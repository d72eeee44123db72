/** A sandbox's /etc/hosts, rewritten from its endpoints' addresses and aliases whenever they change. */
import type { CnmCore } from '../core.js';
import type { LiveSandbox } from '../state.js';
import { hostsFile } from './files.js';

export function writeHosts(core: CnmCore, sandbox: LiveSandbox): void {
  const eps = core.state.joinedTo(sandbox.record.id);
  const addresses = eps.flatMap((e) => [e.ipv4, e.ipv6].filter((a): a is string => !!a));
  core.files.writeHosts(
    sandbox.record.id,
    hostsFile(
      sandbox.record.hostname,
      addresses,
      eps.flatMap((e) => e.aliases),
      sandbox.record.extraHosts ?? [],
    ),
  );
}
