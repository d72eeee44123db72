/**
 * Images: root filesystems imported from tar archives (as `docker export` writes them, gzip or not) into a
 * read-only, content-addressed layer store: ROOT/layers/<sha256 of the uncompressed tar>/. An image is a name
 * pointing at a layer; metadata lives in ROOT/images.json, written atomically.
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { extract } from 'tar';
import { InvalidArgumentError, NoSpaceError, TsnetError, isNoSpace } from '../errors.js';

export interface Image {
  readonly name: string;
  /** sha256:<hex> of the uncompressed layer tar. */
  readonly id: string;
  readonly created: string;
  /** Bytes of the uncompressed tar. */
  readonly size: number;
}

const NAME_RE = /^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?$/u;

async function isGzip(file: string): Promise<boolean> {
  const stream = createReadStream(file, { start: 0, end: 1 });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const head = Buffer.concat(chunks);
  return head.length === 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** The shortest id prefix taken as a reference (Docker's short ids are 12). */
const MIN_PREFIX = 4;

export class ImageStore {
  constructor(readonly root: string) {
    mkdirSync(join(root, 'layers'), { recursive: true, mode: 0o700 });
  }

  private get indexFile(): string {
    return join(this.root, 'images.json');
  }

  list(): Image[] {
    if (!existsSync(this.indexFile)) return [];
    return JSON.parse(readFileSync(this.indexFile, 'utf8')) as Image[];
  }

  private save(images: readonly Image[]): void {
    const tmp = `${this.indexFile}.tmp`;
    writeFileSync(tmp, JSON.stringify(images, null, 2));
    renameSync(tmp, this.indexFile);
  }

  /**
   * By name (":latest" implied), by id ("sha256:" optional), or by a prefix of the id's hex digits: at least
   * MIN_PREFIX of them, and matching one layer only (several names of one layer are one image to remove by name).
   */
  get(ref: string): Image {
    const images = this.list();
    const name = ref.includes(':') && !ref.startsWith('sha256:') ? ref : `${ref}:latest`;
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

  /** The read-only folder an image's containers use as their lower layer. */
  layerDir(image: Image): string {
    return join(this.root, 'layers', image.id.replace('sha256:', ''));
  }

  /** Imports a rootfs tarball under name; a layer already stored is reused, not extracted again. */
  async import(file: string, nameInput: string): Promise<Image> {
    const name = nameInput.includes(':') ? nameInput : `${nameInput}:latest`;
    if (!NAME_RE.test(name))
      throw new InvalidArgumentError(`invalid image name "${nameInput}": use lower-case letters, digits, ".", "_", "-" and "/", and ":tag"`);
    if (!existsSync(file) || !statSync(file).isFile()) throw new InvalidArgumentError(`cannot import "${file}": no such file`);
    const gz = await isGzip(file);
    const hash = createHash('sha256');
    let size = 0;
    const raw = createReadStream(file);
    const source: AsyncIterable<Buffer> = gz ? raw.pipe(createGunzip()) : raw;
    try {
      for await (const chunk of source) {
        hash.update(chunk);
        size += chunk.length;
      }
    } catch (err) {
      throw new InvalidArgumentError(`cannot import "${file}": ${(err as Error).message}`);
    }
    const id = `sha256:${hash.digest('hex')}`;
    const dir = join(this.root, 'layers', id.slice(7));
    if (!existsSync(dir)) {
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
    const image: Image = { name, id, created: new Date().toISOString(), size };
    this.save([...this.list().filter((i) => i.name !== name), image]);
    return image;
  }

  /** Removes an image; the layer goes when no other image names it. inUse says whether a container uses it. */
  remove(ref: string, inUse: (image: Image) => boolean): Image {
    const image = this.get(ref);
    if (inUse(image)) throw new TsnetError('TSNET_ERR_CONFLICT', `image "${image.name}" is used by a container: remove the container first`);
    const rest = this.list().filter((i) => i.name !== image.name);
    this.save(rest);
    if (!rest.some((i) => i.id === image.id)) rmSync(this.layerDir(image), { recursive: true, force: true });
    return image;
  }
}
