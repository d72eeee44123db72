/**
 * tsnet's views in the shape `docker inspect` and `docker network inspect` print, so that scripts written for
 * Docker (and their -f templates) work unchanged. Fields tsnet has no notion of carry Docker's neutral values.
 */
import type { ContainerView } from '../api/containers.js';
import type { NetworkView } from '../api/networks.js';

const address = (cidr: string | undefined): string => (cidr ?? '').split('/')[0]!;
const prefix = (cidr: string | undefined): number => (cidr?.includes('/') ? Number(cidr.split('/')[1]) : 0);

/** NetworkSettings.Ports / HostConfig.PortBindings: "80/tcp" -> [{HostIp, HostPort}]. */
function ports(c: ContainerView): Record<string, { HostIp: string; HostPort: string }[]> {
  const out: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of c.ports ?? []) (out[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  return out;
}

/** NetworkSettings.Networks. */
function dockerNetworks(c: ContainerView): Record<string, unknown> {
  const networks: Record<string, unknown> = {};
  for (const [name, e] of Object.entries(c.networks)) {
    networks[name] = {
      IPAMConfig: null,
      Links: null,
      Aliases: e.aliases ?? [],
      MacAddress: e.mac ?? '',
      NetworkID: e.networkId ?? '',
      EndpointID: e.endpointId ?? '',
      Gateway: e.gateway ?? '',
      IPAddress: address(e.ipv4),
      IPPrefixLen: prefix(e.ipv4),
      IPv6Gateway: e.gateway6 ?? '',
      GlobalIPv6Address: address(e.ipv6),
      GlobalIPv6PrefixLen: prefix(e.ipv6),
      DNSNames: [c.name, c.id.slice(0, 12), ...(e.aliases ?? [])],
    };
  }
  return networks;
}

/** State: as Docker's, where paused counts as running. */
function dockerState(c: ContainerView): Record<string, unknown> {
  return {
    Status: c.status,
    Running: c.status === 'running' || c.status === 'paused',
    Paused: c.status === 'paused',
    Restarting: false,
    OOMKilled: c.oomKilled ?? false,
    Dead: false,
    Pid: c.pid ?? 0,
    ExitCode: c.exitCode ?? 0,
    StartedAt: c.startedAt ?? '0001-01-01T00:00:00Z',
    FinishedAt: c.finishedAt ?? '0001-01-01T00:00:00Z',
  };
}

export function dockerContainer(c: ContainerView): Record<string, unknown> {
  const networks = dockerNetworks(c);
  const [policy = 'no', max = '0'] = (c.restartPolicy ?? 'no').split(':');
  return {
    Id: c.id,
    Created: c.created,
    Path: c.command[0] ?? '',
    Args: c.command.slice(1),
    State: dockerState(c),
    RestartCount: c.restartCount ?? 0,
    Mounts: (c.mounts ?? []).map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? { Name: m.source } : {}),
      Source: m.source,
      Destination: m.target,
      RW: !m.readOnly,
    })),
    Image: c.image,
    Name: `/${c.name}`,
    Config: {
      Hostname: c.hostname ?? '',
      Image: c.image,
      Cmd: c.command,
      Env: c.env ?? [],
      Labels: c.labels ?? {},
      Tty: c.tty ?? false,
      OpenStdin: c.openStdin ?? false,
    },
    HostConfig: {
      NetworkMode: Object.keys(c.networks)[0] ?? 'none',
      PortBindings: ports(c),
      RestartPolicy: { Name: policy, MaximumRetryCount: Number(max) },
    },
    NetworkSettings: { SandboxID: c.sandbox ?? '', Ports: ports(c), Networks: networks },
  };
}

export function dockerNetwork(n: NetworkView): Record<string, unknown> {
  const config = [n.pools.v4, n.pools.v6].flatMap((p) =>
    p
      ? [
          {
            Subnet: p.subnet,
            ...(p.gateway ? { Gateway: p.gateway } : {}),
            ...(p.ipRange ? { IPRange: p.ipRange } : {}),
            ...(Object.keys(p.auxAddresses).length ? { AuxiliaryAddresses: p.auxAddresses } : {}),
          },
        ]
      : [],
  );
  const containers: Record<string, unknown> = {};
  for (const c of n.containers) {
    containers[c.containerId ?? c.endpoint] = {
      Name: c.container ?? '',
      EndpointID: c.endpoint,
      MacAddress: c.mac ?? '',
      IPv4Address: c.ipv4 ?? '',
      IPv6Address: c.ipv6 ?? '',
    };
  }
  return {
    Name: n.name,
    Id: n.id,
    Created: n.created,
    Scope: n.scope,
    Driver: n.driver,
    EnableIPv4: !!n.pools.v4,
    EnableIPv6: n.ipv6,
    IPAM: { Driver: 'default', Options: {}, Config: config },
    Internal: n.internal,
    Attachable: false,
    Ingress: false,
    ConfigFrom: { Network: '' },
    ConfigOnly: false,
    Containers: containers,
    Options: n.options,
    Labels: n.labels,
  };
}
