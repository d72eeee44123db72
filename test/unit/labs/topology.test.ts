/** containerlab topology files read and checked without root: inheritance, substitution, and errors with lines. */
import { describe, expect, it } from 'vitest';
import { CompiledSchemas } from '../../../src/labs/schema-check.js';
import { containerName, parseTopology, splitWords, substituteEnv } from '../../../src/labs/topology.js';

const RING = `name: ring
topology:
  defaults:
    env: { A: "1" }
  kinds:
    linux:
      image: \${IMAGE:=busybox}
      sysctls: { net.ipv4.ip_forward: 1 }
  nodes:
    r1: { kind: linux, env: { B: "2" } }
    r2: { kind: linux, cmd: "sh -c 'sleep 1000'" }
    sw: { kind: bridge }
  links:
    - endpoints: ["r1:eth1", "r2:eth1"]
      mtu: 9000
    - type: veth
      endpoints: [{ node: r2, interface: eth2, mac: "02:00:00:00:00:02" }, { node: sw, interface: r2port }]
`;

describe('containerlab topology files', () => {
  it('inherits defaults < kinds < node, substitutes the environment, and names containers as containerlab does', () => {
    const t = parseTopology({
      text: RING,
      env: {},
      companion: 'nodes:\n  r1:\n    interfaces: { eth1: { addresses: [10.0.12.1/30] } }\n    routes: [{ dst: 10.0.23.0/30, via: 10.0.12.2 }]\n',
    });
    const r1 = t.nodes.find((n) => n.name === 'r1')!;
    expect(r1).toMatchObject({
      kind: 'linux',
      image: 'busybox',
      env: { A: '1', B: '2' },
      sysctls: { 'net.ipv4.ip_forward': '1' },
      addresses: { eth1: ['10.0.12.1/30'] },
    });
    expect(t.nodes.find((n) => n.name === 'r2')!.cmd).toEqual(['sh', '-c', 'sleep 1000']);
    expect(t.links).toEqual([
      { a: { node: 'r1', iface: 'eth1' }, b: { node: 'r2', iface: 'eth1' }, mtu: 9000 },
      { a: { node: 'r2', iface: 'eth2', mac: '02:00:00:00:00:02' }, b: { node: 'sw', iface: 'r2port' } },
    ]);
    expect(t.mgmt).toEqual({ network: 'clab', ipv4Subnet: '172.20.20.0/24' });
    expect(containerName(t, 'r1')).toBe('clab-ring-r1');
    expect(containerName({ name: 'ring', prefix: '' }, 'r1')).toBe('r1');
    expect(parseTopology({ text: RING, env: { IMAGE: 'alpine' } }).nodes[0]!.image).toBe('alpine');
    expect(substituteEnv('${X:-a} ${Y} ${Z:=c}', { Y: 'y' })).toBe('a y c');
    expect(splitWords(`a "b c" 'd e'f g\\ h`)).toEqual(['a', 'b c', 'd ef', 'g h']);
  });

  it.each([
    ['walked', undefined],
    ['compiled', new CompiledSchemas()],
  ])('refuses unknown keys, links to unknown nodes, a duplicated interface and invalid addresses, with the line of each (schemas %s)', (_, checker) => {
    const bad = `name: bad
topology:
  nodes:
    r1: { kind: linux, image: busybox, colour: red }
    r2: { kind: linux, image: busybox, ports: ["80:80"] }
    r3: { kind: nokia_srlinux, image: srl }
  links:
    - endpoints: ["r1:eth1", "r9:eth1"]
    - endpoints: ["r1:eth1", "r2:eth1"]
`;
    let problems: readonly string[] = [];
    try {
      parseTopology({
        text: bad,
        file: 'bad.clab.yml',
        companion: 'nodes:\n  r2:\n    interfaces: { eth1: { addresses: [10.0.0.300/24] } }\n',
        ...(checker ? { checker } : {}),
      });
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toEqual([
      'line 4: topology.nodes.r1.colour: unknown key',
      "line 5: topology.nodes.r2.ports: containerlab's key, which tsnet does not support",
    ]);
    const semantic = bad.replace(', colour: red', '').replace(', ports: ["80:80"]', '');
    try {
      parseTopology({
        text: semantic,
        file: 'bad.clab.yml',
        companion: 'nodes:\n  r2:\n    interfaces: { eth1: { addresses: [10.0.0.300/24] } }\n',
        ...(checker ? { checker } : {}),
      });
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toEqual([
      'companion line 3: nodes.r2.interfaces.eth1.addresses.0: "10.0.0.300/24" is not an address with a prefix length',
      'line 6: topology.nodes.r3.kind: kind "nokia_srlinux" is a vendor network OS image, which tsnet cannot run (it runs linux and bridge nodes)',
      'line 8: topology.links.0.endpoints.1: link to unknown node "r9"',
      'line 9: topology.links.1.endpoints.0: interface r1:eth1 is already used by link 1',
    ]);
    expect(() => parseTopology({ text: 'name: x\ntopology:\n  nodes:\n    a: {kind: linux\n' })).toThrow(/line \d+:/u);
  });

  it('reads impairments from the companion file, and refuses bad ones with the line', () => {
    const text =
      'name: i\ntopology:\n  nodes:\n    a: { kind: linux, image: busybox }\n    b: { kind: linux, image: busybox }\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n';
    const t = parseTopology({ text, companion: 'nodes:\n  a:\n    interfaces:\n      eth1: { impair: { rate: 10mbit, loss: 5% } }\n' });
    expect(t.nodes[0]!.impair).toEqual({ eth1: { rate: '10mbit', loss: '5%' } });
    let problems: readonly string[] = [];
    try {
      parseTopology({ text, companion: 'nodes:\n  a:\n    interfaces:\n      eth1: { impair: { corrupt: 150% } }\n      eth2: { impair: { rate: fast } }\n' });
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems[0]).toMatch(/^companion line 4: nodes\.a\.interfaces\.eth1\.impair: invalid corrupt "150%"/u);
    expect(problems[1]).toMatch(/^companion line 5: nodes\.a\.interfaces\.eth2\.impair: invalid rate "fast"/u);
    expect(problems[2]).toMatch(/no link gives a an interface eth2/u);
  });

  it('takes binds as HOST:CONTAINER[:ro|rw], keeps the file folder for relative ones, and refuses others with their line', () => {
    const text = 'name: b\ntopology:\n  nodes:\n    a:\n      kind: linux\n      image: busybox\n      binds: [data:/data:ro, /etc/x:/x]\n';
    const t = parseTopology({ text, dir: '/labs' });
    expect([t.dir, t.nodes[0]!.binds]).toEqual(['/labs', ['data:/data:ro', '/etc/x:/x']]);
    let problems: readonly string[] = [];
    try {
      parseTopology({ text: text.replace('/etc/x:/x', 'x:relative:rx') });
    } catch (err) {
      problems = (err as { problems: string[] }).problems;
    }
    expect(problems).toEqual(['line 7: topology.nodes.a.binds.1: "x:relative:rx" is not HOST:CONTAINER[:ro|rw] with an absolute CONTAINER path']);
  });
});
