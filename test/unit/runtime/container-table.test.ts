import { describe, expect, it } from 'vitest';
import { ContainerTable } from '../../../src/runtime/container-table.js';
import type { ContainerState } from '../../../src/runtime/types.js';

const state = (id: string, name: string, created: string, labels: Record<string, string> = {}): ContainerState =>
  ({ id, name, created, status: 'created', config: { labels } }) as unknown as ContainerState;

describe('the runtime’s table of containers', () => {
  it('lists in creation order, whatever order they were read back in, and keeps it as containers come and go', () => {
    const t = new ContainerTable();
    // As read from the containers' folder at open: not in creation order.
    t.set(state('c3', 'three', '2026-12-01T10:00:03.000Z'));
    t.set(state('c1', 'one', '2026-12-01T10:00:01.000Z'));
    t.set(state('c2', 'two', '2026-12-01T10:00:02.000Z'));
    expect(t.sorted().map((c) => c.id)).toEqual(['c1', 'c2', 'c3']);
    t.set(state('c4', 'four', '2026-12-01T10:00:04.000Z'));
    t.set({ ...state('c2', 'two', '2026-12-01T10:00:02.000Z'), status: 'running' } as ContainerState);
    t.delete('c1');
    expect(t.sorted().map((c) => `${c.id} ${c.status}`)).toEqual(['c2 running', 'c3 created', 'c4 created']);
    expect(t.filter((c) => c.id !== 'c3').map((c) => c.id)).toEqual(['c2', 'c4']);
  });

  it('filters in creation order before any listing sorted them', () => {
    const t = new ContainerTable();
    t.set(state('b', 'same', '2026-12-01T10:00:02.000Z'));
    t.set(state('a', 'other', '2026-12-01T10:00:01.000Z'));
    expect(t.filter(() => true).map((c) => c.id)).toEqual(['a', 'b']);
  });

  it('finds by id, by name, then by a unique id prefix', () => {
    const t = new ContainerTable();
    t.set(state('abc123', 'web', '2026-12-01T10:00:01.000Z'));
    t.set(state('abd456', 'abc123x', '2026-12-01T10:00:02.000Z'));
    expect(t.find('abc123').name).toBe('web');
    expect(t.find('abc123x').id).toBe('abd456');
    expect(t.find('abd').id).toBe('abd456');
    expect(() => t.find('ab')).toThrow('container id prefix "ab" is ambiguous');
    expect(() => t.find('zz')).toThrow('container "zz" not found');
  });

  it('finds the containers of a label value, also those added and not those removed after its first question', () => {
    const t = new ContainerTable();
    t.set(state('b', 'b', '2026-12-01T10:00:02.000Z', { sandbox: 's1' }));
    t.set(state('a', 'a', '2026-12-01T10:00:01.000Z', { sandbox: 's1' }));
    t.set(state('c', 'c', '2026-12-01T10:00:03.000Z', { sandbox: 's2' }));
    t.set(state('d', 'd', '2026-12-01T10:00:04.000Z'));
    expect(t.withLabel('sandbox', 's1').map((c) => c.id)).toEqual(['a', 'b']);
    t.set(state('e', 'e', '2026-12-01T10:00:05.000Z', { sandbox: 's1' }));
    t.delete('a');
    t.delete('zz');
    expect(t.withLabel('sandbox', 's1').map((c) => c.id)).toEqual(['b', 'e']);
    expect(t.withLabel('sandbox', 's2').map((c) => c.id)).toEqual(['c']);
    expect(t.withLabel('sandbox', 's3')).toEqual([]);
    expect(t.withLabel('other', 's1')).toEqual([]);
  });
});
