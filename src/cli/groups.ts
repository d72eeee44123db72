/**
 * The CLI's command groups and the top-level words each defines, so that a command line defines only the group it
 * names: defining all of tsnet's commands costs a client command about a tenth of its start. A line whose word is
 * none of these (help, a typo) defines them all, so that help and commander's suggestions see every command.
 * test/unit/cli/groups.test.ts checks the words against what each group really defines.
 */
import { registerContainerCommands } from './commands/container.js';
import { registerDaemonCommands } from './commands/daemon.js';
import { registerImageCommands } from './commands/image.js';
import { registerLabCommands } from './commands/lab.js';
import { registerNetworkCommands } from './commands/network.js';
import { registerSystemCommands } from './commands/system.js';
import { registerVolumeCommands } from './commands/volume.js';
import type { Cli } from './context.js';

export interface CommandGroup {
  readonly words: readonly string[];
  readonly register: (cli: Cli) => void;
}

/** In the order help lists them. */
export const COMMAND_GROUPS: readonly CommandGroup[] = [
  { words: ['daemon', 'demo'], register: registerDaemonCommands },
  { words: ['doctor', 'version', 'info'], register: registerSystemCommands },
  { words: ['network'], register: registerNetworkCommands },
  { words: ['image', 'pull', 'push', 'login', 'logout', 'export', 'commit'], register: registerImageCommands },
  { words: ['volume'], register: registerVolumeCommands },
  {
    words: [
      'port',
      'run',
      'ps',
      'attach',
      'exec',
      'logs',
      'inspect',
      'create',
      'start',
      'stop',
      'restart',
      'kill',
      'wait',
      'pause',
      'unpause',
      'rm',
      'connect',
      'disconnect',
    ],
    register: registerContainerCommands,
  },
  { words: ['lab'], register: registerLabCommands },
];

/** The program's own options that take a value: the word after them is not the command's. */
const VALUE_OPTIONS = new Set(['-H', '--host']);

/** The command's word of a command line (the arguments after the program's path), if it has one. */
export function commandWord(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return args[i + 1];
    if (VALUE_OPTIONS.has(arg)) i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** The groups a command line needs: the one defining its word, else all of them. */
export function groupsFor(args: readonly string[]): readonly CommandGroup[] {
  const word = commandWord(args);
  const group = word === undefined ? undefined : COMMAND_GROUPS.find((g) => g.words.includes(word));
  return group ? [group] : COMMAND_GROUPS;
}
