/** What every command group is given: a client for the daemon chosen by --host / TSNET_HOST. */
import type { Command } from 'commander';
import { TsnetClient, resolveHost } from '../client/client.js';

export interface Cli {
  readonly program: Command;
  client(): TsnetClient;
}

export function cliContext(program: Command): Cli {
  return { program, client: () => new TsnetClient(resolveHost(program.opts<{ host?: string }>().host)) };
}

/** Collects a repeatable option. */
export const collect = (value: string, previous: string[] = []): string[] => [...previous, value];
