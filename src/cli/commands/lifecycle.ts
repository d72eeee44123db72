/** `tsnet create/start/stop/restart/kill/wait/pause/unpause/rm`, and `connect`/`disconnect` as short forms, as Docker's. */
import { constants } from 'node:os';
import type { ContainerView, KillBody, StartBody, StopBody, WaitResult } from '../../api/containers.js';
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
 * Containers acted on at once by one command. Docker's CLI sends 50 at a time; tsnet's daemon does the requests that
 * arrive together as one batch (one kill pass, one wait, one netlink teardown), so a second wave of 50 costs a second
 * batch: 100 containers removed by one `rm -f` took 535 ms in two waves, against 301 ms for 100 requests at once.
 * With 128 at a time, 1,000 took 6.0-6.6 s (their removals trickling in as batches of a few); with 512, 5.2 s. More
 * would pass the daemon's listen backlog (511) and, near 1,000, the 1,024 descriptors a process gets by default.
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
  if (failures.length === 1) throw failures[0];
  if (failures.length > 1) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', failures.map((e) => (e as Error).message).join('; '));
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
      .action(async (refs: string[], o: { time?: number }) => {
        const body: StopBody = o.time !== undefined ? { timeout: o.time } : {};
        const doing = `${name === 'stop' ? 'stopping' : 'restarting'} ${refs.length === 1 ? refs[0] : `${refs.length} containers`}`;
        await withProgress(
          doing,
          eachContainer(refs, (r) => cli.client().call('POST', containerPath(r, `/${name}`), body)),
        );
      });
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
      eachContainer(refs, (r) => cli.client().call('DELETE', containerPath(r, o.force ? '?force=true' : ''))),
    );
}

export function registerLifecycle(cli: Cli): void {
  registerCreateStart(cli);
  registerStopKill(cli);
  addConnectCommands(cli.program, cli);
}
