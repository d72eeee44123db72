/** The API contract of /v1/containers: run, list, inspect, stop, kill, remove, exec, logs, wait. */
import { Type, type Static } from 'typebox';
import { StringList, StringMap } from './common.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });
const Protocol = Type.Union([Type.Literal('tcp'), Type.Literal('udp'), Type.Literal('sctp')]);

/** One -p: [HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTO]; no host port: an ephemeral one. */
export const PortSpec = Type.Object(
  {
    protocol: Protocol,
    containerPort: Port,
    containerPortEnd: Type.Optional(Port),
    hostIp: Type.Optional(Type.String()),
    hostPort: Type.Optional(Port),
    hostPortEnd: Type.Optional(Port),
  },
  { additionalProperties: false },
);
export type PortSpec = Static<typeof PortSpec>;

/** A published port as it is: Docker's NetworkSettings.Ports entry. */
export const PortView = Type.Object({ protocol: Protocol, containerPort: Port, hostIp: Type.String(), hostPort: Port });
export type PortView = Static<typeof PortView>;

export const RunBody = Type.Object(
  {
    image: Type.String({ minLength: 1 }),
    command: Type.Optional(StringList),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    networks: Type.Optional(StringList),
    ip: Type.Optional(Type.String()),
    hostname: Type.Optional(Type.String()),
    env: Type.Optional(StringList),
    memory: Type.Optional(Type.String()),
    pidsLimit: Type.Optional(Type.Integer({ minimum: 1 })),
    rm: Type.Optional(Type.Boolean()),
    init: Type.Optional(Type.Boolean()),
    ip6: Type.Optional(Type.String()),
    macAddress: Type.Optional(Type.String()),
    networkAliases: Type.Optional(StringList),
    dns: Type.Optional(StringList),
    dnsSearch: Type.Optional(StringList),
    dnsOptions: Type.Optional(StringList),
    /** "NAME:IP" lines for /etc/hosts. */
    addHosts: Type.Optional(StringList),
    /** Docker's legacy links, "CONTAINER[:ALIAS]": the container's address in /etc/hosts under both names. */
    links: Type.Optional(StringList),
    /** Docker's confinement flags: --privileged, --cap-add, --cap-drop, --security-opt, --device. */
    privileged: Type.Optional(Type.Boolean()),
    capAdd: Type.Optional(StringList),
    capDrop: Type.Optional(StringList),
    securityOpt: Type.Optional(StringList),
    devices: Type.Optional(StringList),
    /** -p */
    publish: Type.Optional(Type.Array(PortSpec)),
    /** --expose PORT[-END][/PROTO]: published on ephemeral host ports by -P (publishAll). */
    expose: Type.Optional(StringList),
    publishAll: Type.Optional(Type.Boolean()),
    /** --sysctl: network sysctls (net.*) of the container's namespace, set before it starts. */
    sysctls: Type.Optional(StringMap),
  },
  { additionalProperties: false },
);
export type RunBody = Static<typeof RunBody>;

export const ContainerView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  image: Type.String(),
  command: StringList,
  status: Type.String(),
  pid: Type.Optional(Type.Integer()),
  exitCode: Type.Optional(Type.Integer()),
  oomKilled: Type.Optional(Type.Boolean()),
  created: Type.String(),
  sandbox: Type.Optional(Type.String()),
  ports: Type.Optional(Type.Array(PortView)),
  hostname: Type.Optional(Type.String()),
  env: Type.Optional(StringList),
  labels: Type.Optional(StringMap),
  networks: Type.Record(
    Type.String(),
    Type.Object({
      networkId: Type.Optional(Type.String()),
      endpointId: Type.Optional(Type.String()),
      aliases: Type.Optional(StringList),
      ipv4: Type.Optional(Type.String()),
      ipv6: Type.Optional(Type.String()),
      mac: Type.Optional(Type.String()),
      ifname: Type.Optional(Type.String()),
      gateway: Type.Optional(Type.String()),
      gateway6: Type.Optional(Type.String()),
    }),
  ),
});
export type ContainerView = Static<typeof ContainerView>;

export const ListQuery = Type.Object({ all: Type.Optional(Type.String()) });
export const RemoveQuery = Type.Object({ force: Type.Optional(Type.String()) });
export const LogsQuery = Type.Object({ follow: Type.Optional(Type.String()) });

export const StopBody = Type.Object({ timeout: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false });
export type StopBody = Static<typeof StopBody>;

export const KillBody = Type.Object({ signal: Type.Optional(Type.String({ pattern: '^SIG[A-Z0-9]+$' })) }, { additionalProperties: false });
export type KillBody = Static<typeof KillBody>;

export const ExecBody = Type.Object({ command: Type.Array(Type.String(), { minItems: 1 }), env: Type.Optional(StringList) }, { additionalProperties: false });
export type ExecBody = Static<typeof ExecBody>;

export const ExecResult = Type.Object({ exitCode: Type.Integer(), stdout: Type.String(), stderr: Type.String() });
export type ExecResult = Static<typeof ExecResult>;

/** exitCode null: the container has exited but its status is unknown (its monitor could not record it). */
export const WaitResult = Type.Object({ exitCode: Type.Union([Type.Integer(), Type.Null()]) });
export type WaitResult = Static<typeof WaitResult>;
