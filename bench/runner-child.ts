/**
 * The command runner's child (see runner.ts): reads one JSON request a line ({cmd, args, input, env}), runs it to
 * its end, and answers one JSON line: its time in ms (from the spawn to the exit, taken here), status and output.
 */
import { spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';

interface Request {
  cmd: string;
  args: string[];
  input: string;
  env?: NodeJS.ProcessEnv;
}

for await (const line of createInterface({ input: process.stdin })) {
  const r = JSON.parse(line) as Request;
  const start = process.hrtime.bigint();
  const run = spawnSync(r.cmd, r.args, { input: r.input, env: { ...process.env, ...r.env }, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  process.stdout.write(`${JSON.stringify({ ms, status: run.status, output: `${run.stderr ?? ''}${run.stdout ?? ''}${run.error?.message ?? ''}` })}\n`);
}
