import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDefaultPool } from '../../../src/ipam/default-pools.js';
import { IntervalSet } from '../../../src/ipam/interval-set.js';
import { Ipam } from '../../../src/ipam/ipam.js';
import { Subnet, parseAddress } from '../../../src/ipam/subnet.js';

describe('IntervalSet', () => {
  it('behaves as a set of numbers under random adds and deletes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 63 })), { maxLength: 300 }), (ops) => {
        const set = IntervalSet.of(0n, 63n);
        const model = new Set(Array.from({ length: 64 }, (_, i) => i));
        for (const [add, v] of ops) {
          expect(add ? set.add(BigInt(v)) : set.delete(BigInt(v))).toBe(add ? !model.has(v) : model.has(v));
          if (add) model.add(v);
          else model.delete(v);
        }
        expect(set.size).toBe(BigInt(model.size));
        for (let v = 0; v < 64; v++) expect(set.has(BigInt(v))).toBe(model.has(v));
        const sorted = [...model].sort((a, b) => a - b);
        expect(set.firstAtOrAfter(10n)).toBe(sorted.find((v) => v >= 10) === undefined ? undefined : BigInt(sorted.find((v) => v >= 10)!));
        // Intervals stay disjoint and never adjacent.
        const iv = set.intervals;
        for (let i = 1; i < iv.length; i++) expect(iv[i]![0] > iv[i - 1]![1] + 1n).toBe(true);
      }),
    );
  });
});

describe('address pools', () => {
  it('never hands out the network, broadcast, gateway or auxiliary addresses, nor one address twice', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 400 }), (ops) => {
        const ipam = new Ipam();
        const pool = ipam.requestPool({ subnet: '10.5.0.0/24', auxAddresses: { host: '10.5.0.7' } });
        const held: string[] = [];
        for (const allocate of ops) {
          if (allocate || held.length === 0) {
            try {
              held.push(pool.allocate());
            } catch (err) {
              expect(String(err)).toMatch(/no free address left/);
              expect(held.length).toBe(256 - 4); // network, broadcast, gateway, aux
            }
          } else {
            pool.release(held.splice(Math.floor(held.length / 2), 1)[0]!);
          }
          expect(new Set(held).size).toBe(held.length);
          for (const a of held) expect(['10.5.0.0', '10.5.0.255', '10.5.0.1', '10.5.0.7']).not.toContain(a);
        }
        expect(pool.addresses.sort()).toEqual([...held].sort());
      }),
    );
  });

  it('allocates sequentially and does not reuse a just-released address first, as Docker does', () => {
    const pool = new Ipam().requestPool({ subnet: '10.6.0.0/29' });
    expect([pool.allocate(), pool.allocate(), pool.allocate()]).toEqual(['10.6.0.2', '10.6.0.3', '10.6.0.4']);
    pool.release('10.6.0.3');
    expect(pool.allocate()).toBe('10.6.0.5');
    expect(pool.allocate()).toBe('10.6.0.6');
    expect(pool.allocate()).toBe('10.6.0.3'); // wrapped around
    expect(() => pool.allocate()).toThrow('no free address left in 10.6.0.0/29 (pool 10.6.0.0/29)');
  });

  it('hands out a requested address, refusing taken, reserved and foreign ones', () => {
    const pool = new Ipam().requestPool({ subnet: '10.7.0.0/24', ipRange: '10.7.0.128/25', gateway: '10.7.0.254' });
    expect(pool.allocate()).toBe('10.7.0.128');
    expect(pool.allocate('10.7.0.9')).toBe('10.7.0.9'); // outside the range, inside the subnet: allowed, as in Docker
    expect(() => pool.allocate('10.7.0.9')).toThrow('address 10.7.0.9 is already in use');
    expect(() => pool.allocate('10.7.0.254')).toThrow(/is reserved/);
    expect(() => pool.allocate('10.8.0.1')).toThrow('address 10.8.0.1 is not in the subnet 10.7.0.0/24');
    expect(() => pool.release('10.7.0.50')).toThrow(/not allocated/);
  });

  it('handles an IPv6 /64 without a 2^64 bitmap', () => {
    const pool = new Ipam().requestPool({ subnet: 'fd00:1:2:3::/64' });
    expect(pool.config.gateway && pool.config.subnet.contains(pool.config.gateway)).toBe(true);
    const got = Array.from({ length: 1000 }, () => pool.allocate());
    expect(got[0]).toBe('fd00:1:2:3::2');
    expect(got[999]).toBe('fd00:1:2:3::3e9');
    expect(pool.allocate('fd00:1:2:3:ffff:ffff:ffff:ffff')).toBe('fd00:1:2:3:ffff:ffff:ffff:ffff');
  });

  it('restores its state from the addresses and the cursor it saved', () => {
    const a = new Ipam().requestPool({ subnet: '10.9.0.0/24', id: 'p' });
    for (let i = 0; i < 5; i++) a.allocate();
    a.release('10.9.0.3');
    const b = new Ipam().requestPool({ subnet: '10.9.0.0/24', id: 'p' });
    b.restore(a.addresses, a.nextSearch);
    expect(b.allocate()).toBe(a.allocate());
  });
});

describe('IPAM pools', () => {
  it("cuts automatic subnets from Docker's default pools, never overlapping", () => {
    const ipam = new Ipam();
    const subnets = Array.from({ length: 17 }, () => ipam.requestPool({}).config.subnet.toString());
    expect(subnets.slice(0, 3)).toEqual(['172.17.0.0/16', '172.18.0.0/16', '172.19.0.0/16']);
    expect(subnets[14]).toBe('172.31.0.0/16');
    expect(subnets.slice(15)).toEqual(['192.168.0.0/20', '192.168.16.0/20']);
  });

  it('skips subnets taken by explicit pools and by host routes', () => {
    const ipam = new Ipam();
    ipam.requestPool({ subnet: '172.18.0.0/24' });
    const avoid = ['172.17.5.0/24', '172.19.0.0/16'].map((s) => ({ subnet: Subnet.parse(s), holder: `the host's route to ${s}` }));
    expect(ipam.requestPool({ avoid }).config.subnet.toString()).toBe('172.20.0.0/16');
    // An explicit subnet is checked against the same reservations, and the error names the holder.
    expect(() => ipam.requestPool({ subnet: '172.19.3.0/24', avoid })).toThrow("subnet 172.19.3.0/24 overlaps the host's route to 172.19.0.0/16");
  });

  it('refuses an overlapping explicit subnet, naming the pool it overlaps', () => {
    const ipam = new Ipam();
    ipam.requestPool({ subnet: '10.1.0.0/16' });
    expect(() => ipam.requestPool({ subnet: '10.1.2.0/24' })).toThrow('subnet 10.1.2.0/24 overlaps pool 10.1.0.0/16');
    expect(() => ipam.requestPool({ subnet: '10.0.0.0/8' })).toThrow(/overlaps pool 10.1.0.0\/16/);
  });

  it('refuses bad input with clear messages', () => {
    const ipam = new Ipam();
    expect(() => ipam.requestPool({ subnet: '10.1.0.0/33' })).toThrow(/prefix length must be from 0 to 32/);
    expect(() => ipam.requestPool({ subnet: '10.1.0.5/16' })).toThrow(/host bits are set \(did you mean 10.1.0.0\/16\?\)/);
    expect(() => ipam.requestPool({ subnet: '10.1.0.0/16', gateway: '10.2.0.1' })).toThrow('gateway 10.2.0.1 is not in the subnet 10.1.0.0/16');
    expect(() => ipam.requestPool({ subnet: '10.1.0.0/16', ipRange: '10.3.0.0/24' })).toThrow(/ip range 10.3.0.0\/24 is not inside/);
    expect(() => ipam.requestPool({ subnet: 'banana' })).toThrow(/invalid subnet "banana"/);
    // IPv6 without a subnet: the next free /64 of fd00::/8, as Docker 27.
    const v6 = new Ipam();
    expect(v6.requestPool({ family: 6 }).config.subnet.toString()).toBe('fd00::/64');
    expect(v6.requestPool({ family: 6 }).config.subnet.toString()).toBe('fd00:0:0:1::/64');
    expect(ipam.poolList).toHaveLength(0);
  });

  it('says when the default pools are exhausted', () => {
    const ipam = new Ipam({ localPools: [parseDefaultPool('base=10.10.0.0/23,size=24')] });
    ipam.requestPool({});
    ipam.requestPool({});
    expect(() => ipam.requestPool({})).toThrow('no free subnet left in the default address pools of the local space');
  });

  it('parses --default-address-pool values', () => {
    expect(parseDefaultPool('base=10.10.0.0/16,size=24')).toMatchObject({ size: 24 });
    expect(() => parseDefaultPool('base=10.10.0.0/16')).toThrow(/both base and size/);
    expect(() => parseDefaultPool('base=10.10.0.0/16,size=8')).toThrow(/size must be from 16 to 32/);
    expect(() => parseDefaultPool('base=10.10.0.0/16,size=24,x=1')).toThrow(/unknown field "x"/);
  });

  it('parses addresses of both families', () => {
    expect(parseAddress('10.0.0.1')).toEqual({ family: 4, value: 0x0a000001n });
    expect(parseAddress('::1')).toEqual({ family: 6, value: 1n });
  });
});

describe('what a network may hold', () => {
  it('refuses special ranges, too-small subnets, and gateways, aux addresses and ranges that cannot work', () => {
    const ipam = new Ipam();
    const refused: [Parameters<Ipam['planPool']>[0], RegExp][] = [
      [{ subnet: '127.0.0.0/8' }, /overlaps loopback \(127\.0\.0\.0\/8\)/u],
      [{ subnet: '224.0.0.0/4' }, /overlaps multicast/u],
      [{ subnet: '0.0.0.0/8' }, /"this network"/u],
      [{ subnet: '255.255.255.255/32' }, /overlaps reserved, with the broadcast address/u],
      [{ subnet: '169.254.0.0/16' }, /link-local \(169\.254\.0\.0\/16\)/u],
      [{ subnet: '10.9.0.0/31' }, /10\.9\.0\.0\/31 is too small: a network needs at least a \/30/u],
      [{ subnet: '10.9.0.7/32' }, /too small/u],
      [{ subnet: '::1/128', family: 6 }, /unspecified and loopback/u],
      [{ subnet: '::ffff:0:0/96', family: 6 }, /IPv4-mapped/u],
      [{ subnet: 'fe80::/64', family: 6 }, /link-local \(fe80::\/10\)/u],
      [{ subnet: 'ff02::/64', family: 6 }, /multicast \(ff00::\/8\)/u],
      [{ subnet: '10.9.0.0/24', gateway: '10.9.0.0' }, /gateway 10\.9\.0\.0 is the network address of 10\.9\.0\.0\/24/u],
      [{ subnet: '10.9.0.0/24', gateway: '10.9.0.255' }, /is the broadcast address/u],
      [{ subnet: '10.9.0.0/24', auxAddresses: { router: '10.9.0.1' } }, /auxiliary address "router" 10\.9\.0\.1 is the gateway/u],
      [{ subnet: '10.9.0.0/24', ipRange: '10.9.0.255/32' }, /ip range 10\.9\.0\.255\/32 holds no address to give/u],
    ];
    for (const [req, message] of refused) expect(() => ipam.planPool(req), JSON.stringify(req)).toThrow(message);
    expect(ipam.planPool({ subnet: '10.9.0.0/30' }).subnet.toString()).toBe('10.9.0.0/30');
    expect(ipam.planPool({ subnet: 'fd00:9::/64', family: 6 }).subnet.toString()).toBe('fd00:9::/64');
    // A pool restored from the store is taken as it was made.
    expect(ipam.planPool({ id: 'old', subnet: '10.9.0.0/31', gateway: null }).subnet.toString()).toBe('10.9.0.0/31');
  });
});
