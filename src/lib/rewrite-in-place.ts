/**
 * Rewrites an existing file in place: its new content written over the old from the start, then the file cut to
 * the new length. The inode stays (a bind mount of it into a container keeps seeing it), as with a write through
 * O_TRUNC, but the file's blocks are kept rather than freed and taken again: on a disk-backed filesystem that is
 * a quarter of the cost (16 against 70-250 us a file on ext4 here; alike on a tmpfs), and a reader never finds the
 * file empty, only, while a shorter text replaces a longer one, for the moment between the write and the cut, the
 * new text followed by the old one's end. A file that does not exist yet is created.
 */
import { closeSync, ftruncateSync, openSync, writeFileSync, writeSync } from 'node:fs';

export function rewriteInPlace(path: string, text: string): void {
  let fd: number;
  try {
    fd = openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return writeFileSync(path, text);
  }
  try {
    const bytes = Buffer.from(text);
    for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at, bytes.length - at, at);
    ftruncateSync(fd, bytes.length);
  } finally {
    closeSync(fd);
  }
}
