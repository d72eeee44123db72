/** The CLI defines only the group a command line names: each group's words are what it really defines. */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMAND_GROUPS, commandWord, groupsFor } from '../../../src/cli/groups.js';

/** The top-level words (names and aliases) a group defines on a program of its own. */
function wordsDefinedBy(register: (typeof COMMAND_GROUPS)[number]['register']): string[] {
  const program = new Command().enablePositionalOptions();
  register({ program, client: () => expect.unreachable('no command runs here') });
  return program.commands.flatMap((c) => [c.name(), ...c.aliases()]);
}

describe('command groups', () => {
  it('name exactly the words each group defines, and no word twice', () => {
    for (const group of COMMAND_GROUPS) expect(new Set(group.words)).toEqual(new Set(wordsDefinedBy(group.register)));
    const all = COMMAND_GROUPS.flatMap((g) => g.words);
    expect(new Set(all).size).toBe(all.length);
  });

  it("find a command line's word past the program's own options", () => {
    expect(commandWord(['version'])).toBe('version');
    expect(commandWord(['--host', 'unix:///x.sock', 'network', 'ls'])).toBe('network');
    expect(commandWord(['-H', 'unix:///x.sock', '--debug', 'rm', '-f', 'c1'])).toBe('rm');
    expect(commandWord(['--host=unix:///x.sock', 'ps'])).toBe('ps');
    expect(commandWord(['--help'])).toBeUndefined();
    expect(commandWord([])).toBeUndefined();
  });

  it('define one group for a known word, and every group for help, no word or an unknown one', () => {
    expect(groupsFor(['network', 'ls']).map((g) => g.words[0])).toEqual(['network']);
    expect(groupsFor(['-H', 'unix:///x.sock', 'stop', 'c1']).map((g) => g.words[0])).toEqual(['port']);
    for (const args of [[], ['--help'], ['help', 'network'], ['netwrk']]) expect(groupsFor(args)).toBe(COMMAND_GROUPS);
  });
});
