// Compiles native/*.c into the shared libraries that koffi loads (run by `npm install` through "prepare").
// No node-gyp and no prebuilt binary: the system C compiler, and a clear message when there is none.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const cc = process.env.CC ?? 'cc';
const targets = [
  { sources: ['native/netlink.c'], output: 'native/build/libtsnet_netlink.so', flags: ['-fPIC', '-shared', '-fvisibility=hidden'], libs: ['-lpthread'] },
  // Static, so that it runs the same whatever the container's root filesystem holds.
  {
    sources: [
      'native/launcher.c',
      'native/options.c',
      'native/rootfs.c',
      'native/confine.c',
      'native/spawner.c',
      'native/streams.c',
      'native/relay.c',
      'native/console.c',
      'native/whiteouts.c',
      'native/export.c',
      'native/delay.c',
    ],
    output: 'native/build/tsnet-launcher',
    flags: ['-static'],
    libs: ['-lseccomp', '-lm'],
  },
  // The kernel's floor for an endpoint, a baseline of `npm run bench -- netlink`.
  { sources: ['bench/floor.c'], output: 'native/build/tsnet-floor', flags: [], libs: [] },
];

if (spawnSync(cc, ['--version'], { stdio: 'ignore' }).error) {
  console.error(
    `tsnet: cannot build native/netlink.c: no C compiler found ("${cc}").\n` +
      `Install one and run "npm install" again; on Debian: apt-get install -y gcc libc6-dev libseccomp-dev`,
  );
  process.exit(1);
}
mkdirSync(join(root, 'native/build'), { recursive: true });
for (const t of targets) {
  const args = ['-O2', '-g', '-Wall', '-Wextra', '-Werror', '-std=gnu11', ...t.flags];
  try {
    execFileSync(cc, [...args, '-o', join(root, t.output), ...t.sources.map((s) => join(root, s)), ...t.libs], { stdio: 'inherit' });
  } catch {
    console.error(`tsnet: compiling ${t.sources.join(', ')} with ${cc} failed (see the compiler's messages above)`);
    process.exit(1);
  }
}
