// Bundles the `tsnet` command into dist/src/cli/tsnet.cjs (the package's bin), one CommonJS file: a client command
// then loads one file instead of some fifty, and Node starts a CommonJS program about 8 ms sooner than an ES module
// (a tenth of its own start here). The bundle holds the client side (src/cli, src/client, src/api, src/lib, and
// what they import statically) with commander; what a command imports only when it runs - the daemon, the demo, the
// lab report's writer and its chart libraries - stays an import() of its own compiled ES module in dist/src, so that
// module identity (instanceof) and the paths those modules take from import.meta.url stay as they are.
import { build } from 'esbuild';
import { chmod, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'dist/src/cli/tsnet.cjs');
const src = join(root, 'src') + sep;

/** Our own modules imported with import() become imports of their compiled files, relative to the bundle. */
const keepDynamicImports = {
  name: 'keep-dynamic-imports',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const source = resolve(args.resolveDir, args.path).replace(/\.js$/u, '.ts');
      if (args.kind !== 'dynamic-import' || !source.startsWith(src)) return undefined;
      const compiled = join(root, 'dist', relative(root, source)).replace(/\.ts$/u, '.js');
      return { path: `./${relative(dirname(outfile), compiled)}`, external: true };
    });
  },
};

/**
 * Node's modules imported with import() are required instead: import() in a CommonJS file starts Node's ES module
 * loader, some milliseconds a command that needs only node:net (say) should not pay.
 */
const requireBuiltins = {
  name: 'require-builtins',
  setup(b) {
    b.onResolve({ filter: /^node:/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, namespace: 'builtin' } : { path: a.path, external: true }));
    b.onLoad({ filter: /.*/, namespace: 'builtin' }, (a) => ({ contents: `module.exports = require(${JSON.stringify(a.path)});`, loader: 'js' }));
  },
};

/**
 * commander requires node:child_process at its start, for executable subcommands, which tsnet has none of; loading
 * it brings net, dgram and the streams (some 30 of Node's modules). It gets a stand-in that loads the real module
 * only if used.
 */
const lazyChildProcess = {
  name: 'lazy-child-process',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/]commander[\\/]lib[\\/]command\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) throw new Error(`${args.path}: commander no longer loads child_process as expected`);
      const lazy = "const childProcess = new Proxy({}, { get: (_, key) => require('node:child_process')[key] });";
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

/** Packages stay in node_modules, except commander (the CLI's own, and pure JavaScript). */
const externalPackages = {
  name: 'external-packages',
  setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => (a.path === 'commander' ? undefined : { external: true })),
};

const result = await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outfile,
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Half the bytes for Node to read and parse (4 ms of a command's start here); names kept for errors and --debug.
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  metafile: true,
  plugins: [lazyChildProcess, requireBuiltins, keepDynamicImports, externalPackages],
});
// The bundle must not reach for the daemon's side at its start: only import() may (see above).
const eager = Object.values(result.metafile.outputs)
  .flatMap((o) => o.imports)
  .filter((i) => i.external && i.kind !== 'dynamic-import' && !i.path.startsWith('node:'));
if (eager.length) throw new Error(`the CLI bundle requires at its start: ${eager.map((i) => i.path).join(', ')}`);
await chmod(outfile, 0o755);
