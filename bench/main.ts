/**
 * `npm run bench -- NAME [--json] [options]`: runs one benchmark. Each prints a table for people, or with --json
 * one JSON object with every figure, and compares against a baseline measured in the same run.
 */
const benches: Record<string, () => Promise<{ main(argv: string[]): Promise<void> }>> = {
  netlink: () => import('./netlink.js'),
  cnm: () => import('./cnm.js'),
  runtime: () => import('./runtime.js'),
  docker: () => import('./docker.js'),
  ports: () => import('./ports.js'),
  lab: () => import('./lab.js'),
  impair: () => import('./impair.js'),
  many: () => import('./many.js'),
  cli: () => import('./cli.js'),
  overlay: () => import('./overlay.js'),
};

// NODE_EXTRA_CA_CERTS makes every Node process parse that file's certificates before it starts; pointed at a system's
// whole bundle (as on the machines these figures come from) that is about 60 ms on a 35 ms start, in every process a
// bench times, tsnet's and the baselines' alike. No bench uses TLS: what they start, they start without it, as on a
// machine that does not set it.
if (process.env['NODE_EXTRA_CA_CERTS']) {
  delete process.env['NODE_EXTRA_CA_CERTS'];
  console.error('bench: NODE_EXTRA_CA_CERTS is left out of the processes this bench starts');
}

const [name, ...rest] = process.argv.slice(2);
const load = name ? benches[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- NAME [--json]\nbenchmarks: ${Object.keys(benches).join(', ')}`);
  process.exit(2);
}
try {
  await (await load()).main(rest);
} catch (err) {
  console.error(`bench ${name}: ${err instanceof Error ? err.message : String(err)}`);
  if (process.argv.includes('--debug') && err instanceof Error) console.error(err.stack);
  process.exit(1);
}
