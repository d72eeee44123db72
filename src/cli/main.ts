#!/usr/bin/env node
/**
 * The `tsnet` command. It loads as little as it can: each command imports its module only when it runs.
 * Errors print one line (`tsnet: ...`) and exit non-zero; --debug adds the stack.
 */
import { Command } from 'commander';

const program = new Command();
program
  .name('tsnet')
  .description("A container network manager implementing Docker's Container Network Model")
  .version('0.1.0')
  .option('--debug', 'print stack traces of errors');

program
  .command('demo')
  .description('build a small topology in a throwaway namespace, ping across it, and clean up')
  .action(async () => {
    const { runDemo } = await import('../lab/demo.js');
    process.exitCode = await runDemo({ out: (line) => console.log(line) });
  });

try {
  await program.parseAsync(process.argv);
} catch (err) {
  const debug = program.opts<{ debug?: boolean }>().debug === true;
  console.error(`tsnet: ${err instanceof Error ? err.message : String(err)}`);
  if (debug && err instanceof Error && err.stack) console.error(err.stack);
  process.exitCode = 1;
}
