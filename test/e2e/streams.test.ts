/**
 * A container's streams end to end, as a person meets them: the real daemon and CLI, a real terminal (tmux) for
 * -it, Ctrl-C, window sizes and the detach keys; pipes for -i; stdout and stderr kept apart in run, exec and logs;
 * exec output arriving while the command runs; attaching again after the daemon restarted.
 */
import { spawn } from 'node:child_process';
import { afterAll, expect, it } from 'vitest';
import { CLI, startDaemon, tsnet, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';
import { Terminal } from '../helpers/terminal.js';

describeKernel('container streams, end to end', () => {
  const env = useBusyboxDaemon();
  const terminals: Terminal[] = [];
  afterAll(() => terminals.forEach((t) => t.close()));

  const cliArgs = (...args: string[]): string[] => [process.execPath, CLI, '--host', `unix://${env.d.socket}`, ...args];
  const terminal = (name: string, ...args: string[]): Terminal => {
    const t = Terminal.open(env.lab.dir, name, cliArgs(...args), { rows: 33, cols: 101 });
    terminals.push(t);
    return t;
  };

  /** The CLI as a child with pipes: what it wrote, as it came, and how it ended. */
  const spawnCli = (...args: string[]) => {
    const child = spawn(cliArgs()[0]!, cliArgs(...args).slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const got = { stdout: '', stderr: '', chunks: [] as string[] };
    child.stdout.on('data', (b: Buffer) => {
      got.stdout += b.toString();
      got.chunks.push(b.toString());
    });
    child.stderr.on('data', (b: Buffer) => (got.stderr += b.toString()));
    const code = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    return { child, got, code };
  };
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
    if (!cond()) throw new Error(`never happened: ${what}`);
  };

  it('run keeps stdout and stderr apart and exits with the status; -i passes piped stdin and its end', async () => {
    const r = await tsnet(env.d, 'run', '--rm', 'busybox', 'sh', '-c', 'echo out; echo err >&2; exit 3');
    expect(r).toEqual({ code: 3, stdout: 'out\n', stderr: 'err\n' });
    const cat = spawnCli('run', '-i', '--rm', 'busybox', 'sh', '-c', 'cat; echo done');
    cat.child.stdin.end('hello\nworld\n');
    expect(await cat.code).toBe(0);
    expect(cat.got.stdout).toBe('hello\nworld\ndone\n');
    expect((await tsnet(env.d, 'ps', '-aq')).stdout).toBe('');
  });

  it('run -it: a prompt, the terminal size, typed commands, Ctrl-C to the foreground job, and the shell status', async () => {
    const t = terminal('it', 'run', '-it', '--rm', '--name', 'tty1', 'busybox', 'sh');
    await t.waitFor(/^\/ # ?$/mu);
    t.keys('stty size; tty', 'Enter');
    // tty's line comes after stty's: wait for both, not for the first alone.
    await t.waitFor(/^33 101\n\/dev\/pts\/0$/mu);
    t.keys('echo sleep""ing; sleep 30; echo after-sleep', 'Enter');
    await t.waitFor(/^sleeping$/mu);
    await new Promise((r) => setTimeout(r, 300));
    t.keys('C-c');
    // Ctrl-C ends the whole command list: a new prompt, and no after-sleep line.
    await t.waitFor(/after-sleep\nsleeping\n(?:.*\n)?\/ # ?$/mu);
    expect(t.screen()).not.toMatch(/^after-sleep$/mu);
    t.keys('exit 7', 'Enter');
    expect(await t.status()).toBe(7);
    expect((await tsnet(env.d, 'ps', '-aq')).stdout).toBe('');
  });

  it('Ctrl-C on a foreground run reaches a trap in the container, and a --rm container is then removed', async () => {
    const t = terminal(
      'trap',
      'run',
      '--rm',
      '--name',
      'trapper',
      'busybox',
      'sh',
      '-c',
      'trap "echo caught; exit 5" INT; echo ready; while true; do sleep 0.1; done',
    );
    await t.waitFor(/^ready$/mu);
    t.keys('C-c');
    expect(await t.status()).toBe(5);
    expect(t.screen()).toMatch(/caught$/mu);
    expect((await tsnet(env.d, 'ps', '-a', '--filter', 'name=trapper', '-q')).stdout).toBe('');
  });

  it('exec streams output while the command runs, keeps stderr apart, and takes stdin with -i', async () => {
    expect((await tsnet(env.d, 'run', '-d', '--name', 'bg', 'busybox', 'sleep', '300')).code).toBe(0);
    // The command waits for a file that the test makes only once the first line has arrived.
    const e = spawnCli('exec', 'bg', 'sh', '-c', 'echo one; echo two >&2; while [ ! -e /tmp/go ]; do sleep 0.05; done; read x; echo "end$x"');
    await until(() => e.got.stdout.includes('one\n'), 'the first line of exec');
    expect(e.child.exitCode).toBeNull();
    expect((await tsnet(env.d, 'exec', 'bg', 'touch', '/tmp/go')).code).toBe(0);
    expect(await e.code).toBe(0);
    expect(e.got).toMatchObject({ stdout: 'one\nend\n', stderr: 'two\n' }); // stdin is /dev/null without -i
    const i = spawnCli('exec', '-i', 'bg', 'sh', '-c', 'read x; echo "got $x"; exit 4');
    await until(() => i.child.pid !== undefined, 'the exec client');
    i.child.stdin.end('typed\n');
    expect(await i.code).toBe(4);
    expect(i.got.stdout).toBe('got typed\n');
    const w = await tsnet(env.d, 'exec', '-w', '/etc', '-e', 'A=b', 'bg', 'sh', '-c', 'echo $PWD $A');
    expect(w.stdout).toBe('/etc b\n');
    expect((await tsnet(env.d, 'exec', 'bg', 'nope')).code).toBe(127);
    // -d: in the background; the client returns at once.
    expect(await tsnet(env.d, 'exec', '-d', 'bg', 'sh', '-c', 'sleep 0.2; echo later > /tmp/detached')).toMatchObject({ code: 0, stdout: '' });
    let written = '';
    for (let i = 0; i < 100 && written !== 'later\n'; i++) written = (await tsnet(env.d, 'exec', 'bg', 'cat', '/tmp/detached')).stdout;
    expect(written).toBe('later\n');
  });

  it('exec -it gets a terminal of the client size', async () => {
    const t = terminal('exec-it', 'exec', '-it', 'bg', 'sh');
    await t.waitFor(/^\/ # ?$/mu);
    t.keys('stty size', 'Enter');
    await t.waitFor(/^33 101$/mu);
    t.keys('exit 2', 'Enter');
    expect(await t.status()).toBe(2);
  });

  it('logs: streams apart, --tail, -t, --since, and -f until the end', async () => {
    expect(
      (await tsnet(env.d, 'run', '-d', '--name', 'talk', 'busybox', 'sh', '-c', 'for i in 1 2 3; do echo out$i; echo err$i >&2; done; sleep 1; echo last'))
        .code,
    ).toBe(0);
    const followed = await tsnet(env.d, 'logs', '-f', 'talk');
    expect(followed.stdout).toBe('out1\nout2\nout3\nlast\n');
    expect(followed.stderr).toBe('err1\nerr2\nerr3\n');
    // The last two records: "last", and whichever of out3 and err3 the monitor read second (two pipes, one wakeup).
    const tail = await tsnet(env.d, 'logs', '--tail', '2', 'talk');
    expect([
      { stdout: 'last\n', stderr: 'err3\n' },
      { stdout: 'out3\nlast\n', stderr: '' },
    ]).toContainEqual({ stdout: tail.stdout, stderr: tail.stderr });
    const stamped = await tsnet(env.d, 'logs', '-t', '-n', '1', 'talk');
    expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z last\n$/u);
    expect((await tsnet(env.d, 'logs', '--since', String(Math.floor(Date.now() / 1000) + 60), 'talk')).stdout).toBe('');
    expect((await tsnet(env.d, 'logs', '--since', 'yesterday-ish', 'talk')).code).toBe(1);
  });

  it('attach and the detach keys; attaching again after the daemon restarted', async () => {
    expect((await tsnet(env.d, 'run', '-dit', '--name', 'shell', 'busybox', 'sh')).code).toBe(0);
    const t = terminal('attach', 'attach', 'shell');
    t.keys('echo attached-$((40+2))', 'Enter');
    await t.waitFor(/^attached-42$/mu);
    t.keys('C-p', 'C-q');
    expect(await t.status()).toBe(0);
    expect((await tsnet(env.d, 'inspect', '-f', '{{.State.Status}}', 'shell')).stdout).toBe('running\n');

    await env.d.stop();
    env.d = await startDaemon(env.lab);
    const again = terminal('attach2', 'attach', '--detach-keys', 'ctrl-x', 'shell');
    again.keys('echo again-$((1+1))', 'Enter');
    await again.waitFor(/^again-2$/mu);
    again.keys('exit 9', 'Enter');
    expect(await again.status()).toBe(9);
    expect((await tsnet(env.d, 'inspect', '-f', '{{.State.ExitCode}}', 'shell')).stdout).toBe('9\n');
  });
});
