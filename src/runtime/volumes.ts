/**
 * Named volumes, as Docker's local driver keeps them: ROOT/<name>/_data holds the files, ROOT/<name>/volume.json
 * what the volume is (written atomically). A new volume mounted over image content is first filled with it (Docker's
 * copy-up, owners and modes kept); export and import move a volume's files as a tar archive, for backups.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { create as tarCreate, extract } from 'tar';
import { InvalidArgumentError, TsnetError } from '../errors.js';
import { copyTree } from './tree-copy.js';

export interface Volume {
  readonly name: string;
  readonly created: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Made for one container (`-v /path`), removed with it when it is removed with --rm or rm -v. */
  readonly anonymous: boolean;
  /** Filled from the image the first time it was mounted (or found not empty): never again. */
  readonly populated: boolean;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/u;

export class VolumeStore {
  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  dataDir(name: string): string {
    return join(this.root, name, '_data');
  }

  private save(v: Volume): void {
    const file = join(this.root, v.name, 'volume.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(v, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  list(): Volume[] {
    return readdirSync(this.root)
      .filter((n) => existsSync(join(this.root, n, 'volume.json')))
      .map((n) => JSON.parse(readFileSync(join(this.root, n, 'volume.json'), 'utf8')) as Volume)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): Volume {
    const file = join(this.root, name, 'volume.json');
    if (!NAME_RE.test(name) || !existsSync(file)) throw new TsnetError('TSNET_ERR_NOT_FOUND', `volume "${name}" not found`);
    return JSON.parse(readFileSync(file, 'utf8')) as Volume;
  }

  has(name: string): boolean {
    return NAME_RE.test(name) && existsSync(join(this.root, name, 'volume.json'));
  }

  /** Creates a volume (a name is made when none is given); an existing one is returned as it is, as Docker does. */
  create(name?: string, options: { labels?: Readonly<Record<string, string>>; anonymous?: boolean } = {}): Volume {
    const n = name ?? randomBytes(32).toString('hex');
    if (!NAME_RE.test(n)) throw new InvalidArgumentError(`invalid volume name "${n}": use letters, digits and _ . - (not first)`);
    if (this.has(n)) return this.get(n);
    mkdirSync(this.dataDir(n), { recursive: true, mode: 0o755 });
    const v: Volume = { name: n, created: new Date().toISOString(), labels: { ...options.labels }, anonymous: options.anonymous ?? false, populated: false };
    try {
      this.save(v);
    } catch (err) {
      rmSync(join(this.root, n), { recursive: true, force: true });
      throw err;
    }
    return v;
  }

  /** Docker's copy-up: an empty volume not yet populated gets what the image has at the mount point. */
  populate(name: string, imagePath: string): void {
    const v = this.get(name);
    if (v.populated) return;
    const data = this.dataDir(name);
    if (readdirSync(data).length === 0 && existsSync(imagePath) && lstatSync(imagePath).isDirectory()) copyTree(imagePath, data);
    this.save({ ...v, populated: true });
  }

  remove(name: string): void {
    this.get(name);
    rmSync(join(this.root, name), { recursive: true, force: true });
  }

  /** The volume's files as a tar stream (paths relative to its root). */
  export(name: string): Readable {
    this.get(name);
    return tarCreate({ cwd: this.dataDir(name), portable: false, preservePaths: false }, ['.']) as unknown as Readable;
  }

  /** Replaces nothing: the archive's files are written into the volume (created when missing). */
  async import(name: string, archive: Readable): Promise<Volume> {
    const v = this.has(name) ? this.get(name) : this.create(name);
    await pipeline(archive, extract({ cwd: this.dataDir(name), preserveOwner: true, strict: true }));
    this.save({ ...v, populated: true });
    return this.get(name);
  }
}
