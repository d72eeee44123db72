/** `tsnet create/start/stop/restart/kill/wait/pause/unpause/rm`, and `connect`/`disconnect` as short forms, as Docker's. */
import { constants } from 'node:os';
import type { ContainerView, KillBody, ManyResults, RemoveManyBody, StartBody, StopBody, StopManyBody, WaitResult } from '../../api/containers.js';
import { MANY_AT_ONCE } from '../../api/defaults.js';
import { ClientError } from '../../client/client.js';
import { mapLimit } from '../../lib/map-limit.js';
import type { Cli } from '../context.js';
import { CliFailure, runExitStatus } from '../errors.js';
import { withProgress } from '../format.js';
import { addConnectCommands } from './network.js';
import { ensureImage } from '../image-pull.js';
import { addContainerOptions, runRequest, type RunFlags } from './run-options.js';
import { attachTo, containerPath } from './streams.js';

/** Docker's -s: KILL, SIGKILL or 9. */
function signalName(value: string): string {
  const upper = value.toUpperCase();
  const name = /^\d+$/u.test(value)
    ? Object.entries(constants.signals).find(([, n]) => n === Number(value))?.[0]
    : upper.startsWith('SIG')
      ? upper
      : `SIG${upper}`;
  if (!name || !(name in constants.signals)) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid signal "${value}"`);
  return name;
}

/**
 * Requests in flight at once for commands that act on many containers one request each (start, kill, pause; stop
 * and rm send requests on many, see manyContainers). The daemon does the requests that arrive together as one batch;
 * 512 stays under its listen backlog (511 waiting) and, near 1,000, the 1,024 descriptors a process gets by default.
 */
const PARALLEL = 512;

/**
 * Runs fn for each container, as Docker's CLI: side by side (the daemon then removes or stops them together), each
 * name printed when it and those before it are done, in the order given; the failures said and the status 1.
 */
async function eachContainer(
  refs: readonly string[],
  fn: (ref: string) => Promise<unknown>,
  options: { print?: boolean; parallel?: boolean } = {},
): Promise<void> {
  const { print = true, parallel = true } = options;
  const done: (unknown[] | undefined)[] = [];
  let printed = 0;
  const failures: unknown[] = [];
  const flush = (): void => {
    for (; printed < refs.length && done[printed]; printed++) {
      const [err] = done[printed]!;
      if (err !== undefined) failures.push(err);
      else if (print) console.log(refs[printed]);
    }
  };
  await mapLimit(refs, parallel ? PARALLEL : 1, async (r, i) => {
    done[i] = await fn(r).then(
      () => [undefined],
      (err: unknown) => [err ?? new Error(`${r}: failed`)],
    );
    flush();
  });
  throwFailures(failures);
}

/** One failure as it is; several as one error that says them all. */
function throwFailures(failures: readonly unknown[]): void {
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', failures.map((e) => (e as Error).message).join('; '));
}

/**
 * Stops or removes several containers with requests on many (MANY_AT_ONCE each): the daemon kills them together and
 * deletes their sandboxes in one teardown, where a request each would reach it one by one over the command's own
 * sending (about a millisecond each) and be torn down in waves. Prints the names done in the order given; the
 * failures are said as eachContainer says them. One container keeps its single route.
 */
async function manyContainers(refs: readonly string[], one: (ref: string) => Promise<unknown>, many: (refs: string[]) => Promise<ManyResults>): Promise<void> {
  if (refs.length === 1) return eachContainer(refs, one);
  const failures: unknown[] = [];
  for (let i = 0; i < refs.length; i += MANY_AT_ONCE) {
    for (const r of (await many(refs.slice(i, i + MANY_AT_ONCE))).results) {
      if (r.error) failures.push(new ClientError(r.error.code, r.error.message));
      else console.log(r.container);
    }
  }
  throwFailures(failures);
}

function registerCreateStart(cli: Cli): void {
  const create = cli.program.command('create').description('create a container without starting it').argument('<image>').argument('[command...]');
  addContainerOptions(create)
    .passThroughOptions()
    .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 125))
    .action(async (image: string, command: string[], o: RunFlags) => {
      const c = cli.client();
      const created = await ensureImage(c, image, o.pull)
        .then(() => c.call<ContainerView>('POST', '/v1/containers/create', runRequest(image, command, o)))
        .catch((err: unknown) => {
          throw err instanceof ClientError ? new CliFailure(err, runExitStatus(err)) : err;
        });
      console.log(created.id);
    });

  cli.program
    .command('start')
    .description('start created or stopped containers')
    .argument('<container...>')
    .option('-a, --attach', "attach this terminal to the container's streams")
    .option('-i, --interactive', 'pass stdin (with -a)')
    .option('--detach-keys <keys>', 'the keys that detach, leaving the container running', 'ctrl-p,ctrl-q')
    .action(async (refs: string[], o: { attach?: boolean; interactive?: boolean; detachKeys: string }) => {
      if (!o.attach) return eachContainer(refs, (r) => cli.client().call('POST', containerPath(r, '/start'), {}));
      if (refs.length !== 1) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', 'start -a takes one container');
      const before = await cli.client().call<ContainerView>('GET', containerPath(refs[0]!));
      const size = before.tty && process.stdout.isTTY && process.stdout.rows ? { ttySize: { rows: process.stdout.rows, cols: process.stdout.columns } } : {};
      const body: StartBody = { attach: true, ...size };
      const view = await cli.client().call<ContainerView>('POST', containerPath(refs[0]!, '/start'), body);
      await attachTo(cli, view, { detachKeys: o.detachKeys, sigProxy: true, stdin: o.interactive === true && view.openStdin === true, tty: view.tty === true });
    });
}

/** stop (several: in requests on many) and restart (a request each). */
function stopAction(cli: Cli, name: 'stop' | 'restart'): (refs: string[], o: { time?: number }) => Promise<void> {
  return async (refs, o) => {
    const body: StopBody = o.time !== undefined ? { timeout: o.time } : {};
    const doing = `${name === 'stop' ? 'stopping' : 'restarting'} ${refs.length === 1 ? refs[0] : `${refs.length} containers`}`;
    const one = (r: string): Promise<unknown> => cli.client().call('POST', containerPath(r, `/${name}`), body);
    const many = (chunk: string[]): Promise<ManyResults> =>
      cli.client().call<ManyResults>('POST', '/v1/containers/stop', { containers: chunk, ...body } satisfies StopManyBody);
    await withProgress(doing, name === 'stop' ? manyContainers(refs, one, many) : eachContainer(refs, one));
  };
}

function registerStopKill(cli: Cli): void {
  for (const [name, what] of [
    ['stop', 'stop containers: their stop signal (SIGTERM), then SIGKILL after the timeout'],
    ['restart', 'stop and start containers again'],
  ] as const) {
    cli.program
      .command(name)
      .description(what)
      .argument('<container...>')
      .option('-t, --time <seconds>', "seconds to wait before killing (default: the container's --stop-timeout, or 10)", (v) => Number(v))
      .action(stopAction(cli, name));
  }

  cli.program
    .command('kill')
    .description('send a signal to containers (default SIGKILL)')
    .argument('<container...>')
    .option('-s, --signal <signal>', 'the signal: a name (KILL, SIGHUP) or a number', 'KILL')
    .action(async (refs: string[], o: { signal: string }) => {
      const body: KillBody = { signal: signalName(o.signal) };
      await eachContainer(refs, (r) => cli.client().call('POST', containerPath(r, '/kill'), body));
    });

  cli.program
    .command('wait')
    .description('wait for containers to end and print their exit statuses')
    .argument('<container...>')
    .action(async (refs: string[]) => {
      await eachContainer(refs, async (r) => console.log((await cli.client().call<WaitResult>('POST', containerPath(r, '/wait'))).exitCode ?? -1), {
        print: false,
        parallel: false,
      });
    });

  for (const [name, what] of [
    ['pause', 'freeze every process of containers'],
    ['unpause', 'thaw paused containers'],
  ] as const) {
    cli.program
      .command(name)
      .description(what)
      .argument('<container...>')
      .action(async (refs: string[]) => eachContainer(refs, (r) => cli.client().call('POST', containerPath(r, `/${name}`))));
  }

  cli.program
    .command('rm')
    .description('remove containers')
    .argument('<container...>')
    .option('-f, --force', 'kill a running container first')
    .action(async (refs: string[], o: { force?: boolean }) =>
      manyContainers(
        refs,
        (r) => cli.client().call('DELETE', containerPath(r, o.force ? '?force=true' : '')),
        (chunk) => cli.client().call<ManyResults>('POST', '/v1/containers/remove', { containers: chunk, force: o.force === true } satisfies RemoveManyBody),
      ),
    );
}

export function registerLifecycle(cli: Cli): void {
  registerCreateStart(cli);
  registerStopKill(cli);
  addConnectCommands(cli.program, cli);
}
