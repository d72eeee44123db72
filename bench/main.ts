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
