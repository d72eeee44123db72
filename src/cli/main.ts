#!/usr/bin/env node
/**
 * The `tsnet` command. It loads as little as it can: the client commands talk only to the daemon's client, and
 * `tsnet daemon` and `tsnet demo` import their modules only when they run. Errors print one line
 * (`tsnet: MESSAGE (CODE)`) and exit non-zero; --debug adds the stack.
 */
import { Command } from 'commander';
import { TSNET_VERSION } from '../version.js';
import { cliContext } from './context.js';
import { errorLine, exitStatusOf, stackOf } from './errors.js';
import { groupsFor } from './groups.js';

async function main(): Promise<void> {
  const program = new Command();
  program
    .name('tsnet')
    .description("A container network manager implementing Docker's Container Network Model")
    .version(TSNET_VERSION, '-v, --version')
    .option('-H, --host <url>', 'the daemon to talk to (default: $TSNET_HOST, else unix:///run/tsnet/tsnet.sock)')
    .option('--debug', 'print stack traces of errors')
    // Options after a container's command belong to the command (tsnet exec c1 ping -c 1 ...).
    .enablePositionalOptions();
  const cli = cliContext(program);
  for (const group of groupsFor(process.argv.slice(2))) group.register(cli);
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    console.error(errorLine(err));
    const stack = stackOf(err);
    if (program.opts<{ debug?: boolean }>().debug === true && stack) console.error(stack);
    process.exitCode = exitStatusOf(err);
  }
}

void main();
