/**
 * The labs the daemon runs, one folder each under ROOT/labs/NAME: the topology's text as given (topology.yml) and
 * the lab's state (state.json), written whole, synced and renamed into place, so that a crash leaves either the
 * old state or the new one. The LabService is their only writer.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { LabExecResult } from '../../api/labs.js';
import type { Topology } from '../../labs/topology.js';

export interface LabRecord {
  readonly name: string;
  /** deploying: being made (a crash then leaves it failed, for destroy to remove). */
  readonly status: 'deploying' | 'running' | 'failed';
  readonly created: string;
  readonly topology: Topology;
  readonly exec?: readonly LabExecResult[];
}

function writeDurably(path: string, text: string): void {
  const tmp = `${path}.tmp`;
  const fd = openSync(tmp, 'w', 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  const dir = openSync(join(path, '..'), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

export class LabRecords {
  constructor(private readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  private dir(name: string): string {
    return join(this.root, name);
  }

  list(): LabRecord[] {
    return readdirSync(this.root)
      .filter((n) => existsSync(join(this.dir(n), 'state.json')))
      .map((n) => JSON.parse(readFileSync(join(this.dir(n), 'state.json'), 'utf8')) as LabRecord);
  }

  find(name: string): LabRecord | undefined {
    const path = join(this.dir(name), 'state.json');
    return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as LabRecord) : undefined;
  }

  put(record: LabRecord, topologyText?: string): void {
    mkdirSync(this.dir(record.name), { recursive: true, mode: 0o700 });
    if (topologyText !== undefined) writeDurably(join(this.dir(record.name), 'topology.yml'), topologyText);
    writeDurably(join(this.dir(record.name), 'state.json'), JSON.stringify(record));
  }

  /** The lab is gone; with cleanup, its saved topology too. */
  remove(name: string, cleanup: boolean): void {
    if (cleanup) rmSync(this.dir(name), { recursive: true, force: true });
    else rmSync(join(this.dir(name), 'state.json'), { force: true });
  }
}
