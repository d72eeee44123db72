// Bundles the `tsnet` command into dist/src/cli/main.js (over tsc's output), so that a command loads one file
// instead of some fifty: a client command then starts in about 0.15 s instead of 0.2 s. Only the client side is
// bundled (src/cli, src/client, src/api, src/lib, and commander); everything else - the daemon, the demo, the shared
// errors, the native bindings, the chart libraries - stays an import of its own compiled module in dist/src, loaded
// only by the command that needs it, so that module identity (instanceof) and paths taken from import.meta.url
// stay as they are.
import { build } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist/src/cli');
const bundled = ['src/cli', 'src/client', 'src/api', 'src/lib'].map((d) => join(root, d) + sep);

/** Our own modules outside the bundled folders become imports of their compiled files, relative to the bundle. */
const keepOutside = {
  name: 'keep-outside',
  setup(b) {
    b.onResolve({ filter: /^\.\.?\// }, (args) => {
      const source = resolve(args.resolveDir, args.path).replace(/\.js$/u, '.ts');
      if (!source.startsWith(join(root, 'src') + sep) || bundled.some((d) => source.startsWith(d))) return undefined;
      const compiled = join(root, 'dist', relative(root, source)).replace(/\.ts$/u, '.js');
      return { path: `./${relative(outdir, compiled)}`, external: true };
    });
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

await build({
  entryPoints: [join(root, 'src/cli/main.ts')],
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Packages stay in node_modules, except commander (the CLI's own, and pure JavaScript).
  plugins: [
    lazyChildProcess,
    keepOutside,
    { name: 'packages', setup: (b) => b.onResolve({ filter: /^[^./]/ }, (a) => (a.path === 'commander' ? undefined : { external: true })) },
  ],
  // commander is CommonJS: its require() of Node's modules needs a require in an ES module.
  banner: { js: "import { createRequire as __tsnetRequire } from 'node:module';\nconst require = __tsnetRequire(import.meta.url);" },
  // Chunks beside the entry, so that the paths of the modules kept outside hold for them too.
  chunkNames: 'bundle-[name]-[hash]',
});
