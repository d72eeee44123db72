import { describe, expect, it } from 'vitest';
import { CnmState } from '../../../src/cnm/state.js';
import type { EndpointRecord } from '../../../src/cnm/types.js';

const joined = (id: string, networkId: string, sandboxId: string, joinSeq: number): EndpointRecord => ({
  kind: 'joined',
  id,
  name: id,
  networkId,
  created: '',
  aliases: [],
  sandboxId,
  joinSeq,
});
const detached = (id: string, networkId: string): EndpointRecord => ({
  kind: 'detached',
  id,
  name: id,
  networkId,
  created: '',
  aliases: [],
  hostIfname: `h${id}`,
  peerIfname: `p${id}`,
});
const ids = (es: readonly EndpointRecord[]): string[] => es.map((e) => e.id);

describe("the controller's state: endpoints by sandbox and by network", () => {
  it('finds them through its indexes, in join order, as they are put, changed and dropped', () => {
    const s = new CnmState();
    s.putEndpoint(joined('b', 'n1', 's1', 2));
    s.putEndpoint(joined('a', 'n2', 's1', 1));
    s.putEndpoint(joined('c', 'n1', 's2', 3));
    s.putEndpoint(detached('d1', 'n1'));
    s.putEndpoint(detached('d2', 'n1'));
    expect(ids(s.joinedTo('s1'))).toEqual(['a', 'b']);
    expect(ids(s.endpointsOf({ networkId: 'n1' }))).toEqual(['d1', 'd2', 'b', 'c']);
    expect(ids(s.endpointsOf({ networkId: 'n1', sandboxId: 's2' }))).toEqual(['c']);
    expect(ids(s.endpointsOf({}))).toEqual(['d1', 'd2', 'a', 'b', 'c']);
    // A changed endpoint keeps its place; one that moved is found where it is now.
    s.putEndpoint(detached('d1', 'n1'));
    expect(ids(s.endpointsOf({ networkId: 'n1' }))).toEqual(['d1', 'd2', 'b', 'c']);
    s.putEndpoint(joined('c', 'n2', 's1', 3));
    expect(ids(s.joinedTo('s2'))).toEqual([]);
    expect(ids(s.joinedTo('s1'))).toEqual(['a', 'b', 'c']);
    expect(ids(s.endpointsOf({ networkId: 'n2' }))).toEqual(['a', 'c']);
    s.dropEndpoint('a');
    s.dropEndpoint('missing');
    expect(ids(s.joinedTo('s1'))).toEqual(['b', 'c']);
    expect(ids(s.endpointsOf({ networkId: 'n2' }))).toEqual(['c']);
    expect(s.joinedTo('nobody')).toEqual([]);
  });
});
