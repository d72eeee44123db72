/**
 * Where sandboxes' namespaces come from: pinned in tsnet's own folder, each born with IPv6 off on new interfaces
 * (joining an IPv6 network turns it on for that interface). The controller sees only this interface, so that its
 * logic can be tested without root on namespaces that are plain files.
 */
import { statfsSync } from 'node:fs';
import type { NetNs, NetnsDirectory } from '../../netns/netns.js';

export interface SandboxNamespaces {
  /** A new namespace named after the sandbox. */
  create(id: string): Promise<NetNs>;
  /** Removes it; one already gone counts as removed. */
  delete(id: string): void;
  /** The names of the namespaces in tsnet's folder. */
  list(): string[];
  /**
   * Whether the file is a live namespace: a file left by a crash between creation and bind mount, or unmounted, is
   * not (and is treated as gone).
   */
  isNamespace(path: string): boolean;
}

/** statfs's f_type of the namespace filesystem (nsfs). */
const NSFS_MAGIC = 0x6e736673;

export class PinnedNamespaces implements SandboxNamespaces {
  constructor(private readonly dir: NetnsDirectory) {}

  create(id: string): Promise<NetNs> {
    return this.dir.createAsync(id, ['net/ipv6/conf/default/disable_ipv6', '1']);
  }

  delete(id: string): void {
    this.dir.delete(id, { ignoreMissing: true });
  }

  list(): string[] {
    return this.dir.list();
  }

  isNamespace(path: string): boolean {
    try {
      return statfsSync(path).type === NSFS_MAGIC;
    } catch {
      return false;
    }
  }
}
