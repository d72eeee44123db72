/**
 * `push`: an image of the store into a registry, as Docker's schema 2 manifest that every registry and Docker
 * reads. Each layer is sent gzip-compressed (the same bytes compress the same way, so a pushed layer keeps its
 * digest), the config as it is; blobs the repository has already are not sent again.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { InvalidArgumentError } from '../../errors.js';
import { configFor } from '../image-archive.js';
import { localName, parseReference } from '../../lib/image-reference.js';
import type { ImageStore } from '../images.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_MANIFEST, type Descriptor } from './media-types.js';

export interface PushOptions extends RegistryOptions {
  readonly progress?: (message: string) => void;
}

export interface PushResult {
  readonly name: string;
  readonly digest: string;
  readonly size: number;
  readonly layersSent: number;
  readonly layersPresent: number;
}

/** A layer's archive gzip-compressed into a file; its digest and size. */
async function compressLayer(tar: string, out: string): Promise<Descriptor> {
  const hash = createHash('sha256');
  const hashing = new Transform({
    transform(chunk: Buffer, _e, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
  await pipeline(createReadStream(tar), createGzip(), hashing, createWriteStream(out));
  return { mediaType: DOCKER_LAYER_GZIP, digest: `sha256:${hash.digest('hex')}`, size: statSync(out).size };
}

export async function pushImage(store: ImageStore, reference: string, options: PushOptions = {}): Promise<PushResult> {
  const ref = parseReference(reference);
  if (ref.digest) throw new InvalidArgumentError(`cannot push "${reference}": push names a tag, not a digest`);
  const image = store.get(localName(ref));
  const progress = options.progress ?? (() => undefined);
  const client = new RegistryClient(ref.domain, ref.path, 'pull,push', options);
  const scratch = join(store.root, `push-${randomBytes(8).toString('hex')}`);
  mkdirSync(scratch, { recursive: true });
  try {
    const { config, layers } = await configFor(store, image, scratch);
    const descriptors: Descriptor[] = [];
    let sent = 0;
    for (const [i, diffId] of layers.entries()) {
      const gz = join(scratch, `${i}.tar.gz`);
      const d = await compressLayer(store.layerTar(diffId), gz);
      descriptors.push(d);
      if (await client.hasBlob(d.digest)) continue;
      progress(`layer ${i + 1}/${layers.length} ${d.digest.slice(7, 19)}: ${(d.size / 1e6).toFixed(1)} MB`);
      await client.uploadBlob(d.digest, { file: gz, size: d.size });
      sent++;
      rmSync(gz, { force: true });
    }
    const configDigest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
    if (!(await client.hasBlob(configDigest))) await client.uploadBlob(configDigest, config);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: DOCKER_CONFIG, size: config.length, digest: configDigest },
        layers: descriptors,
      }),
    );
    const digest = await client.putManifest(ref.tag ?? 'latest', DOCKER_MANIFEST, manifest);
    return { name: localName(ref), digest, size: manifest.length, layersSent: sent, layersPresent: layers.length - sent };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
