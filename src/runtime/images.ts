/**
 * Images: root filesystems imported from tar archives (as `docker export` writes them, gzip or not) into a
 * read-only, content-addressed layer store: ROOT/layers/<sha256 of the uncompressed tar>/. An image is a name
 * pointing at a layer; metadata lives in ROOT/images.json, written atomically.
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  createReadStream,
  createWriteStream,
  existsSync,
  openSync,
  readSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar';
import { InvalidArgumentError, NoSpaceError, TsnetError, isNoSpace } from '../errors.js';
import { applyChanges } from './image-changes.js';
import { localName, parseReference, tryLocalName } from '../lib/image-reference.js';

export type { ImageConfig } from './types.js';
import type { ImageConfig } from './types.js';

export interface Image {
  readonly name: string;
  /** sha256:<hex>: of the image's config JSON (loaded images), or of the uncompressed layer tar (imported ones). */
  readonly id: string;
  readonly created: string;
  /** Bytes of the uncompressed layers. */
  readonly size: number;
  /** The layers' diff ids, bottom first (absent: one layer, the id's). */
  readonly layers?: readonly string[];
  readonly config?: ImageConfig;
}

/** The local name for an image name given ("NAME" means "NAME:latest"); refused when it is not a reference. */
const nameOf = (input: string): string => localName(parseReference(input));

/** Whether a file starts as gzip does (its first two bytes). */
export function isGzip(file: string): boolean {
  const head = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, head, 0, 2, 0) === 2 && head[0] === 0x1f && head[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** The shortest id prefix taken as a reference (Docker's short ids are 12). */
const MIN_PREFIX = 4;

export class ImageStore {
  /** images.json as last read or written. */
  private known: Image[] | undefined;

  constructor(
    readonly root: string,
    /** Turns an extracted layer's ".wh." files into overlay's whiteouts (tsnet-launcher whiteouts). */
    private readonly overlayWhiteouts: (dir: string) => Promise<void> = async () => undefined,
  ) {
    mkdirSync(join(root, 'layers'), { recursive: true, mode: 0o700 });
    mkdirSync(join(root, 'layer-tars'), { recursive: true, mode: 0o700 });
    mkdirSync(join(root, 'configs'), { recursive: true, mode: 0o700 });
  }

  /** The image's layers' diff ids, bottom first. */
  layersOf(image: Image): readonly string[] {
    return image.layers ?? [image.id];
  }

  /** The overlay lower folders of an image, top first (overlayfs's lowerdir order). */
  lowerDirs(image: Image): string[] {
    return [...this.layersOf(image)].reverse().map((d) => join(this.root, 'layers', d.replace('sha256:', '')));
  }

  /** A path in the image as its containers see it: the top layer that has it (whiteouts aside). */
  findPath(image: Image, rel: string): string | undefined {
    return this.lowerDirs(image)
      .map((d) => join(d, rel))
      .find((p) => existsSync(p));
  }

  /** The archive a layer was loaded from, kept for image save (absent for imported root filesystems). */
  layerTar(diffId: string): string {
    return join(this.root, 'layer-tars', `${diffId.replace('sha256:', '')}.tar`);
  }

  /** Whether a layer is stored whole: unpacked, and its archive kept. */
  hasLayer(diffId: string): boolean {
    return existsSync(join(this.root, 'layers', diffId.replace('sha256:', ''))) && existsSync(this.layerTar(diffId));
  }

  /** Bytes of a stored layer's uncompressed archive. */
  layerSize(diffId: string): number {
    return statSync(this.layerTar(diffId)).size;
  }

  /** Removes a layer no image names (one stored by a pull that then failed its check). */
  dropLayerIfUnused(diffId: string): void {
    if (this.list().some((i) => this.layersOf(i).includes(diffId))) return;
    rmSync(join(this.root, 'layers', diffId.replace('sha256:', '')), { recursive: true, force: true });
    rmSync(this.layerTar(diffId), { force: true });
  }

  /** The config JSON of a loaded image, byte for byte (its id is its digest). */
  configFile(image: Image): string {
    return join(this.root, 'configs', `${image.id.replace('sha256:', '')}.json`);
  }

  /**
   * Stores a layer from an uncompressed tar file: extracted (whiteouts made overlay's) and the tar kept; a layer
   * stored already is reused. Resolves with its diff id and size.
   */
  async addLayer(tarFile: string): Promise<{ diffId: string; size: number }> {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of createReadStream(tarFile)) {
      hash.update(chunk as Buffer);
      size += (chunk as Buffer).length;
    }
    const diffId = `sha256:${hash.digest('hex')}`;
    const dir = join(this.root, 'layers', diffId.slice(7));
    if (!existsSync(dir)) {
      const tmp = `${dir}.tmp-${process.pid}`;
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      try {
        await extract({ file: tarFile, cwd: tmp, preserveOwner: true, strict: true });
        await this.overlayWhiteouts(tmp);
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        if (isNoSpace(err)) throw new NoSpaceError(`cannot store a layer of ${tarFile}`, err);
        throw new InvalidArgumentError(`cannot store a layer: ${(err as Error).message}`);
      }
      renameSync(tmp, dir);
    }
    if (!existsSync(this.layerTar(diffId))) copyFileSync(tarFile, this.layerTar(diffId));
    return { diffId, size };
  }

  /** Records an image under its names: its config JSON kept as it is (the id is its digest). */
  putImage(names: readonly string[], configJson: Buffer, layers: readonly string[], size: number): Image[] {
    const id = `sha256:${createHash('sha256').update(configJson).digest('hex')}`;
    const parsed = JSON.parse(configJson.toString()) as { config?: ImageConfig; created?: string };
    writeFileSync(join(this.root, 'configs', `${id.slice(7)}.json`), configJson);
    const made = (names.length ? names : [`<none>:${id.slice(7, 19)}`]).map((n): Image => {
      const name = n.startsWith('<none>') ? n : nameOf(n);
      return { name, id, created: parsed.created ?? new Date().toISOString(), size, layers: [...layers], ...(parsed.config ? { config: parsed.config } : {}) };
    });
    const names_ = new Set(made.map((i) => i.name));
    this.save([...this.list().filter((i) => !names_.has(i.name)), ...made]);
    return made;
  }

  /** Another name for an image (image tag). */
  tag(ref: string, nameInput: string): Image {
    const image = this.get(ref);
    const name = nameOf(nameInput);
    const tagged = { ...image, name };
    this.save([...this.list().filter((i) => i.name !== name), tagged]);
    return tagged;
  }

  private get indexFile(): string {
    return join(this.root, 'images.json');
  }

  list(): Image[] {
    // The store is images.json's one writer: it is read once, then kept as saved.
    this.known ??= existsSync(this.indexFile) ? (JSON.parse(readFileSync(this.indexFile, 'utf8')) as Image[]) : [];
    return [...this.known];
  }

  private save(images: readonly Image[]): void {
    const tmp = `${this.indexFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(images, null, 2));
    renameSync(tmp, this.indexFile);
    this.known = [...images];
  }

  /**
   * By name (":latest" implied), by id ("sha256:" optional), or by a prefix of the id's hex digits: at least
   * MIN_PREFIX of them, and matching one layer only (several names of one layer are one image to remove by name).
   */
  get(ref: string): Image {
    const images = this.list();
    // An id is not a name: "sha256:HEX" goes straight to the ids.
    const name = ref.startsWith('sha256:') ? undefined : tryLocalName(ref);
    const byName = images.find((i) => i.name === name || i.name === ref);
    if (byName) return byName;
    const hex = ref.startsWith('sha256:') ? ref.slice(7) : ref;
    if (/^[0-9a-f]+$/u.test(hex) && hex.length >= MIN_PREFIX) {
      const matches = images.filter((i) => i.id.slice(7).startsWith(hex));
      const ids = new Set(matches.map((i) => i.id));
      if (ids.size > 1) throw new InvalidArgumentError(`image id prefix "${ref}" is ambiguous: it matches ${matches.map((i) => i.name).join(', ')}`);
      if (matches.length > 0) return matches[0]!;
    }
    throw new TsnetError('TSNET_ERR_NOT_FOUND', `image "${ref}" not found (import one with "tsnet image import FILE NAME")`);
  }

  /** The image's lower folders as overlay's lowerdir option takes them ("top:...:bottom"). */
  layerDir(image: Image): string {
    return this.lowerDirs(image).join(':');
  }

  /**
   * Imports a rootfs tarball under name (docker import): a layer already stored is reused, not extracted again; its
   * uncompressed archive is kept for image save. With changes (--change), the image gets a config of its own.
   */
  async import(file: string, nameInput: string, changes: readonly string[] = []): Promise<Image> {
    const name = nameOf(nameInput);
    if (!existsSync(file) || !statSync(file).isFile()) throw new InvalidArgumentError(`cannot import "${file}": no such file`);
    const config = changes.length ? applyChanges({}, changes) : undefined; // refused before anything is stored
    const gz = isGzip(file);
    const hash = createHash('sha256');
    let size = 0;
    const tarCopy = join(this.root, 'layer-tars', `import-${process.pid}-${Date.now()}.tar`);
    // One pass: the uncompressed bytes hashed and kept (pipeline ends every stream on any error, ENOSPC included).
    const hashing = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
    });
    try {
      await (gz
        ? pipeline(createReadStream(file), createGunzip(), hashing, createWriteStream(tarCopy))
        : pipeline(createReadStream(file), hashing, createWriteStream(tarCopy)));
    } catch (err) {
      rmSync(tarCopy, { force: true });
      if (isNoSpace(err)) throw new NoSpaceError(`cannot import "${file}"`, err);
      throw new InvalidArgumentError(`cannot import "${file}": ${(err as Error).message}`);
    }
    const id = `sha256:${hash.digest('hex')}`;
    if (existsSync(this.layerTar(id))) rmSync(tarCopy, { force: true });
    else renameSync(tarCopy, this.layerTar(id));
    await this.extractLayer(file, id, gz);
    if (config) {
      const doc = {
        architecture: 'amd64',
        os: 'linux',
        created: new Date().toISOString(),
        config,
        rootfs: { type: 'layers', diff_ids: [id] },
        history: [{ created: new Date().toISOString(), created_by: 'tsnet image import' }],
      };
      return this.putImage([name], Buffer.from(JSON.stringify(doc)), [id], size)[0]!;
    }
    const image: Image = { name, id, created: new Date().toISOString(), size };
    this.save([...this.list().filter((i) => i.name !== name), image]);
    return image;
  }

  /** Extracts an imported root filesystem into its layer folder, unless it is there already. */
  private async extractLayer(file: string, id: string, gz: boolean): Promise<void> {
    const dir = join(this.root, 'layers', id.slice(7));
    if (existsSync(dir)) return;
    const tmp = `${dir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    try {
      // As root, owners, modes and device files are kept as the archive says.
      await extract({ file, cwd: tmp, preserveOwner: true, strict: true, ...(gz ? { gzip: true } : {}) } as Parameters<typeof extract>[0]);
    } catch (err) {
      rmSync(tmp, { recursive: true, force: true });
      if (isNoSpace(err)) throw new NoSpaceError(`cannot import "${file}"`, err);
      throw new InvalidArgumentError(`cannot import "${file}": not a tar archive (${(err as Error).message})`);
    }
    renameSync(tmp, dir);
  }

  /** Removes an image; the layer goes when no other image names it. inUse says whether a container uses it. */
  remove(ref: string, inUse: (image: Image) => boolean): Image {
    const image = this.get(ref);
    if (inUse(image)) throw new TsnetError('TSNET_ERR_CONFLICT', `image "${image.name}" is used by a container: remove the container first`);
    const rest = this.list().filter((i) => i.name !== image.name);
    this.save(rest);
    if (!rest.some((i) => i.id === image.id)) rmSync(this.configFile(image), { force: true });
    // A layer goes when no image left has it.
    const kept = new Set(rest.flatMap((i) => this.layersOf(i)));
    for (const d of this.layersOf(image).filter((l) => !kept.has(l))) {
      rmSync(join(this.root, 'layers', d.replace('sha256:', '')), { recursive: true, force: true });
      rmSync(this.layerTar(d), { force: true });
    }
    return image;
  }
}
