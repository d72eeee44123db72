import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAddress, parseAnnouncement, parseNetwork } from '../../../src/cluster/keys.js';
import { parseClusterOptions } from '../../../src/cluster/options.js';

describe('cluster flags', () => {
  it("reads Docker's flags: endpoints, the advertised address, the lease", () => {
    expect(parseClusterOptions({ store: 'etcd://10.0.0.1:2379,10.0.0.2:2379', advertise: '10.0.0.5' })).toEqual({
      store: 'etcd://10.0.0.1:2379,10.0.0.2:2379',
      endpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'],
      advertise: '10.0.0.5',
      leaseTtlSeconds: 15,
    });
    expect(parseClusterOptions({ store: 'etcd://etcd.lan:2379', advertise: '10.0.0.5', leaseTtl: '4' }).leaseTtlSeconds).toBe(4);
  });

  it('refuses what it cannot use, saying which flag and why', () => {
    const bad = (input: Parameters<typeof parseClusterOptions>[0]) => () => parseClusterOptions(input);
    expect(bad({ store: 'consul://10.0.0.1:8500', advertise: '10.0.0.5' })).toThrow(/is not etcd:\/\/HOST:PORT/u);
    expect(bad({ store: 'etcd://10.0.0.1', advertise: '10.0.0.5' })).toThrow(/"10\.0\.0\.1" is not HOST:PORT/u);
    expect(bad({ store: 'etcd://10.0.0.1:2379' })).toThrow(/needs --cluster-advertise/u);
    expect(bad({ store: 'etcd://10.0.0.1:2379', advertise: 'eth0' })).toThrow(/"eth0" is not an IPv4 address/u);
    expect(bad({ store: 'etcd://10.0.0.1:2379', advertise: '10.0.0.5', leaseTtl: '1' })).toThrow(/from 2 to 3600/u);
    expect(bad({ store: 'etcd://10.0.0.1:2379', advertise: '10.0.0.5', storeOpts: ['kv.path=/x'] })).toThrow(/known options are kv\.cacertfile/u);
    expect(bad({ store: 'etcd://10.0.0.1:2379', advertise: '10.0.0.5', storeOpts: ['kv.cacertfile=/nonexistent/ca.pem'] })).toThrow(/ENOENT/u);
  });

  it('takes TLS files as --cluster-store-opt, and speaks https with them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsnet-cluster-tls-'));
    try {
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), `${f}\n`);
      const o = parseClusterOptions({
        store: 'etcd://10.0.0.1:2379',
        advertise: '10.0.0.5',
        storeOpts: [`kv.cacertfile=${join(dir, 'ca.pem')},kv.certfile=${join(dir, 'cert.pem')}`, `kv.keyfile=${join(dir, 'key.pem')}`],
      });
      expect(o.endpoints).toEqual(['https://10.0.0.1:2379']);
      expect(o.tls?.ca.toString()).toBe('ca.pem\n');
      expect(o.tls?.key?.toString()).toBe('key.pem\n');
      expect(() => parseClusterOptions({ store: 'etcd://10.0.0.1:2379', advertise: '10.0.0.5', storeOpts: [`kv.certfile=${join(dir, 'cert.pem')}`] })).toThrow(
        /need kv\.cacertfile/u,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cluster records', () => {
  it('reads back what tsnet writes and leaves anything else alone', () => {
    expect(parseAddress('{"endpoint":"e1","host":"h1"}')).toEqual({ endpoint: 'e1', host: 'h1' });
    expect(parseAddress('{"endpoint":1}')).toBeUndefined();
    expect(parseAddress('not json')).toBeUndefined();
    const a = { id: 'e', network: 'n', host: 'h', vtep: '10.0.0.2', mac: '02:42:0a:00:00:02', ipv4: '10.0.0.2', names: ['web'] };
    expect(parseAnnouncement(JSON.stringify(a))).toEqual(a);
    expect(parseAnnouncement(JSON.stringify({ ...a, names: 'web' }))).toBeUndefined();
    expect(parseNetwork(JSON.stringify({ id: 'n', name: 'ov', driver: 'overlay', created: '', pools: {} }))).toMatchObject({ name: 'ov' });
    expect(parseNetwork('[]')).toBeUndefined();
  });
});
