/** The API contract of /v1/containers: run, list, inspect, stop, kill, remove, exec, logs, wait. */
import { Type, type Static } from 'typebox';
import { StringList, StringMap } from './common.js';
import { MANY_AT_ONCE } from './defaults.js';

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

export const TtySize = Type.Object(
  { rows: Type.Integer({ minimum: 1, maximum: 65535 }), cols: Type.Integer({ minimum: 1, maximum: 65535 }) },
  { additionalProperties: false },
);
export type TtySize = Static<typeof TtySize>;

/** -v, --mount: a named or anonymous volume (no source), a host path, or a tmpfs. */
export const MountSpec = Type.Object(
  {
    type: Type.Union([Type.Literal('volume'), Type.Literal('bind'), Type.Literal('tmpfs')]),
    source: Type.Optional(Type.String({ minLength: 1 })),
    target: Type.String({ pattern: '^/' }),
    readOnly: Type.Optional(Type.Boolean()),
    /** tmpfs: its size in bytes. */
    tmpfsSize: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type MountSpec = Static<typeof MountSpec>;

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
    /** -t: a pseudo-terminal for the process. */
    tty: Type.Optional(Type.Boolean()),
    /** -i: stdin kept open for clients that attach. */
    openStdin: Type.Optional(Type.Boolean()),
    /** The terminal's first size (the client's own, for -t). */
    ttySize: Type.Optional(TtySize),
    /** The client attaches right after (`run` without -d): the output waits for it, so none is missed. */
    attach: Type.Optional(Type.Boolean()),
    /** --restart no|on-failure[:N]|always|unless-stopped */
    restart: Type.Optional(Type.String({ pattern: '^(no|always|unless-stopped|on-failure(:\\d+)?)$' })),
    /** --stop-signal, --stop-timeout: what stop sends first, and how long it waits before SIGKILL. */
    stopSignal: Type.Optional(Type.String({ pattern: '^SIG[A-Z0-9]+$' })),
    stopTimeout: Type.Optional(Type.Integer({ minimum: 0 })),
    /** -w, -u USER[:GROUP], --entrypoint */
    workdir: Type.Optional(Type.String({ pattern: '^/' })),
    user: Type.Optional(Type.String({ minLength: 1 })),
    entrypoint: Type.Optional(Type.String({ minLength: 1 })),
    /** --read-only, --tmpfs PATH[:OPTS], --shm-size, --ulimit NAME=SOFT[:HARD] */
    readOnly: Type.Optional(Type.Boolean()),
    tmpfs: Type.Optional(StringList),
    shmSize: Type.Optional(Type.String()),
    ulimits: Type.Optional(StringList),
    /** --cpus, --cpu-shares */
    cpus: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
    cpuShares: Type.Optional(Type.Integer()),
    /** -v, --mount; --volumes-from CONTAINER[:ro|rw] */
    mounts: Type.Optional(Type.Array(MountSpec)),
    volumesFrom: Type.Optional(StringList),
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
  tty: Type.Optional(Type.Boolean()),
  openStdin: Type.Optional(Type.Boolean()),
  restartPolicy: Type.Optional(Type.String()),
  mounts: Type.Optional(Type.Array(Type.Object({ type: Type.String(), source: Type.String(), target: Type.String(), readOnly: Type.Boolean() }))),
  restartCount: Type.Optional(Type.Integer()),
  startedAt: Type.Optional(Type.String()),
  finishedAt: Type.Optional(Type.String()),
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
export const RemoveQuery = Type.Object({ force: Type.Optional(Type.String()), volumes: Type.Optional(Type.String()) });
/** Docker's logs options: follow, the last lines, a time window, timestamps, which streams. */
export const LogsQuery = Type.Object({
  follow: Type.Optional(Type.String()),
  tail: Type.Optional(Type.String({ pattern: '^(all|\\d+)$' })),
  since: Type.Optional(Type.String()),
  until: Type.Optional(Type.String()),
  timestamps: Type.Optional(Type.String()),
  stdout: Type.Optional(Type.String()),
  stderr: Type.Optional(Type.String()),
});
export type LogsQuery = Static<typeof LogsQuery>;

/** wait?condition=removed resolves once an auto-removed container is gone with its sandbox (as Docker's). */
export const WaitQuery = Type.Object({ condition: Type.Optional(Type.Union([Type.Literal('not-running'), Type.Literal('removed')])) });

/**
 * The streams endpoints (attach, and exec asked with "Upgrade: tcp") answer 101 and then carry frames both ways:
 * Docker's 8-byte header (type, 3 zero bytes, big-endian u32 length) and the payload. From the client: 0 stdin,
 * 4 resize ("ROWS COLS"), 5 end of stdin; to it: 1 stdout, 2 stderr, and last 3 exit (the status, in decimal).
 */
export { MANY_AT_ONCE, STREAM_MEDIA_TYPE } from './defaults.js';

export const StopBody = Type.Object({ timeout: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false });
/** start: the client attaches right after (start -a), with its terminal's size. */
export const StartBody = Type.Object({ attach: Type.Optional(Type.Boolean()), ttySize: Type.Optional(TtySize) }, { additionalProperties: false });
export type StartBody = Static<typeof StartBody>;
export type StopBody = Static<typeof StopBody>;

/** Containers acted on by one request: at most MANY_AT_ONCE of them, each named as in the single routes. */
const ContainerRefs = Type.Array(Type.String({ minLength: 1 }), { minItems: 1, maxItems: MANY_AT_ONCE });

/** POST /containers/remove: many containers removed side by side (their sandboxes in one teardown). */
export const RemoveManyBody = Type.Object(
  { containers: ContainerRefs, force: Type.Optional(Type.Boolean()), volumes: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type RemoveManyBody = Static<typeof RemoveManyBody>;

/** POST /containers/stop: many containers stopped side by side, with the timeout of the single route. */
export const StopManyBody = Type.Object({ containers: ContainerRefs, timeout: Type.Optional(Type.Number({ minimum: 0 })) }, { additionalProperties: false });
export type StopManyBody = Static<typeof StopManyBody>;

/**
 * The answer to a request on many containers (200 whatever each outcome): one result per container asked for, in
 * their order, with the error that its single route would have answered (its status, code and message).
 */
export const ManyResults = Type.Object({
  results: Type.Array(
    Type.Object({
      container: Type.String(),
      error: Type.Optional(Type.Object({ status: Type.Integer(), code: Type.String(), message: Type.String() })),
    }),
  ),
});
export type ManyResults = Static<typeof ManyResults>;

export const KillBody = Type.Object({ signal: Type.Optional(Type.String({ pattern: '^SIG[A-Z0-9]+$' })) }, { additionalProperties: false });
export type KillBody = Static<typeof KillBody>;

export const ExecBody = Type.Object(
  {
    command: Type.Array(Type.String(), { minItems: 1 }),
    env: Type.Optional(StringList),
    workdir: Type.Optional(Type.String({ minLength: 1 })),
    /** In the background, its output discarded (exec -d): answered 204 once it has started. */
    detach: Type.Optional(Type.Boolean()),
    /** With an upgraded connection: a terminal (-t), stdin open (-i), the terminal's size. */
    tty: Type.Optional(Type.Boolean()),
    stdin: Type.Optional(Type.Boolean()),
    ttySize: Type.Optional(TtySize),
  },
  { additionalProperties: false },
);
export type ExecBody = Static<typeof ExecBody>;

export const ExecResult = Type.Object({ exitCode: Type.Integer(), stdout: Type.String(), stderr: Type.String() });
export type ExecResult = Static<typeof ExecResult>;

/** exitCode null: the container has exited but its status is unknown (its monitor could not record it). */
export const WaitResult = Type.Object({ exitCode: Type.Union([Type.Integer(), Type.Null()]) });
export type WaitResult = Static<typeof WaitResult>;
