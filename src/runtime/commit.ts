/**
 * A container's files out of it. `commit`: its changes (its overlay upper folder) become a new layer on top of its
 * image's, with the image's config and Docker's --change instructions applied (the container is frozen meanwhile,
 * as Docker pauses it). `export`: all its files, flattened, as one tar archive.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { TsnetError } from '../errors.js';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { create as tarCreate } from 'tar';
import { applyChanges } from './image-changes.js';
import type { Image, ImageStore } from './images.js';
import type { ImageConfig } from './types.js';
import { copyTree } from './tree-copy.js';

export interface CommitRequest {
  readonly upper: string;
  readonly base: Image;
  readonly name: string;
  readonly changes?: readonly string[];
  readonly comment?: string;
  /** Marks overlay's opaque folders of src with ".wh..wh..opq" under dst (tsnet-launcher opaque-marks). */
  readonly opaqueMarks: (src: string, dst: string) => Promise<void>;
}

interface ConfigDocument {
  architecture?: string;
  os?: string;
  created?: string;
  config?: ImageConfig;
  rootfs?: { type: string; diff_ids: string[] };
  history?: { created: string; created_by: string; comment?: string; empty_layer?: boolean }[];
}

/** What committing a running container needs of the runtime: freezing it, and its image and changes. */
export interface CommitSource {
  readonly running: boolean;
  readonly upper: string;
  readonly base: Image;
  /** Freezes (true) or thaws (false) the container; absent where the machine has no freezer. */
  readonly freeze?: (frozen: boolean) => Promise<unknown>;
}

/** A container's changes as a new image, the container frozen meanwhile when it runs (unless pause is false). */
export async function commitContainer(
  store: ImageStore,
  source: CommitSource,
  req: Omit<CommitRequest, 'upper' | 'base'> & { readonly pause?: boolean },
): Promise<Image[]> {
  const { pause: wanted, ...rest } = req;
  const freeze = source.running && wanted !== false ? source.freeze : undefined;
  await freeze?.(true);
  try {
    return await commitLayer(store, { ...rest, upper: source.upper, base: source.base });
  } finally {
    await freeze?.(false);
  }
}

export async function commitLayer(store: ImageStore, req: CommitRequest): Promise<Image[]> {
  const scratch = join(store.root, `commit-${randomBytes(8).toString('hex')}`);
  const copy = join(scratch, 'layer');
  mkdirSync(copy, { recursive: true });
  try {
    copyTree(req.upper, copy, { whiteouts: true });
    await req.opaqueMarks(req.upper, copy);
    const tar = join(scratch, 'layer.tar');
    await pipeline(tarCreate({ cwd: copy, portable: false }, ['.']) as unknown as NodeJS.ReadableStream, createWriteStream(tar));
    const layer = await store.addLayer(tar);
    const file = store.configFile(req.base);
    const base: ConfigDocument = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ConfigDocument) : { config: req.base.config ?? {} };
    const created = new Date().toISOString();
    const doc: ConfigDocument = {
      architecture: base.architecture ?? 'amd64',
      os: base.os ?? 'linux',
      created,
      config: applyChanges(base.config ?? {}, req.changes ?? []),
      rootfs: { type: 'layers', diff_ids: [...store.layersOf(req.base), layer.diffId] },
      history: [...(base.history ?? []), { created, created_by: 'tsnet commit', ...(req.comment ? { comment: req.comment } : {}) }],
    };
    return store.putImage([req.name], Buffer.from(JSON.stringify(doc)), doc.rootfs!.diff_ids, req.base.size + layer.size);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** `tsnet-launcher export`: the layers (top first) mounted as one read-only overlay on mnt, in a mount namespace of its own, and tar's output. */
export function exportTar(launcher: string, lowers: string, mnt: string, name: string): Readable {
  mkdirSync(mnt, { recursive: true });
  const child = spawn(launcher, ['export', lowers, mnt], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  // A failure ends the stream with the launcher's words.
  child.once(
    'exit',
    (code) => code !== 0 && child.stdout.destroy(new TsnetError('TSNET_ERR_INTERNAL', `export of ${name}: ${stderr.trim() || `exit ${code}`}`)),
  );
  return child.stdout;
}
