/**
 * Copying a tree of files as they are (owners, modes, times, symlinks): a volume's copy-up, and a container's upper
 * layer made an archive's, where overlay's whiteouts (character devices 0:0) become ".wh.NAME" files.
 */
import { chmodSync, copyFileSync, lchownSync, lstatSync, lutimesSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function copyTree(src: string, dst: string, options: { whiteouts?: boolean } = {}): void {
  for (const name of readdirSync(src)) {
    const from = join(src, name);
    const st = lstatSync(from);
    let to = join(dst, name);
    if (st.isDirectory()) {
      mkdirSync(to, { recursive: true });
      copyTree(from, to, options);
    } else if (st.isSymbolicLink()) {
      symlinkSync(readlinkSync(from), to);
    } else if (st.isFile()) {
      copyFileSync(from, to);
    } else if (options.whiteouts && st.isCharacterDevice() && st.rdev === 0) {
      to = join(dst, `.wh.${name}`);
      writeFileSync(to, '');
      continue;
    } else {
      continue; // other devices, sockets and fifos are not copied
    }
    lchownSync(to, st.uid, st.gid);
    if (!st.isSymbolicLink()) chmodSync(to, st.mode & 0o7777);
    lutimesSync(to, st.atime, st.mtime);
  }
}
