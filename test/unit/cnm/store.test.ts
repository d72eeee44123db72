/** The store's own behaviour, on a real SQLite file in a temporary folder. */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Store } from '../../../src/cnm/store.js';

describe('the store', () => {
  let dir: string;
  let store: Store;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tsnet-store-'));
    store = Store.open(join(dir, 'tsnet.db'));
  });
  afterEach(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies its WAL into the database once it is idle, not inside a commit', async () => {
    const database = (): number => statSync(join(dir, 'tsnet.db')).size;
    const empty = database();
    // 300 small commits: far below the 1,000 pages at which SQLite would copy the WAL inside a commit.
    for (let i = 0; i < 300; i++) store.transaction(() => store.addAddress('pool', `10.0.${i >> 8}.${i & 255}`), 'volatile');
    expect(database()).toBe(empty);
    for (let waited = 0; database() === empty && waited < 3000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    expect(database()).toBeGreaterThan(empty);
    expect(store.addresses('pool')).toHaveLength(300);
  });
});
