/**
 * `pull`: an image from a registry into the image store. The reference's manifest is fetched (from an index, the
 * entry of the platform asked for, this machine's by default), then its config and every layer the store lacks,
 * each checked against its digest; a layer must unpack to the diff id the config names.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TsnetError } from '../../errors.js';
import { localName, parseReference, type ImageReference } from '../../lib/image-reference.js';
import type { Image, ImageStore } from '../images.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { INDEX_TYPES, MANIFEST_TYPES, layerCompression, type Descriptor, type Manifest } from './media-types.js';
import { formatPlatform, hostPlatform, platformMatches, type Platform } from './platform.js';

export interface PullOptions extends RegistryOptions {
  readonly platform?: Platform;
  /** Told of each step, for a progress display. */
  readonly progress?: (message: string) => void;
}

export interface PullResult {
  readonly image: Image;
  /** The digest of the manifest pulled (for an index, the platform's entry). */
  readonly digest: string;
  readonly layersFetched: number;
  readonly layersReused: number;
}

/** The manifest of the platform wanted: the reference's own, or its entry in the index the reference names. */
async function platformManifest(client: RegistryClient, ref: ImageReference, platform: Platform): Promise<{ manifest: Manifest; digest: string }> {
  const first = await client.getManifest(ref.digest ?? ref.tag ?? 'latest', MANIFEST_TYPES);
  if (!INDEX_TYPES.includes(first.mediaType)) return { manifest: JSON.parse(first.bytes.toString()) as Manifest, digest: first.digest };
  const entries = (JSON.parse(first.bytes.toString()) as { manifests: Descriptor[] }).manifests;
  const entry = entries.find((m) => platformMatches(m.platform, platform));
  if (!entry) {
    const offered = entries.map((m) => (m.platform ? formatPlatform(m.platform) : '?')).join(', ');
    throw new TsnetError(
      'TSNET_ERR_NOT_FOUND',
      `${localName(ref)} has no image for ${formatPlatform(platform)} (it has ${offered}); choose one with --platform`,
    );
  }
  const chosen = await client.getManifest(entry.digest, MANIFEST_TYPES);
  return { manifest: JSON.parse(chosen.bytes.toString()) as Manifest, digest: chosen.digest };
}

export async function pullImage(store: ImageStore, reference: string, options: PullOptions = {}): Promise<PullResult> {
  const ref = parseReference(reference);
  const platform = options.platform ?? hostPlatform();
  const progress = options.progress ?? (() => undefined);
  const client = new RegistryClient(ref.domain, ref.path, 'pull', options);
  const { manifest, digest } = await platformManifest(client, ref, platform);
  for (const l of manifest.layers)
    if (!layerCompression(l.mediaType))
      throw new TsnetError('TSNET_ERR_REGISTRY', `${localName(ref)}: layer ${l.digest} is ${l.mediaType}, which tsnet cannot unpack`);
  const config = await client.getBlob(manifest.config.digest);
  const doc = JSON.parse(config.toString()) as { os?: string; architecture?: string; rootfs?: { diff_ids?: string[] } };
  if (doc.os && doc.architecture && (doc.os !== platform.os || doc.architecture !== platform.architecture))
    throw new TsnetError('TSNET_ERR_REGISTRY', `${localName(ref)} is for ${doc.os}/${doc.architecture}, not ${formatPlatform(platform)}`);
  const diffIds = doc.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length)
    throw new TsnetError('TSNET_ERR_REGISTRY', `${localName(ref)}: its config names ${diffIds.length} layers, its manifest ${manifest.layers.length}`);
  const scratch = join(store.root, `pull-${randomBytes(8).toString('hex')}`);
  mkdirSync(scratch, { recursive: true });
  let fetched = 0;
  let size = 0;
  try {
    for (const [i, layer] of manifest.layers.entries()) {
      const diffId = diffIds[i]!;
      if (store.hasLayer(diffId)) {
        size += store.layerSize(diffId);
        continue;
      }
      progress(`layer ${i + 1}/${manifest.layers.length} ${layer.digest.slice(7, 19)}: ${(layer.size / 1e6).toFixed(1)} MB`);
      const tar = join(scratch, `${i}.tar`);
      await client.downloadBlob(layer.digest, tar, layerCompression(layer.mediaType) === 'gzip');
      const stored = await store.addLayer(tar);
      if (stored.diffId !== diffId) store.dropLayerIfUnused(stored.diffId);
      if (stored.diffId !== diffId)
        throw new TsnetError('TSNET_ERR_REGISTRY', `${localName(ref)}: layer ${layer.digest} unpacks to ${stored.diffId}, not the config's ${diffId}`);
      size += stored.size;
      fetched++;
      rmSync(tar, { force: true });
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const image = store.putImage([localName(ref)], config, diffIds, size)[0]!;
  return { image, digest, layersFetched: fetched, layersReused: diffIds.length - fetched };
}
