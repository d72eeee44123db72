/** docker inspect -f templates, and the Docker shapes they are applied to. */
import { describe, expect, it } from 'vitest';
import { dockerContainer, dockerNetwork } from '../../../src/cli/docker-shape.js';
import { compileTemplate } from '../../../src/cli/template.js';

const container = dockerContainer({
  id: 'c'.repeat(64),
  name: 'web',
  image: 'busybox:latest',
  command: ['httpd', '-f'],
  status: 'running',
  pid: 42,
  created: '2026-11-30T00:00:00Z',
  sandbox: 's'.repeat(64),
  ports: [
    { protocol: 'tcp', containerPort: 80, hostIp: '0.0.0.0', hostPort: 8080 },
    { protocol: 'tcp', containerPort: 80, hostIp: '::', hostPort: 8080 },
  ],
  networks: { front: { networkId: 'n1', endpointId: 'e1', ipv4: '10.1.0.2/24', mac: '02:42:0a:01:00:02', gateway: '10.1.0.1', aliases: ['www'] } },
});

describe('docker inspect -f templates', () => {
  const t = (source: string, value: unknown = container): string => compileTemplate(source)(value);

  it('reads fields, json, index (also with a field after it), len and join', () => {
    expect(t('{{.Name}} {{.State.Pid}} {{.State.Running}}')).toBe('/web 42 true');
    expect(t('{{.NetworkSettings.Networks.front.IPAddress}}')).toBe('10.1.0.2');
    expect(t('{{(index .NetworkSettings.Networks "front").Gateway}}')).toBe('10.1.0.1');
    expect(t('{{index .NetworkSettings.Ports "80/tcp"}}')).toBe('[map[HostIp:0.0.0.0 HostPort:8080] map[HostIp::: HostPort:8080]]');
    expect(JSON.parse(t('{{json .NetworkSettings.Ports}}'))).toEqual({
      '80/tcp': [
        { HostIp: '0.0.0.0', HostPort: '8080' },
        { HostIp: '::', HostPort: '8080' },
      ],
    });
    expect(t('{{len .Args}} {{join .Args ","}} {{.Missing}}')).toBe('1 -f <no value>');
  });

  it('ranges over lists and maps (sorted keys, with variables), with if/else and trim markers', () => {
    expect(t('{{range $name, $net := .NetworkSettings.Networks}}{{$name}}={{$net.IPAddress}} {{end}}')).toBe('front=10.1.0.2 ');
    expect(t('{{range .Args}}[{{.}}]{{end}}')).toBe('[-f]');
    expect(t('{{range .Config.Env}}x{{else}}none{{end}}')).toBe('none');
    expect(t('{{if .State.Running}}up{{else}}down{{end}}')).toBe('up');
    expect(t('a {{- " b" -}}  c')).toBe('a bc');
  });

  it('refuses what it does not know, saying what', () => {
    expect(() => t('{{printf "%s" .Name}}')).toThrow(/"printf" is not a function/u);
    expect(() => t('{{.Name')).toThrow(/unclosed action/u);
    expect(() => t('{{range .Args}}x')).toThrow(/missing \{\{end\}\}/u);
    expect(() => t('{{$nope}}')).toThrow(/undefined variable \$nope/u);
  });

  it('shapes networks as docker network inspect: IPAM.Config and Containers by id', () => {
    const n = dockerNetwork({
      id: 'n1',
      name: 'front',
      driver: 'bridge',
      scope: 'local',
      created: '',
      internal: false,
      ipv6: false,
      options: {},
      labels: { tier: 'web' },
      owner: 'tsnet',
      pools: { v4: { id: 'p', space: 'local', subnet: '10.1.0.0/24', gateway: '10.1.0.1', auxAddresses: {} } },
      containers: [{ container: 'web', containerId: 'c1', endpoint: 'e1', ipv4: '10.1.0.2/24', ipv6: null, mac: null }],
    });
    expect(compileTemplate('{{json .IPAM.Config}} {{(index .Containers "c1").Name}} {{.Labels.tier}} {{.Scope}}')(n)).toBe(
      '[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"}] web web local',
    );
  });
});
