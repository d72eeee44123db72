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

  /** By name (":latest" implied) or by id or unique id prefix. */
  get(ref: string): Image {
    const images = this.list();
    const name = ref.includes(':') || ref.startsWith('sha256') ? ref : `${ref}:latest`;
    const found = images.find((i) => i.name === name) ?? images.filter((i) => i.id.startsWith(ref) || i.id.slice(7).startsWith(ref))[0];
    if (!found) throw new TsnetError('TSNET_ERR_NOT_FOUND', `image "${ref}" not found (import one with "tsnet image import FILE NAME")`);
    return found;
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
        await extract({ file, cwd: tmp, preserveOwner: true, ...(gz ? { gzip: true } : {}) } as Parameters<typeof extract>[0]);
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
