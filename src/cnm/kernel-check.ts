/**
 * What the kernel must offer tsnet, checked at the daemon's start: network namespaces, the overlay filesystem,
 * and bridges and veth pairs, which are made for real in a throwaway namespace.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import { Handle } from '../netlink/handle.js';
import { NetnsDirectory } from '../netns/netns.js';

/** Checks the kernel can do what tsnet needs; each missing feature gets its own line. */
export async function missingKernelFeatures(): Promise<string[]> {
  const missing: string[] = [];
  if (!existsSync('/proc/self/ns/net')) missing.push('network namespaces (CONFIG_NET_NS)');
  const filesystems = existsSync('/proc/filesystems') ? readFileSync('/proc/filesystems', 'utf8') : '';
  if (!/\boverlay\b/u.test(filesystems)) missing.push("the overlay filesystem (modprobe overlay), for containers' root filesystems");
  // veth and bridge: made for real in a throwaway namespace.
  const dir = mkdtempSync(join(tmpdir(), 'tsnet-probe-'));
  const probes = new NetnsDirectory(dir);
  try {
    const ns = probes.create('probe');
    const h = Handle.open(ns);
    try {
      await h.linkAdd({ kind: 'bridge', name: 'probe-br' }).catch(() => missing.push('Linux bridges (modprobe bridge)'));
      await h.linkAdd({ kind: 'veth', name: 'probe-a', peer: { name: 'probe-b' } }).catch(() => missing.push('veth pairs (modprobe veth)'));
    } finally {
      h.close();
    }
  } catch (err) {
    missing.push(`network namespaces: ${errorMessage(err)}`);
  } finally {
    probes.delete('probe', { ignoreMissing: true });
    rmSync(dir, { recursive: true, force: true });
  }
  return missing;
}
