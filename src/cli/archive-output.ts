/** Where an archive the daemon sends goes (save, export): to -o FILE, or to stdout when that is not a terminal. */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { ClientError, type TsnetClient } from '../client/client.js';

export async function downloadArchive(client: TsnetClient, path: string, output: string | undefined): Promise<void> {
  if (!output && process.stdout.isTTY) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'refusing to write an archive to a terminal: redirect it or use -o');
  const out: Writable = output ? createWriteStream(output) : process.stdout;
  await client.stream(path, (chunk) => out.write(chunk));
  if (output) await new Promise<void>((resolve) => out.end(resolve));
}
