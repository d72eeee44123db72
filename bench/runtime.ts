/**
 * `npm run bench -- runtime [--json] [--containers N]`: container start latency (create + start until the first
 * byte of output) and removal, for tsnet's runtime and, in the same run, for `runc run` of an OCI bundle of the
 * same busybox root filesystem in an equivalent sandbox (Debian's runc package; skipped, and said, when absent).
 */
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NetnsDirectory } from '../src/netns/netns.js';
import { buildBusyboxImage } from '../src/runtime/busybox.js';
import { Runtime } from '../src/runtime/runtime.js';
import { DOCKER_DEFAULT_CAPS } from '../src/runtime/security/capabilities.js';
import { defaultProfile } from '../src/runtime/security/seccomp.js';
import { inThrowawayLab, parseBenchArgs } from './args.js';
import { measurePeople, type PeopleResult } from './people.js';
import { round, summarise, table, timeMs, type Summary } from './stats.js';

const RUNC = '/usr/sbin/runc';

/** Resolves when the file is first written to. */
function firstWrite(file: string): { ready: Promise<void>; close: () => void } {
  writeFileSync(file, '', { flag: 'a' });
  let close = (): void => undefined;
  const ready = new Promise<void>((resolve) => {
    const w = watch(file, () => {
      w.close();
      resolve();
    });
    close = () => w.close();
  });
  return { ready, close };
}

/**
 * Docker's default seccomp profile in the OCI form runc takes: the rules that apply to the default capabilities
 * and to this machine's architectures (what tsnet resolves for its containers too).
 */
function ociSeccomp(): unknown {
  const profile = defaultProfile();
  const defaultCaps = new Set<string>(DOCKER_DEFAULT_CAPS);
  const arch = profile.archMap?.find((a) => a.architecture === 'SCMP_ARCH_X86_64');
  const applies = (r: NonNullable<typeof profile.syscalls>[number]): boolean =>
    (r.includes?.caps ?? []).every((c) => defaultCaps.has(c)) &&
    (r.includes?.arches ?? ['amd64']).some((a) => a === 'amd64' || a === 'x86_64') &&
    !(r.excludes?.caps ?? []).some((c) => defaultCaps.has(c));
  return {
    defaultAction: profile.defaultAction,
    ...(profile.defaultErrnoRet !== undefined ? { defaultErrnoRet: profile.defaultErrnoRet } : {}),
    architectures: arch ? [arch.architecture, ...(arch.subArchitectures ?? [])] : ['SCMP_ARCH_X86_64'],
    syscalls: (profile.syscalls ?? []).filter(applies).map((r) => ({
      names: r.names ?? [r.name],
      action: r.action,
      ...(r.errnoRet !== undefined ? { errnoRet: r.errnoRet } : {}),
      ...(r.args ? { args: r.args } : {}),
    })),
  };
}

/**
 * An OCI bundle of the same rootfs, running `echo hi` in an existing network namespace, confined as tsnet confines:
 * runc's default spec gives Docker's capabilities and masked paths, and the seccomp profile is Docker's default.
 */
function ociBundle(dir: string, rootfs: string, netnsPath: string): void {
  cpSync(rootfs, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  spawnSync(RUNC, ['spec', '--bundle', dir]);
  const specFile = join(dir, 'config.json');
  const spec = JSON.parse(spawnSync('cat', [specFile], { encoding: 'utf8' }).stdout) as {
    process: { terminal: boolean; args: string[] };
    root: { readonly: boolean };
    linux: { namespaces: { type: string; path?: string }[]; seccomp?: unknown };
  };
  spec.process.terminal = false;
  spec.process.args = ['echo', 'hi'];
  spec.root.readonly = false;
  spec.linux.namespaces = spec.linux.namespaces.map((n) => (n.type === 'network' ? { type: 'network', path: netnsPath } : n));
  spec.linux.seccomp = ociSeccomp();
  writeFileSync(specFile, JSON.stringify(spec));
}

/** `runc run --keep`: time until the first byte on its stdout; then `runc delete`. */
async function runcOnce(bundle: string, id: string): Promise<{ start: number; remove: number }> {
  const t0 = process.hrtime.bigint();
  const p = spawn(RUNC, ['--root', join(bundle, '..', 'runc-state'), 'run', '--keep', '--bundle', bundle, id], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const start = await new Promise<number>((resolve, reject) => {
    p.stdout.once('data', () => resolve(Number(process.hrtime.bigint() - t0) / 1e6));
    p.once('exit', (code) => (code !== 0 ? reject(new Error(`runc run failed: ${stderr}`)) : undefined));
  });
  await new Promise((r) => p.once('close', r));
  const remove = await timeMs(() => spawnSync(RUNC, ['--root', join(bundle, '..', 'runc-state'), 'delete', id]));
  return { start, remove };
}

const parseArgs = (argv: string[]) => parseBenchArgs(argv, { containers: { default: 50, min: 5, max: 500 }, interactive: { default: 10, min: 3, max: 100 } });

export async function main(argv: string[]): Promise<void> {
  const opts = parseArgs(argv);
  await inThrowawayLab((state) => measure(opts, state));
}

type Opts = ReturnType<typeof parseArgs>;
type StartRemove = { start: Summary; remove: Summary };

/** tsnet's runtime: create + start until the first byte of output, then removal. */
async function measureTsnet(rt: Runtime, dir: NetnsDirectory, image: string, count: number): Promise<StartRemove> {
  const starts: number[] = [];
  const removes: number[] = [];
  for (let i = 0; i < count; i++) {
    const ns = dir.create(`ts${i}`);
    const t0 = process.hrtime.bigint();
    const c = await rt.create({ image, command: ['echo', 'hi'], netnsPath: ns.path! });
    const out = firstWrite(rt.files.log(c.id));
    await rt.start(c.id);
    await out.ready;
    starts.push(Number(process.hrtime.bigint() - t0) / 1e6);
    await rt.wait(c.id);
    removes.push(await timeMs(() => rt.remove(c.id)));
  }
  return { start: summarise(starts), remove: summarise(removes) };
}

/** runc run of the same root file system, confined alike. */
async function measureRunc(state: string, dir: NetnsDirectory, layerDir: string, count: number): Promise<StartRemove> {
  const rs: number[] = [];
  const rr: number[] = [];
  for (let i = 0; i < count; i++) {
    const ns = dir.create(`runc${i}`);
    const bundle = join(state, `bundle${i}`);
    ociBundle(bundle, layerDir, ns.path!);
    const r = await runcOnce(bundle, `bench${i}`);
    rs.push(r.start);
    rr.push(r.remove);
  }
  return { start: summarise(rs), remove: summarise(rr) };
}

async function measure(opts: Opts, state: string): Promise<void> {
  const dir = new NetnsDirectory('/run/netns');
  const rt = Runtime.open(join(state, 'runtime'));
  const image = await buildBusyboxImage(rt.images);
  const ts = await measureTsnet(rt, dir, image.name, opts.containers);
  const skipped: string[] = [];
  const runc = existsSync(RUNC) ? await measureRunc(state, dir, rt.images.layerDir(image), opts.containers) : null;
  if (!runc) skipped.push('runc: not installed (apt-get install runc)');
  rt.close();
  const progress = (text: string): void => {
    if (!opts.json && process.stderr.isTTY) process.stderr.write(`\r${text}`.padEnd(60));
  };
  const people = await measurePeople(state, opts.interactive, progress);
  skipped.push(...people.skipped);
  const result = {
    bench: 'runtime',
    containers: opts.containers,
    tsnet: ts,
    runc,
    ratio: runc ? { start: round(runc.start.medianMs / ts.start.medianMs, 2), remove: round(runc.remove.medianMs / ts.remove.medianMs, 2) } : null,
    target: 'tsnet no slower than runc',
    interactive: { samples: opts.interactive, tsnet: people.tsnet, docker: people.docker },
    skipped,
  };
  if (opts.json) console.log(JSON.stringify(result));
  else report(opts, result, people);
}

function report(
  opts: Opts,
  result: { tsnet: StartRemove; runc: StartRemove | null; ratio: { start: number; remove: number } | null; skipped: string[] },
  people: PeopleResult,
): void {
  const { tsnet: ts, runc } = result;
  const row = (name: string, s: Summary | undefined): (string | number)[] => (s ? [name, s.count, s.medianMs, s.p95Ms] : [name, '-', 'skipped', '-']);
  console.log(`container start (create + start until the first byte of output) and removal, ${opts.containers} containers\n`);
  console.log(
    table(
      ['what', 'count', 'median ms', 'p95 ms'],
      [row('start, tsnet', ts.start), row('start, runc run', runc?.start), row('remove, tsnet', ts.remove), row('remove, runc delete', runc?.remove)],
    ),
  );
  if (result.ratio) console.log(`\nrunc / tsnet: start ${result.ratio.start}x, removal ${result.ratio.remove}x (target: at least 1x)`);
  const d = people.docker;
  console.log(`\nthrough the CLIs, ${opts.interactive} samples each: run -it until the first prompt, exec of true in a running container\n`);
  console.log(
    table(
      ['what', 'median ms', 'p95 ms'],
      [
        ['run -it, tsnet', people.tsnet.runItPrompt.medianMs, people.tsnet.runItPrompt.p95Ms],
        ['run -it, docker', d ? d.runItPrompt.medianMs : 'skipped', d ? d.runItPrompt.p95Ms : '-'],
        ['exec, tsnet', people.tsnet.exec.medianMs, people.tsnet.exec.p95Ms],
        ['exec, docker', d ? d.exec.medianMs : 'skipped', d ? d.exec.p95Ms : '-'],
      ],
    ),
  );
  if (d) {
    const its = round(d.runItPrompt.medianMs / people.tsnet.runItPrompt.medianMs, 2);
    console.log(`\ndocker / tsnet: run -it ${its}x, exec ${round(d.exec.medianMs / people.tsnet.exec.medianMs, 2)}x`);
  }
  for (const s of result.skipped) console.log(`skipped: ${s}`);
}
