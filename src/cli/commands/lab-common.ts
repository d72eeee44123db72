/** What `lab deploy` and `lab run` share: the files read as the API takes them, and calls that stream progress. */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { LabDeployBody, LabView } from '../../api/labs.js';
import { ClientError } from '../../client/client.js';
import type { Cli } from '../context.js';

export const read = (path: string, what: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `cannot read the ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
};

/** NAME.tsnet.yml beside NAME.clab.yml (or NAME.yml). */
export const companionPath = (file: string): string => join(dirname(file), `${basename(file).replace(/(\.clab)?\.ya?ml$/u, '')}.tsnet.yml`);

/** The topology and its companion as the API takes them, with the client's values of the variables they name. */
export function filesBody(file: string, withFile: string | undefined): Pick<LabDeployBody, 'topology' | 'file' | 'dir' | 'companion' | 'env'> {
  const topology = read(file, 'topology file');
  const companionFile = withFile ?? (existsSync(companionPath(file)) ? companionPath(file) : undefined);
  const companion = companionFile ? read(companionFile, 'companion file') : undefined;
  const names = new Set([...`${topology}\n${companion ?? ''}`.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/gu)].map((m) => m[1]!));
  const env = Object.fromEntries([...names].flatMap((n) => (process.env[n] !== undefined ? [[n, process.env[n]!]] : [])));
  return { topology, file, dir: dirname(resolve(file)), ...(companion !== undefined ? { companion } : {}), env };
}

/** A call whose answer is NDJSON: progress lines shown on the terminal as they come, then the result (under key) or an error. */
export async function withProgressLines<T>(cli: Cli, path: string, body: unknown, key: string): Promise<T> {
  let pending = '';
  let result: T | undefined;
  let failure: ClientError | undefined;
  await cli.client().stream(
    path,
    (chunk) => {
      pending += chunk.toString();
      for (let nl = pending.indexOf('\n'); nl !== -1; nl = pending.indexOf('\n')) {
        const event = JSON.parse(pending.slice(0, nl)) as Record<string, unknown> & { progress?: string; error?: { code: string; message: string } };
        pending = pending.slice(nl + 1);
        if (event.progress) process.stderr.write(`\r\x1b[K${event.progress}`);
        if (event[key] !== undefined) result = event[key] as T;
        if (event.error) failure = new ClientError(event.error.code, event.error.message);
      }
    },
    { method: 'POST', body },
  );
  process.stderr.write('\r\x1b[K');
  if (failure || result === undefined) throw failure ?? new ClientError('TSNET_ERR_INTERNAL', 'the daemon ended without an answer');
  return result;
}

/** Deploys, with progress on a terminal. */
export const deploy = (cli: Cli, body: LabDeployBody, json: boolean): Promise<LabView> =>
  process.stderr.isTTY && !json ? withProgressLines<LabView>(cli, '/v1/labs?progress=true', body, 'lab') : cli.client().call<LabView>('POST', '/v1/labs', body);
