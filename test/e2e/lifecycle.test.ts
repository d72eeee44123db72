/**
 * A container's lifecycle end to end, as Docker's: create without addresses, start taking them, stop releasing them,
 * signals and the stop signal, pause with the freezer, restart policies (also across a daemon restart), connect while
 * stopped, and a network in use named by its containers.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { startDaemon, tsnet, useBusyboxDaemon } from '../helpers/daemon.js';
import { describeKernel } from '../helpers/lab.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describeKernel('the container lifecycle, end to end', () => {
  const env = useBusyboxDaemon();

  beforeAll(async () => {
    expect((await tsnet(env.d, 'network', 'create', '--subnet', '10.77.0.0/24', 'life')).code).toBe(0);
    expect((await tsnet(env.d, 'network', 'create', '--subnet', '10.78.0.0/24', 'other')).code).toBe(0);
  });

  const inspect = async (ref: string, format: string): Promise<string> => (await tsnet(env.d, 'inspect', '-f', format, ref)).stdout.trim();
  const until = async (what: string, cond: () => Promise<boolean>): Promise<void> => {
    for (let i = 0; i < 300; i++)
      if (await cond()) return void 0;
      else await sleep(50);
    throw new Error(`never happened: ${what}`);
  };

  it('create takes no address, start takes one, stop gives it back, and a stopped container joins a network at its start', async () => {
    expect((await tsnet(env.d, 'create', '--name', 'c1', '--network', 'life', '--ip', '10.77.0.9', 'busybox', 'sleep', '300')).code).toBe(0);
    expect(await inspect('c1', '{{.State.Status}} [{{.NetworkSettings.Networks.life.IPAddress}}]')).toBe('created []');
    expect((await tsnet(env.d, 'connect', 'other', 'c1')).code).toBe(0);
    expect(await tsnet(env.d, 'start', 'c1')).toMatchObject({ code: 0, stdout: 'c1\n' });
    expect(await inspect('c1', '{{.State.Status}} {{.NetworkSettings.Networks.life.IPAddress}}')).toBe('running 10.77.0.9');
    expect((await tsnet(env.d, 'exec', 'c1', 'ip', '-o', '-4', 'addr')).stdout).toMatch(/eth1 +inet 10\.78\.0\.\d+\//u);
    expect(await tsnet(env.d, 'network', 'rm', 'life')).toMatchObject({ code: 1, stderr: expect.stringContaining('has active endpoints: c1 ') as string });

    expect((await tsnet(env.d, 'stop', '-t', '0', 'c1')).code).toBe(0);
    expect(await inspect('c1', '{{.State.Status}} [{{.NetworkSettings.Networks.life.IPAddress}}]')).toBe('exited []');
    // Its address is free: another container takes it, then gives it back.
    expect((await tsnet(env.d, 'run', '--rm', '--network', 'life', '--ip', '10.77.0.9', 'busybox', 'true')).code).toBe(0);
    expect((await tsnet(env.d, 'disconnect', 'other', 'c1')).code).toBe(0);
    expect((await tsnet(env.d, 'start', 'c1')).code).toBe(0);
    expect(await inspect('c1', '{{.State.Status}} {{.NetworkSettings.Networks.life.IPAddress}} {{len .NetworkSettings.Networks}}')).toBe('running 10.77.0.9 1');
    expect((await tsnet(env.d, 'restart', '-t', '0', 'c1')).code).toBe(0);
    expect(await inspect('c1', '{{.State.Status}}')).toBe('running');
    expect((await tsnet(env.d, 'rm', '-f', 'c1')).code).toBe(0);
  });

  it('stop and rm -f of many containers at once: names in the order given, a missing one said, its sandboxes gone, addresses free', async () => {
    const names = Array.from({ length: 12 }, (_, i) => `many${i}`);
    for (const n of names) expect((await tsnet(env.d, 'run', '-d', '--name', n, '--network', 'life', 'busybox', 'sleep', '300')).code).toBe(0);
    const requests = (): string[] =>
      env.d
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"request"') && /\/v1\/containers\/(stop|remove)|"DELETE"/u.test(l));
    const before = requests().length;
    const stop = await tsnet(env.d, 'stop', '-t', '0', ...names.slice(0, 6));
    expect(stop).toMatchObject({ code: 0, stdout: names.slice(0, 6).join('\n') + '\n' });
    expect(await inspect(names[0]!, '{{.State.Status}}')).toBe('exited');
    const rm = await tsnet(env.d, 'rm', '-f', ...names.slice(0, 6), 'no-such-one', ...names.slice(6));
    expect(rm.code).toBe(1);
    expect(rm.stdout).toBe(names.join('\n') + '\n');
    expect(rm.stderr).toMatch(/no-such-one/u);
    // One request each: the daemon kills them together and deletes their sandboxes in one teardown.
    expect(
      requests()
        .slice(before)
        .map((l) => (JSON.parse(l) as { method: string; url: string }).url),
    ).toEqual(['/v1/containers/stop', '/v1/containers/remove']);
    expect((await tsnet(env.d, 'ps', '-aq')).stdout).toBe('');
    expect((await tsnet(env.d, 'network', 'inspect', '-f', '{{len .Containers}}', 'life')).stdout.trim()).toBe('0');
    // Every address is free again: a container takes the network's first one.
    expect((await tsnet(env.d, 'run', '--rm', '--network', 'life', '--ip', '10.77.0.2', 'busybox', 'true')).code).toBe(0);
  });

  it('kill -s sends the signal, --stop-signal and --stop-timeout shape stop, and wait prints the status', async () => {
    const trap = (sig: string, code: number): string => `trap "echo got-${sig}; exit ${code}" ${sig}; echo ready; while :; do sleep 0.05; done`;
    expect((await tsnet(env.d, 'run', '-d', '--name', 'k1', 'busybox', 'sh', '-c', trap('USR1', 3))).code).toBe(0);
    await until('k1 ready', async () => (await tsnet(env.d, 'logs', 'k1')).stdout.includes('ready'));
    expect((await tsnet(env.d, 'kill', '-s', 'USR1', 'k1')).code).toBe(0);
    expect(await tsnet(env.d, 'wait', 'k1')).toMatchObject({ code: 0, stdout: '3\n' });
    expect((await tsnet(env.d, 'logs', 'k1')).stdout).toContain('got-USR1');

    expect((await tsnet(env.d, 'run', '-d', '--name', 'k2', '--stop-signal', 'HUP', 'busybox', 'sh', '-c', trap('HUP', 0))).code).toBe(0);
    await until('k2 ready', async () => (await tsnet(env.d, 'logs', 'k2')).stdout.includes('ready'));
    expect((await tsnet(env.d, 'stop', 'k2')).code).toBe(0);
    expect(await inspect('k2', '{{.State.ExitCode}}')).toBe('0');
    expect((await tsnet(env.d, 'logs', 'k2')).stdout).toContain('got-HUP');

    // PID 1 without a handler ignores SIGTERM: stop waits --stop-timeout, then kills.
    expect((await tsnet(env.d, 'run', '-d', '--name', 'k3', '--stop-timeout', '1', 'busybox', 'sleep', '300')).code).toBe(0);
    expect((await tsnet(env.d, 'stop', 'k3')).code).toBe(0);
    expect(await inspect('k3', '{{.State.ExitCode}}')).toBe('137');
    expect(await tsnet(env.d, 'kill', '-s', 'NOPE', 'k3')).toMatchObject({ code: 1, stderr: expect.stringContaining('invalid signal "NOPE"') as string });
  });

  it('pause freezes every process and unpause thaws them', async () => {
    expect((await tsnet(env.d, 'run', '-d', '--name', 'ticker', 'busybox', 'sh', '-c', 'while :; do echo t >> /tmp/ticks; sleep 0.02; done')).code).toBe(0);
    const id = await inspect('ticker', '{{.Id}}');
    const ticks = (): number => readFileSync(join(env.d.root, 'runtime', 'containers', id, 'upper', 'tmp', 'ticks'), 'utf8').length;
    await until('ticks', async () => ticks() > 4);
    expect((await tsnet(env.d, 'pause', 'ticker')).code).toBe(0);
    expect(await inspect('ticker', '{{.State.Status}} {{.State.Paused}} {{.State.Running}}')).toBe('paused true true');
    const frozen = ticks();
    await sleep(300);
    expect(ticks()).toBe(frozen);
    expect(await tsnet(env.d, 'exec', 'ticker', 'true')).toMatchObject({ code: 1, stderr: expect.stringContaining('is paused') as string });
    expect((await tsnet(env.d, 'unpause', 'ticker')).code).toBe(0);
    await until('ticks again', async () => ticks() > frozen);
    expect((await tsnet(env.d, 'rm', '-f', 'ticker')).code).toBe(0);
  });

  it('restart policies: on-failure:N stops after N, always restarts after a daemon restart, unless-stopped stays stopped', async () => {
    expect((await tsnet(env.d, 'run', '-d', '--name', 'flaky', '--restart', 'on-failure:2', 'busybox', 'sh', '-c', 'echo try; exit 1')).code).toBe(0);
    await until('two restarts', async () => (await inspect('flaky', '{{.RestartCount}} {{.State.Status}}')) === '2 exited');
    await sleep(500);
    expect(await inspect('flaky', '{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}')).toBe('2 exited 1');
    expect((await tsnet(env.d, 'logs', 'flaky')).stdout).toBe('try\ntry\ntry\n');

    expect((await tsnet(env.d, 'run', '-d', '--name', 'keeper', '--network', 'life', '--restart', 'always', 'busybox', 'sleep', '300')).code).toBe(0);
    expect((await tsnet(env.d, 'run', '-d', '--name', 'quiet', '--restart', 'unless-stopped', 'busybox', 'sleep', '300')).code).toBe(0);
    expect((await tsnet(env.d, 'stop', '-t', '0', 'quiet')).code).toBe(0);
    const pid = Number(await inspect('keeper', '{{.State.Pid}}'));
    await env.d.stop();
    process.kill(pid, 'SIGKILL'); // it dies while the daemon is down
    env.d = await startDaemon(env.lab);
    await until('keeper restarted', async () => (await inspect('keeper', '{{.State.Status}} {{.RestartCount}}')) === 'running 1');
    expect(await inspect('keeper', '{{.NetworkSettings.Networks.life.IPAddress}}')).toMatch(/^10\.77\.0\.\d+$/u);
    expect(await inspect('quiet', '{{.State.Status}}')).toBe('exited');
    // An exit while the daemon runs restarts it too, after the back-off.
    expect((await tsnet(env.d, 'kill', 'keeper')).code).toBe(0);
    await until('keeper restarted again', async () => (await inspect('keeper', '{{.State.Status}} {{.RestartCount}}')) === 'running 2');
    expect((await tsnet(env.d, 'run', '--rm', '--restart', 'always', 'busybox', 'true')).code).toBe(125);
  });
});
