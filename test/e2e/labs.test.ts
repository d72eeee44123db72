/**
 * Labs end to end: the real daemon and CLI deploy examples/labs/ring.clab.yml (three routers in a ring, a host
 * behind a bridge node) in a throwaway namespace whose upstream plays the internet; real pings across it; destroy
 * leaves nothing; bad files are refused with their lines; a daemon killed during a deploy leaves nothing after
 * a restart and a destroy.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { CLI, startDaemon, tearDown, tsnet, type DaemonHandle, useBusyboxTarball } from '../helpers/daemon.js';
import { Lab, describeKernel } from '../helpers/lab.js';
import { UPSTREAM, buildWorld } from '../helpers/world.js';

const RING = fileURLToPath(new URL('../../examples/labs/ring.clab.yml', import.meta.url));

describeKernel('labs, end to end', () => {
  const rootfs = useBusyboxTarball();

  let lab: Lab;
  let d: DaemonHandle;
  beforeEach(async () => {
    lab = Lab.create();
    try {
      await buildWorld(lab);
      d = await startDaemon(lab, 'daemon', ['--bridge', 'none']);
      expect((await tsnet(d, 'image', 'import', rootfs(), 'busybox')).code).toBe(0);
    } catch (err) {
      lab.destroy();
      throw err;
    }
  });
  afterEach(() => tearDown(d, lab));

  const ping = async (node: string, address: string): Promise<boolean> =>
    (await tsnet(d, 'exec', `clab-ring-${node}`, 'ping', '-c', '1', '-W', '2', address)).code === 0;
  /** What tsnet leaves in the kernel and its records once a lab is gone. */
  const leftovers = async (): Promise<string[]> => {
    const links = (await lab.ip(lab.host, 'link')).filter(
      (l) => String(l.ifalias ?? '').startsWith('tsnet') || ['sw', 'swr1', 'swh1'].includes(String(l.ifname)),
    );
    const rules = (await lab.firewallText()).split('\n').filter((l) => l.includes('tsnet:'));
    const containers = (await tsnet(d, 'ps', '-aq')).stdout.split('\n').filter(Boolean);
    const namespaces = existsSync(join(lab.dir, 'daemon-netns')) ? readdirSync(join(lab.dir, 'daemon-netns')) : [];
    const networks = (JSON.parse((await tsnet(d, 'network', 'ls', '--format', 'json')).stdout) as { name: string }[])
      .map((n) => n.name)
      .filter((n) => !['none', 'host'].includes(n));
    return [
      ...links.map((l) => `link ${String(l.ifname)}`),
      ...rules,
      ...containers,
      ...namespaces.map((n) => `netns ${n}`),
      ...networks.map((n) => `network ${n}`),
    ];
  };

  it('deploys a ring of routers and a host behind a bridge, routes across it, runs exec, reaches upstream, and destroys it all', async () => {
    const deploy = await tsnet(d, 'lab', 'deploy', '-t', RING);
    expect(deploy, deploy.stderr).toMatchObject({ code: 0 });
    expect(deploy.stdout).toMatch(/clab-ring-r1\s+linux\s+busybox\s+running\s+172\.20\.20\.\d+\/24/u);
    for (const [from, to] of [
      ['r1', '192.0.2.2'],
      ['r1', '192.0.2.3'],
      ['r2', '192.0.2.1'],
      ['r2', '192.0.2.3'],
      ['r3', '192.0.2.1'],
      ['r3', '192.0.2.2'],
      // Through the bridge node and two routers' forwarding.
      ['h1', '192.0.2.2'],
      ['h1', '192.0.2.3'],
    ]) {
      expect(await ping(from!, to!), `${from} -> ${to}`).toBe(true);
    }
    expect((await tsnet(d, 'exec', 'clab-ring-r1', 'cat', '/tmp/state')).stdout).toBe('configured\n');
    // A bind relative to the topology file's folder, read-only.
    expect((await tsnet(d, 'exec', 'clab-ring-h1', 'cat', '/etc/motd')).stdout).toMatch(/^h1, behind the bridge sw/u);
    expect((await tsnet(d, 'exec', 'clab-ring-h1', 'touch', '/etc/motd')).code).toBe(1);
    expect(await ping('r1', UPSTREAM.server)).toBe(true);
    const onR2 = await tsnet(d, 'lab', 'exec', '--name', 'ring', 'r2', '--', 'ip', '-4', '-o', 'addr', 'show', 'eth1');
    expect(onR2.stdout).toContain('inet 10.0.12.2/30');
    const all = await tsnet(d, 'lab', 'exec', '--name', 'ring', '--all', '--', 'hostname');
    expect(
      all.stdout
        .split('\n')
        .filter((l) => !l.startsWith('---') && l)
        .sort(),
    ).toEqual(['h1', 'r1', 'r2', 'r3']);
    const view = JSON.parse((await tsnet(d, 'lab', 'inspect', '--name', 'ring', '--format', 'json')).stdout) as {
      nodes: { name: string; status: string }[];
      links: unknown[];
    };
    expect(view.nodes.map((n) => `${n.name}:${n.status}`).sort()).toEqual(['h1:running', 'r1:running', 'r2:running', 'r3:running', 'sw:bridge']);
    expect(view.links).toHaveLength(5);
    expect((await tsnet(d, 'lab', 'ls')).stdout).toMatch(/ring\s+running\s+5\s+5/u);
    expect(await tsnet(d, 'lab', 'deploy', '-t', RING)).toMatchObject({ code: 1, stderr: expect.stringContaining('is deployed already') });
    // Point-to-point links: both ends known, so each end holds its peer's neighbour entry, permanent.
    const r2mac = (await tsnet(d, 'exec', 'clab-ring-r2', 'cat', '/sys/class/net/eth1/address')).stdout.trim();
    expect((await tsnet(d, 'exec', 'clab-ring-r1', 'ip', 'neigh', 'show', '10.0.12.2')).stdout).toMatch(new RegExp(`lladdr ${r2mac} .*PERMANENT`, 'u'));
    // Drawn, with the management addresses of the deployed nodes.
    const mermaid = (await tsnet(d, 'lab', 'graph', '-t', RING, '--format', 'mermaid')).stdout;
    expect(mermaid).toContain('n_r1 ---|"eth1 - eth1"| n_r2');
    expect(mermaid).toMatch(/n_r1\["r1<br\/>linux<br\/>172\.20\.20\.\d+\/24"\]/u);
    const svg = join(lab.dir, 'ring.svg');
    expect((await tsnet(d, 'lab', 'graph', '-t', RING, '--format', 'svg', '-o', svg)).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toContain('<svg');

    expect(await tsnet(d, 'lab', 'destroy', '-t', RING)).toMatchObject({ code: 0 });
    expect(await leftovers()).toEqual([]);
    expect((await tsnet(d, 'lab', 'ls', '--format', 'json')).stdout.trim()).toBe('[]');
  });

  it('keeps a lab across a daemon restart (its links, re-adopted), and destroys it after', async () => {
    expect((await tsnet(d, 'lab', 'deploy', '-t', RING)).code).toBe(0);
    expect(await d.stop('SIGTERM')).toBe(0);
    d = await startDaemon(lab, 'daemon', ['--bridge', 'none']);
    expect(await ping('h1', '192.0.2.3')).toBe(true);
    expect((await tsnet(d, 'doctor')).code).toBe(0);
    expect((await tsnet(d, 'lab', 'ls')).stdout).toMatch(/ring\s+running/u);
    expect((await tsnet(d, 'lab', 'destroy', '--name', 'ring')).code).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it('shows the steps of a deploy on a terminal (a pty), and the table at the end', async () => {
    // util-linux's script gives the CLI a pseudo-terminal of its own; what it printed comes back on stdout.
    const shown = await lab.exec(lab.host, 'script', ['-qec', `${process.execPath} ${CLI} --host unix://${d.socket} lab deploy -t ${RING}`, '/dev/null']);
    expect(shown.stdout).toContain('nodes: 4/4 started');
    expect(shown.stdout).toContain('links: 5 made');
    expect(shown.stdout).toContain('exec: 1 command(s) run, 0 failed');
    expect(shown.stdout).toMatch(/clab-ring-h1\s+linux\s+busybox\s+running/u);
    expect((await tsnet(d, 'lab', 'destroy', '--name', 'ring')).code).toBe(0);
    const bad = join(lab.dir, 'typo.clab.yml');
    writeFileSync(bad, 'name: typo\ntopology:\n  nodez: {}\n');
    const refused = await lab
      .exec(lab.host, 'script', ['-qec', `${process.execPath} ${CLI} --host unix://${d.socket} lab deploy -t ${bad}`, '/dev/null'])
      .catch((e: { stdout: string }) => e);
    expect(refused.stdout).toContain('line 3: topology.nodez: unknown key (TSNET_ERR_INVALID_ARGUMENT)');
  });

  it("honours mgmt's network, subnet, gateway and bridge, node labels, a writable /proc/sys/net only, and --reconfigure", async () => {
    const file = join(lab.dir, 'pair.clab.yml');
    const text = (cmd: string): string =>
      `name: pair\nmgmt: { network: m2, ipv4-subnet: 172.31.0.0/24, ipv4-gw: 172.31.0.254, bridge: br-m2 }\ntopology:\n  nodes:\n    a: { kind: linux, image: busybox, labels: { role: edge }, cmd: "${cmd}" }\n    b: { kind: linux, image: busybox }\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n`;
    writeFileSync(file, text('sleep 1000'));
    expect((await tsnet(d, 'lab', 'deploy', '-t', file)).code).toBe(0);
    expect((await lab.ip(lab.host, 'link', 'show', 'br-m2'))[0]).toMatchObject({ ifalias: expect.stringMatching(/^tsnet:network:/u) });
    expect((await tsnet(d, 'exec', 'clab-pair-a', 'ip', 'route', 'show', 'default')).stdout).toContain('via 172.31.0.254');
    expect((await tsnet(d, 'inspect', '-f', '{{index .Config.Labels "role"}}', 'clab-pair-a')).stdout).toBe('edge\n');
    expect((await tsnet(d, 'exec', 'clab-pair-a', 'sysctl', '-w', 'net.ipv4.conf.eth1.forwarding=1')).code).toBe(0);
    expect((await tsnet(d, 'exec', 'clab-pair-a', 'sysctl', '-w', 'kernel.hostname=x')).code).not.toBe(0);
    // --reconfigure: the lab made again from the changed file.
    writeFileSync(file, text('sleep 2000'));
    expect((await tsnet(d, 'lab', 'deploy', '-t', file, '--reconfigure')).code).toBe(0);
    expect((await tsnet(d, 'inspect', '-f', '{{json .Config.Cmd}}', 'clab-pair-a')).stdout.trim()).toBe('["sleep","2000"]');
    expect((await tsnet(d, 'lab', 'destroy', '-t', file)).code).toBe(0);
    expect(await leftovers()).toEqual([]);
  });

  it('refuses a bad file with its lines and makes nothing', async () => {
    const bad = join(lab.dir, 'bad.clab.yml');
    writeFileSync(
      bad,
      'name: bad\ntopology:\n  nodes:\n    a: { kind: linux, image: busybox, colour: red }\n    b: { kind: linux, image: busybox }\n  links:\n    - endpoints: ["a:eth1", "z:eth1"]\n',
    );
    const r = await tsnet(d, 'lab', 'deploy', '-t', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('line 4: topology.nodes.a.colour: unknown key');
    writeFileSync(
      bad,
      'name: bad\ntopology:\n  nodes:\n    a: { kind: linux, image: busybox }\n  links:\n    - endpoints: ["a:eth1", "z:eth1"]\n    - endpoints: ["a:eth1", "a:eth2"]\n',
    );
    const twice = await tsnet(d, 'lab', 'deploy', '-t', bad);
    expect(twice.stderr).toContain('line 6: topology.links.0.endpoints.1: link to unknown node "z"');
    expect(twice.stderr).toContain('line 7: topology.links.1.endpoints.0: interface a:eth1 is already used by link 1');
    writeFileSync(join(lab.dir, 'bad.tsnet.yml'), 'nodes:\n  a:\n    interfaces: { eth1: { addresses: [10.0.0.1/33] } }\n');
    writeFileSync(
      bad,
      'name: bad\ntopology:\n  nodes:\n    a: { kind: linux, image: busybox }\n    b: { kind: linux, image: busybox }\n  links:\n    - endpoints: ["a:eth1", "b:eth1"]\n',
    );
    expect((await tsnet(d, 'lab', 'deploy', '-t', bad)).stderr).toContain('"10.0.0.1/33" is not an address with a prefix length');
    expect(await leftovers()).toEqual([]);
    // A link that fails half way (its host end's name is the lab's uplink): the error names it, the rest is undone.
    rmSync(join(lab.dir, 'bad.tsnet.yml'));
    writeFileSync(
      bad,
      'name: bad\ntopology:\n  nodes:\n    a: { kind: linux, image: busybox }\n    sw: { kind: bridge }\n  links:\n    - endpoints: ["a:eth1", "sw:uplink0"]\n',
    );
    const half = await tsnet(d, 'lab', 'deploy', '-t', bad);
    expect(half).toMatchObject({ code: 1, stderr: expect.stringContaining('link a:eth1 - sw:uplink0: ') });
    expect(await leftovers()).toEqual([]);
  });

  it('leaves nothing after a daemon killed during a deploy (at its first node, and at its links) is restarted and the lab destroyed', async () => {
    // The kill lands at a point of the deploy the daemon reports, not at a time: a loaded machine moves the time.
    for (const nodesBeforeKill of [1, 4]) {
      const deploying = spawn(process.execPath, [CLI, '--host', `unix://${d.socket}`, 'lab', 'deploy', '-t', RING], { stdio: 'ignore' });
      const deployEnded = new Promise((r) => deploying.once('exit', r));
      for (let made = 0; made < nodesBeforeKill;) {
        made = (await tsnet(d, 'ps', '-aq', '--filter', 'label=tsnet.lab=ring')).stdout.split('\n').filter(Boolean).length;
      }
      await d.stop('SIGKILL');
      await deployEnded;
      d = await startDaemon(lab, 'daemon', ['--bridge', 'none']);
      const destroyed = await tsnet(d, 'lab', 'destroy', '--name', 'ring', '--cleanup');
      expect(destroyed, destroyed.stderr).toMatchObject({ code: 0 });
      // The management network outlives a crashed deploy's record: removed like any network.
      await tsnet(d, 'network', 'rm', 'clab');
      expect(await leftovers(), `killed after ${nodesBeforeKill} node(s)`).toEqual([]);
    }
  });
});
