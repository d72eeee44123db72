/**
 * Builds a small busybox image from Debian's busybox-static package (the only thing it needs): a root filesystem
 * with /bin/busybox, a link for each applet, and the usual folders and files, packed as a tar and imported.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from 'tar';
import { TsnetError } from '../errors.js';
import type { Image, ImageStore } from './images.js';

const BUSYBOX = '/bin/busybox';

/** Whether an ELF64 file asks for a dynamic loader (a PT_INTERP program header). */
function hasInterpreter(elf: Buffer): boolean {
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return true; // not ELF64: do not trust it
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const phentsize = elf.readUInt16LE(0x36);
  const phnum = elf.readUInt16LE(0x38);
  for (let i = 0; i < phnum; i++) if (elf.readUInt32LE(phoff + i * phentsize) === 3 /* PT_INTERP */) return true;
  return false;
}

/** The busybox binary, if it is the static one (a dynamic one would need the host's libraries inside). */
function staticBusybox(): string {
  if (!existsSync(BUSYBOX)) {
    throw new TsnetError('TSNET_ERR_NOT_FOUND', `${BUSYBOX} is missing: install Debian's busybox-static package (apt-get install busybox-static)`);
  }
  if (hasInterpreter(readFileSync(BUSYBOX)))
    throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', `${BUSYBOX} is dynamically linked: install busybox-static, not busybox`);
  return BUSYBOX;
}

/** Writes the rootfs tarball; returns its path (in a temporary folder the caller removes). */
export async function busyboxRootfsTar(dir: string): Promise<string> {
  const busybox = staticBusybox();
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev', 'var/log', 'home']) {
    mkdirSync(join(rootfs, d), { recursive: true, mode: d === 'tmp' ? 0o1777 : 0o755 });
  }
  copyFileSync(busybox, join(rootfs, 'bin/busybox'));
  const applets = execFileSync(busybox, ['--list-full'], { encoding: 'utf8' }).trim().split('\n');
  for (const applet of applets) {
    if (applet === 'bin/busybox' || existsSync(join(rootfs, applet))) continue;
    const depth = applet.split('/').length - 1;
    symlinkSync(`${'../'.repeat(depth)}bin/busybox`, join(rootfs, applet));
  }
  writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n');
  writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
  writeFileSync(join(rootfs, 'etc/hosts'), '');
  writeFileSync(join(rootfs, 'etc/resolv.conf'), '');
  const tarFile = join(dir, 'busybox.tar');
  await create({ file: tarFile, cwd: rootfs, portable: false }, ['.']);
  return tarFile;
}

export async function buildBusyboxImage(store: ImageStore, name = 'busybox:latest'): Promise<Image> {
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-busybox-'));
  try {
    return await store.import(await busyboxRootfsTar(dir), name);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
