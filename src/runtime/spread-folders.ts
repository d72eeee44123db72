/**
 * Marks a folder whose subfolders are unrelated trees (the containers' folders) as ext4's "top of directory
 * hierarchies" (`chattr +T`, the TOPDIR flag), so that ext4 spreads its subfolders over its block groups instead of
 * packing them into the folder's own. Why it matters: on ext4 without a journal, every new inode is searched for
 * past each inode freed in its group in the last minute (or more), so a lab destroyed and deployed again made each
 * container's files and overlay pay for all the files the last one freed (see docs/performance.md). Other
 * filesystems have no such flag: nothing changes there.
 */
import { spawnSync } from 'node:child_process';

/** Whether the flag is set now (false where the filesystem or the machine cannot set it). */
export function spreadSubfolders(dir: string): boolean {
  const r = spawnSync('chattr', ['+T', dir], { stdio: 'ignore', timeout: 5000 });
  return r.status === 0;
}
