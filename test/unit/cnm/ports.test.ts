/** Published ports without root: Docker's -p syntax, expansion into bindings, and the Controller's bookkeeping on fakes. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkPortSpecs, clashes, expandPortSpecs } from '../../../src/cnm/ports/specs.js';
import { formatBinding, parseExpose, parsePublish } from '../../../src/lib/port-syntax.js';
import { unitWorld, type UnitWorld } from '../../helpers/fakes.js';

describe("Docker's port syntax", () => {
  it('reads every form of -p', () => {
    expect(parsePublish('80')).toEqual({ protocol: 'tcp', containerPort: 80 });
    expect(parsePublish('8080:80/udp')).toEqual({ protocol: 'udp', containerPort: 80, hostPort: 8080 });
    expect(parsePublish('127.0.0.1:8080:80')).toEqual({ protocol: 'tcp', containerPort: 80, hostPort: 8080, hostIp: '127.0.0.1' });
    expect(parsePublish('127.0.0.1::80')).toEqual({ protocol: 'tcp', containerPort: 80, hostIp: '127.0.0.1' });
    expect(parsePublish('[::1]:8080:80/sctp')).toEqual({ protocol: 'sctp', containerPort: 80, hostPort: 8080, hostIp: '::1' });
    expect(parsePublish('8000-8010:80-90')).toEqual({ protocol: 'tcp', containerPort: 80, containerPortEnd: 90, hostPort: 8000, hostPortEnd: 8010 });
    expect(parseExpose('53/udp')).toEqual({ protocol: 'udp', containerPort: 53 });
    expect(formatBinding({ protocol: 'tcp', containerPort: 80, hostIp: '::', hostPort: 8080 })).toBe('80/tcp -> [::]:8080');
  });

  it('refuses what is not a port, naming it', () => {
    for (const bad of ['0', '70000', '80/icmp', 'a:b', '1:2:3:4', '90-80', '[::1:80'])
      expect(() => parsePublish(bad)).toThrow(new RegExp(bad.replace(/[[\]]/gu, '\\$&'), 'u'));
    expect(() => checkPortSpecs([{ protocol: 'tcp', containerPort: 80, containerPortEnd: 82, hostPort: 8000, hostPortEnd: 8001 }])).toThrow(
      /3 container ports cannot map to 2 host ports/u,
    );
    expect(() => checkPortSpecs([{ protocol: 'tcp', containerPort: 80, hostIp: 'localhost' }])).toThrow(/not an IP address/u);
  });

  it('expands ranges and families into bindings, on the network default host address', () => {
    const specs = [{ protocol: 'tcp' as const, containerPort: 80, containerPortEnd: 81, hostPort: 8000, hostPortEnd: 8001 }];
    expect(expandPortSpecs(specs, { v4: true, v6: true }, '192.0.2.1').map((b) => `${b.hostIp}:${b.hostPort}->${b.containerPort}`)).toEqual([
      '192.0.2.1:8000->80',
      '192.0.2.1:8001->81',
      ':::8000->80',
      ':::8001->81',
    ]);
    expect(expandPortSpecs([{ protocol: 'tcp', containerPort: 80, hostPort: 8000, hostPortEnd: 8009 }], { v4: true, v6: false })).toEqual([
      { protocol: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8000, hostPortEnd: 8009 },
    ]);
    expect(() => expandPortSpecs([{ protocol: 'tcp', containerPort: 80, hostIp: '::1' }], { v4: true, v6: false })).toThrow(/no IPv6 address/u);
  });

  it('sees a clash only on the same protocol, port and family, with the same address or a wildcard', () => {
    const b = (hostIp: string, protocol = 'tcp', hostPort = 80): { protocol: string; hostIp: string; hostPort: number } => ({ protocol, hostIp, hostPort });
    expect(clashes(b('0.0.0.0'), b('127.0.0.1'))).toBe(true);
    expect(clashes(b('127.0.0.1'), b('127.0.0.2'))).toBe(false);
    expect(clashes(b('0.0.0.0'), b('::'))).toBe(false);
    expect(clashes(b('0.0.0.0'), b('0.0.0.0', 'udp'))).toBe(false);
    expect(clashes(b('0.0.0.0'), b('0.0.0.0', 'tcp', 81))).toBe(false);
  });
});

describe('Controller: published ports', () => {
  let w: UnitWorld;
  beforeEach(async () => {
    w = await unitWorld();
    await w.controller.createNetwork({ name: 'a', subnet: '10.1.0.0/24' });
    await w.controller.createNetwork({ name: 'b', subnet: '10.2.0.0/24' });
  });
  afterEach(() => w.dispose());
  const sandbox = (name: string, hostPort: number | undefined): ReturnType<UnitWorld['controller']['createSandbox']> =>
    w.controller.createSandbox({
      containerId: `${name}-id`,
      containerName: name,
      publish: [{ protocol: 'tcp', containerPort: 80, ...(hostPort ? { hostPort } : {}) }],
    });

  it('gives the ports to the endpoint that carries the gateway, holds them, and programs them in one driver call', async () => {
    const s = await sandbox('web', 8080);
    const e = await w.controller.connect('a', s.id);
    await w.controller.connect('b', s.id);
    expect(e.ports).toEqual([{ protocol: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }]);
    expect(w.controller.endpointsOf({ sandboxId: s.id })[1]!.ports).toBeUndefined();
    expect(w.ports.held).toEqual(new Set(['tcp/0.0.0.0/8080']));
    expect(w.driver.calls.filter((c) => c.startsWith('ports'))).toEqual([`ports 8080->${e.name}:80`]);
  });

  it('refuses a port another container publishes, naming it, and leaves nothing behind', async () => {
    const first = await sandbox('first', 8080);
    await w.controller.connect('a', first.id);
    const second = await sandbox('second', 8080);
    await expect(w.controller.connect('a', second.id)).rejects.toMatchObject({
      code: 'TSNET_ERR_PORT_IN_USE',
      message: expect.stringContaining('held by container first'),
    });
    expect(w.controller.endpointsOf({ sandboxId: second.id })).toEqual([]);
    expect(w.ports.held.size).toBe(1);
  });

  it('gives the ports back and unprograms them when the firewall fails, and when the sandbox goes', async () => {
    const s = await sandbox('web', undefined);
    w.driver.failing.add('ports');
    await expect(w.controller.connect('a', s.id)).rejects.toThrow(/ports failed on purpose/u);
    expect(w.ports.held.size).toBe(0);
    expect(w.driver.calls.filter((c) => c.startsWith('ports')).at(-1)).toBe('ports none');
    const e = await w.controller.connect('a', s.id);
    expect(e.ports![0]!.hostPort).toBe(40001);
    await w.controller.deleteSandbox(s.id);
    expect(w.ports.held.size).toBe(0);
    expect(w.driver.calls.at(-1)).toBe('ports none');
  });

  it('moves the ports to the next gateway when their endpoint is disconnected, and holds them again after a restart', async () => {
    const s = await sandbox('web', 8080);
    await w.controller.connect('a', s.id);
    const next = await w.controller.connect('b', s.id);
    await w.controller.disconnect('a', s.id);
    expect(w.controller.endpoint(next.id)!.ports).toEqual([{ protocol: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }]);
    await w.reopen();
    expect(w.ports.held).toEqual(new Set(['tcp/0.0.0.0/8080']));
    expect(w.controller.endpoint(next.id)!.ports![0]!.hostPort).toBe(8080);
  });

  it("publishes Docker's port map on its endpoint once, and revokes it", async () => {
    const e = await w.controller.createDetachedEndpoint('a', { id: 'd'.repeat(64), name: 'docker-ep', created: '', ipv4: '10.1.0.9/24', aliases: [] });
    const specs = [{ protocol: 'udp' as const, containerPort: 53, hostPort: 5353 }];
    await w.controller.programDockerPorts(e.id, specs);
    await w.controller.programDockerPorts(e.id, specs);
    expect(w.controller.endpoint(e.id)!.ports).toEqual([{ protocol: 'udp', containerPort: 53, hostIp: '0.0.0.0', hostPort: 5353 }]);
    expect(w.ports.held).toEqual(new Set(['udp/0.0.0.0/5353']));
    await w.controller.revokeDockerPorts(e.id);
    expect(w.controller.endpoint(e.id)!.ports).toBeUndefined();
    expect(w.ports.held.size).toBe(0);
  });
});
