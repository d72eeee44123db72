/**
 * Published ports with real packets: DNAT from outside keeping the client's address, hairpin, the host's own
 * connections through 127.0.0.1, ports bound to 127.0.0.1 unreachable from outside, UDP, IPv6, the host port held
 * against other programs, conflicts refused naming the holder, everything gone with the sandbox and restored after
 * a restart.
 */
import { expect, it } from 'vitest';
import { addressOf } from '../../src/ipam/subnet.js';
import type { PortSpec } from '../../src/cnm/controller.js';
import { BACKENDS } from '../helpers/firewall-backends.js';
import { describeKernel } from '../helpers/lab.js';
import { canBind, probe, udpArrives } from '../helpers/probes.js';
import { UPSTREAM, useWorld, sandboxNs } from '../helpers/world.js';

const tcp = (hostPort: number | undefined, containerPort = 80, hostIp?: string): PortSpec => ({
  protocol: 'tcp',
  containerPort,
  ...(hostPort !== undefined ? { hostPort } : {}),
  ...(hostIp ? { hostIp } : {}),
});

for (const fw of BACKENDS)
  describeKernel(`published ports (${fw.backend} firewall)`, () => {
    const w = useWorld({ firewallBackend: fw.backend });

    /** A sandbox on network web publishing specs; its namespace and IPv4 address. */
    async function publisher(name: string, publish: PortSpec[], network = 'web'): Promise<{ id: string; ns: ReturnType<typeof sandboxNs>; ip: string }> {
      const { ctl } = w();
      const s = await ctl.createSandbox({ containerId: `${name}-container`, containerName: name, hostname: name, publish });
      const e = await ctl.connect(network, s.id);
      return { id: s.id, ns: sandboxNs(s.netnsPath), ip: addressOf(e.ipv4!) };
    }
    const nat = async (): Promise<string> => fw.rules(w().lab);

    it('reaches a published port from outside with the client address kept, from a neighbour and itself (hairpin) and from the host', async () => {
      const { ctl, lab, world } = w();
      await ctl.createNetwork({ name: 'web', subnet: '10.71.0.0/24' });
      const web = await publisher('web1', [tcp(8080)]);
      const other = await publisher('web2', []);
      const listen = { address: web.ip, port: 80 };
      const viaHost = { address: UPSTREAM.host, port: 8080 };
      expect(await probe(lab, 'tcp', web.ns, world.upstream, listen, viaHost)).toBe(UPSTREAM.gateway);
      // Hairpin: the reply would go straight back over the bridge, so these are masqueraded to the gateway.
      expect(await probe(lab, 'tcp', web.ns, other.ns, listen, viaHost)).toBe('10.71.0.1');
      expect(await probe(lab, 'tcp', web.ns, web.ns, listen, viaHost)).toBe('10.71.0.1');
      expect(await probe(lab, 'tcp', web.ns, lab.host, listen, { address: '127.0.0.1', port: 8080 })).toBe('10.71.0.1');
      expect(await probe(lab, 'tcp', web.ns, lab.host, listen, viaHost)).toBe(UPSTREAM.host);
      expect(ctl.endpointsOf({ sandboxId: web.id })[0]!.ports).toEqual([{ protocol: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 }]);
    });

    it('keeps a port published on 127.0.0.1 to the host, publishes UDP, and gives ephemeral ports from ip_local_port_range', async () => {
      const { ctl, lab, world } = w();
      await ctl.createNetwork({ name: 'web', subnet: '10.72.0.0/24' });
      const local = await publisher('local', [
        tcp(8082, 80, '127.0.0.1'),
        { protocol: 'udp', containerPort: 53, hostPort: 5353 },
        tcp(undefined, 81),
        { protocol: 'udp', containerPort: 54, hostPort: 5354, hostIp: '127.0.0.1' },
      ]);
      const listen = { address: local.ip, port: 80 };
      expect(await probe(lab, 'tcp', local.ns, lab.host, listen, { address: '127.0.0.1', port: 8082 })).toBe('10.72.0.1');
      expect(await probe(lab, 'tcp', local.ns, world.upstream, listen, { address: UPSTREAM.host, port: 8082 })).toBeUndefined();
      // A neighbour that routes packets for 127.0.0.1 to the host (the hole Docker 28 closed): nothing gets through.
      await lab.exec(world.upstream, 'sysctl', ['-qw', 'net.ipv4.conf.wan0.route_localnet=1']);
      await lab.exec(world.upstream, 'ip', ['route', 'del', 'local', '127.0.0.0/8', 'dev', 'lo', 'table', 'local']);
      await lab.exec(world.upstream, 'ip', ['route', 'del', 'local', '127.0.0.1', 'dev', 'lo', 'table', 'local']);
      await lab.exec(world.upstream, 'ip', ['route', 'add', '127.0.0.1/32', 'via', UPSTREAM.host]);
      const udp54 = { address: local.ip, port: 54 };
      expect(await udpArrives(lab, local.ns, lab.host, udp54, { address: '127.0.0.1', port: 5354 })).toBe(true);
      expect(await udpArrives(lab, local.ns, world.upstream, udp54, { address: '127.0.0.1', port: 5354 })).toBe(false);
      expect(await probe(lab, 'udp', local.ns, world.upstream, { address: local.ip, port: 53 }, { address: UPSTREAM.host, port: 5353 })).toBe(UPSTREAM.gateway);
      const ephemeral = ctl.endpointsOf({ sandboxId: local.id })[0]!.ports!.find((p) => p.containerPort === 81)!;
      const [low, high] = lab.host.sysctlRead('net/ipv4/ip_local_port_range').split(/\s+/u).map(Number);
      expect(ephemeral.hostPort).toBeGreaterThanOrEqual(low!);
      expect(ephemeral.hostPort).toBeLessThanOrEqual(high!);
      expect(await probe(lab, 'tcp', local.ns, world.upstream, { address: local.ip, port: 81 }, { address: UPSTREAM.host, port: ephemeral.hostPort })).toBe(
        UPSTREAM.gateway,
      );
    });

    it('holds the host port against other programs and refuses a second publisher, naming the holder, with nothing half made', async () => {
      const { ctl, lab } = w();
      await ctl.createNetwork({ name: 'web', subnet: '10.73.0.0/24' });
      await publisher('first', [tcp(8080), { protocol: 'udp', containerPort: 80, hostPort: 8080 }]);
      expect(await canBind(lab, lab.host, 'tcp', 8080)).toBe(false);
      expect(await canBind(lab, lab.host, 'udp', 8080)).toBe(false);
      const before = (await lab.ip(lab.host, 'link', 'show')).length;
      await expect(publisher('second', [tcp(8080)])).rejects.toMatchObject({
        code: 'TSNET_ERR_PORT_IN_USE',
        message: expect.stringMatching(/held by container first/u),
      });
      expect((await lab.ip(lab.host, 'link', 'show')).length).toBe(before);
      // A program of someone else's listening on a port: named by its process.
      const { spawn } = await import('node:child_process');
      const holder = spawn('nsenter', [
        `--net=${lab.host.path}`,
        '--',
        process.execPath,
        '-e',
        "require('net').createServer().listen(9090,()=>console.log('up'))",
      ]);
      try {
        await new Promise((r) => holder.stdout.once('data', r));
        await expect(publisher('third', [tcp(9090)])).rejects.toThrow(new RegExp(`9090/tcp: it is held by process ${holder.pid} \\(node\\)`, 'u'));
      } finally {
        holder.kill();
      }
    });

    it('removes the rules and gives the port back with the sandbox, and restores both after a restart', async () => {
      const { ctl, lab, world } = w();
      await ctl.createNetwork({ name: 'web', subnet: '10.74.0.0/24' });
      const kept = await publisher('kept', [tcp(8080)]);
      const gone = await publisher('gone', [tcp(8081)]);
      await ctl.deleteSandbox(gone.id);
      expect(await nat()).not.toContain(fw.dnatTo(gone.ip, 80));
      expect(await canBind(lab, lab.host, 'tcp', 8081)).toBe(true);
      // A restart after someone flushed tsnet's nat chain: the rules come back and the port is held again.
      expect((await ctl.doctor(false)).recreated).toEqual([]);
      await fw.flushPorts(lab);
      expect((await ctl.doctor(false)).recreated).toEqual([expect.stringContaining(fw.flushedPorts(kept.ip, 80))]);
      const report = await w().reopen();
      expect(report.broken).toEqual([]);
      expect(await nat()).toContain(fw.dnatTo(kept.ip, 80));
      expect(await canBind(lab, lab.host, 'tcp', 8080)).toBe(false);
      expect((await w().ctl.doctor(false)).recreated).toEqual([]);
      expect(await probe(lab, 'tcp', kept.ns, world.upstream, { address: kept.ip, port: 80 }, { address: UPSTREAM.host, port: 8080 })).toBe(UPSTREAM.gateway);
    });

    it('publishes on IPv6 too when the network has IPv6, to the IPv6 address', async () => {
      const { ctl, lab, world } = w();
      // The uplink gets IPv6 addresses of the test's own: upstream fd99::1, host fd99::2.
      await lab.exec(lab.host, 'ip', ['addr', 'add', 'fd99::2/64', 'dev', 'uplink0', 'nodad']);
      await lab.exec(world.upstream, 'ip', ['addr', 'add', 'fd99::1/64', 'dev', 'wan0', 'nodad']);
      await ctl.createNetwork({ name: 'web', subnet: '10.75.0.0/24', ipv6: true, subnet6: 'fd00:75::/64' });
      const web = await publisher('v6', [tcp(8080)]);
      const e = ctl.endpointsOf({ sandboxId: web.id })[0]!;
      expect(e.ports!.map((p) => p.hostIp)).toEqual(['0.0.0.0', '::']);
      const seen = await probe(lab, 'tcp', web.ns, world.upstream, { address: addressOf(e.ipv6!), port: 80 }, { address: 'fd99::2', port: 8080 });
      expect(seen).toBe('fd99::1');
    });

    it('publishes on host_binding_ipv4 by default, and in routed mode reaches containers directly, without NAT, published ports only', async () => {
      const { ctl, lab, world } = w();
      await ctl.createNetwork({ name: 'web', subnet: '10.77.0.0/24', options: { 'com.docker.network.bridge.host_binding_ipv4': '127.0.0.1' } });
      const local = await publisher('local', [tcp(8080)]);
      expect(ctl.endpointsOf({ sandboxId: local.id })[0]!.ports![0]!.hostIp).toBe('127.0.0.1');
      expect(await probe(lab, 'tcp', local.ns, lab.host, { address: local.ip, port: 80 }, { address: '127.0.0.1', port: 8080 })).toBe('10.77.0.1');
      expect(await probe(lab, 'tcp', local.ns, world.upstream, { address: local.ip, port: 80 }, { address: UPSTREAM.host, port: 8080 })).toBeUndefined();

      await ctl.createNetwork({ name: 'routed', subnet: '10.78.0.0/24', options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' } });
      const direct = await publisher('direct', [tcp(8081)], 'routed');
      // The upstream routes the containers' subnet to the host, as a router in front of a routed network would.
      await lab.exec(world.upstream, 'ip', ['route', 'add', '10.78.0.0/24', 'via', UPSTREAM.host]);
      expect(await probe(lab, 'tcp', direct.ns, world.upstream, { address: direct.ip, port: 80 })).toBe(UPSTREAM.gateway);
      expect(await probe(lab, 'tcp', direct.ns, world.upstream, { address: direct.ip, port: 81 })).toBeUndefined();
      // Outbound, the upstream sees the container's own address: no masquerade.
      expect(await probe(lab, 'tcp', world.upstream, direct.ns, { address: UPSTREAM.server, port: 9000 })).toBe(direct.ip);
      expect(await nat()).not.toContain('10.78.0.0/24');
      await expect(ctl.createNetwork({ name: 'bad', options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'nat-unprotected' } })).rejects.toThrow(
        /must be nat or routed/u,
      );
    });
  });
