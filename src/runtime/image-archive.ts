/**
 * Image archives, as Docker moves images between machines. `load` takes what `docker save` writes (manifest.json,
 * a config per image, one tar per layer; the OCI image layout of newer Dockers too, gzip layers included) and
 * stores its layers and configs; `save` writes Docker's format (manifest.json, CONFIG.json, LAYER/layer.tar) that
 * `docker load` reads. Layers are kept as the archive had them, so a saved image has the digests it was loaded with.
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { create as tarCreate, extract } from 'tar';
import { InvalidArgumentError } from '../errors.js';
import { isGzip, type Image, type ImageStore } from './images.js';

interface DockerManifestEntry {
  readonly Config: string;
  readonly RepoTags?: readonly string[] | null;
  readonly Layers: readonly string[];
}

interface OciDescriptor {
  readonly digest: string;
  readonly mediaType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

/** A file of the unpacked archive that must be inside it. */
function inside(dir: string, rel: string): string {
  if (rel.startsWith('/') || rel.split('/').includes('..')) throw new InvalidArgumentError(`image archive: "${rel}" points outside the archive`);
  return join(dir, rel);
}

/** An uncompressed copy of a gzip layer (OCI layouts compress theirs), or the file itself. */
async function uncompressed(file: string, scratch: string): Promise<string> {
  if (!isGzip(file)) return file;
  const out = join(scratch, `${randomBytes(8).toString('hex')}.tar`);
  await pipeline(createReadStream(file), createGunzip(), createWriteStream(out));
  return out;
}

/** The images of an OCI layout as docker-manifest entries (blobs named by digest). */
function ociEntries(dir: string): { entries: DockerManifestEntry[] } {
  const blob = (d: string): string => inside(dir, `blobs/${d.replace(':', '/')}`);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { manifests: OciDescriptor[] };
  const entries = index.manifests.flatMap((m) => {
    const doc = JSON.parse(readFileSync(blob(m.digest), 'utf8')) as { manifests?: OciDescriptor[]; config?: OciDescriptor; layers?: OciDescriptor[] };
    // An index inside: the linux/amd64 manifest (this machine's).
    const manifest = doc.manifests
      ? (JSON.parse(readFileSync(blob(doc.manifests[0]!.digest), 'utf8')) as { config: OciDescriptor; layers: OciDescriptor[] })
      : (doc as { config: OciDescriptor; layers: OciDescriptor[] });
    const name = m.annotations?.['io.containerd.image.name'] ?? m.annotations?.['org.opencontainers.image.ref.name'];
    return [
      {
        Config: `blobs/${manifest.config.digest.replace(':', '/')}`,
        RepoTags: name?.includes(':') ? [name] : [],
        Layers: manifest.layers.map((l) => `blobs/${l.digest.replace(':', '/')}`),
      },
    ];
  });
  return { entries };
}

/** Loads every image of an archive; resolves with the images made (one per name). */
export async function loadImages(store: ImageStore, file: string): Promise<Image[]> {
  if (!existsSync(file)) throw new InvalidArgumentError(`cannot load "${file}": no such file`);
  const scratch = join(store.root, `load-${randomBytes(8).toString('hex')}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const unpacked = extract({ file, cwd: scratch, strict: true, ...(isGzip(file) ? { gzip: true } : {}) } as Parameters<typeof extract>[0]) as Promise<void>;
    await unpacked.catch((err: Error) => {
      throw new InvalidArgumentError(`cannot load "${file}": not an image archive (${err.message})`);
    });
    const entries = existsSync(join(scratch, 'manifest.json'))
      ? (JSON.parse(readFileSync(join(scratch, 'manifest.json'), 'utf8')) as DockerManifestEntry[])
      : existsSync(join(scratch, 'index.json'))
        ? ociEntries(scratch).entries
        : undefined;
    if (!entries) throw new InvalidArgumentError(`cannot load "${file}": it has neither manifest.json (docker save) nor index.json (an OCI layout)`);
    const made: Image[] = [];
    for (const e of entries) {
      const layers: string[] = [];
      let size = 0;
      for (const l of e.Layers) {
        const stored = await store.addLayer(await uncompressed(inside(scratch, l), scratch));
        layers.push(stored.diffId);
        size += stored.size;
      }
      const config = readFileSync(inside(scratch, e.Config));
      const diffIds = (JSON.parse(config.toString()) as { rootfs?: { diff_ids?: string[] } }).rootfs?.diff_ids ?? [];
      if (diffIds.join() !== layers.join()) throw new InvalidArgumentError(`cannot load "${file}": the layers do not match the image config's diff_ids`);
      made.push(...store.putImage(e.RepoTags ?? [], config, layers, size));
    }
    return made;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** The config of an image that has none of its own (an imported root filesystem): its layer made a tar, as Docker's. */
export async function configFor(store: ImageStore, image: Image, scratch: string): Promise<{ config: Buffer; layers: string[] }> {
  if (existsSync(store.configFile(image))) return { config: readFileSync(store.configFile(image)), layers: [...store.layersOf(image)] };
  const layers: string[] = [];
  for (const [i, d] of store.layersOf(image).entries()) {
    if (!existsSync(store.layerTar(d))) {
      const tar = join(scratch, `rebuilt-${i}.tar`);
      await pipeline(
        tarCreate({ cwd: store.lowerDirs(image).reverse()[i]!, portable: false }, ['.']) as unknown as NodeJS.ReadableStream,
        createWriteStream(tar),
      );
      layers.push((await store.addLayer(tar)).diffId);
    } else layers.push(d);
  }
  const config = {
    architecture: 'amd64',
    os: 'linux',
    created: image.created,
    config: image.config ?? { Cmd: ['/bin/sh'] },
    rootfs: { type: 'layers', diff_ids: layers },
    history: layers.map(() => ({ created: image.created, created_by: 'tsnet image import' })),
  };
  return { config: Buffer.from(JSON.stringify(config)), layers };
}

/** Writes the images in Docker's save format to the file. */
export async function saveImages(store: ImageStore, refs: readonly string[], out: string): Promise<void> {
  const images = refs.map((r) => store.get(r));
  const scratch = join(store.root, `save-${randomBytes(8).toString('hex')}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const byConfig = new Map<string, DockerManifestEntry>();
    for (const image of images) {
      const { config, layers } = await configFor(store, image, scratch);
      const hex = createHash('sha256').update(config).digest('hex');
      writeFileSync(join(scratch, `${hex}.json`), config);
      for (const d of layers) {
        const dir = join(scratch, d.slice(7));
        mkdirSync(dir, { recursive: true });
        if (!existsSync(join(dir, 'layer.tar'))) copyFileSync(store.layerTar(d), join(dir, 'layer.tar'));
        writeFileSync(join(dir, 'VERSION'), '1.0');
      }
      const entry = byConfig.get(hex);
      const tags = image.name.startsWith('<none>') ? [] : [image.name];
      byConfig.set(hex, { Config: `${hex}.json`, RepoTags: [...(entry?.RepoTags ?? []), ...tags], Layers: layers.map((d) => `${d.slice(7)}/layer.tar`) });
    }
    writeFileSync(join(scratch, 'manifest.json'), JSON.stringify([...byConfig.values()]));
    await pipeline(tarCreate({ cwd: scratch, portable: true }, ['.']) as unknown as NodeJS.ReadableStream, createWriteStream(out));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
