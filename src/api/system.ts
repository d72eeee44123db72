/** The API contract of /v1/version and /v1/info. */
import { Type, type Static } from 'typebox';

export const VersionView = Type.Object({ version: Type.String(), api: Type.String(), node: Type.String() });
export type VersionView = Static<typeof VersionView>;

export const InfoView = Type.Object({
  version: Type.String(),
  daemon: Type.Object({
    pid: Type.Integer(),
    root: Type.String(),
    socket: Type.String(),
    /** The folder of what a reboot wipes: namespace pins, sandboxes' hosts and resolv.conf, attach sockets. */
    execRoot: Type.String(),
    iptables: Type.Boolean(),
    firewall: Type.Union([Type.Literal('nftables'), Type.Literal('iptables'), Type.Literal('none')]),
  }),
  store: Type.String(),
  /** The cluster of global (overlay) networks, when the daemon is in one: its store, this host, whether it is joined now. */
  cluster: Type.Optional(Type.Object({ store: Type.String(), advertise: Type.String(), host: Type.String(), connected: Type.Boolean() })),
  kernel: Type.Object({ features: Type.Array(Type.String()), cgroups: Type.String() }),
  counts: Type.Object({
    networks: Type.Integer(),
    sandboxes: Type.Integer(),
    endpoints: Type.Integer(),
    containers: Type.Integer(),
    running: Type.Integer(),
    images: Type.Integer(),
  }),
});
export type InfoView = Static<typeof InfoView>;

/** What `tsnet doctor` found (and, with --fix, repaired), by kind. */
export const DoctorReport = Type.Object({
  removed: Type.Array(Type.String()),
  recreated: Type.Array(Type.String()),
  broken: Type.Array(Type.String()),
  leftAlone: Type.Array(Type.String()),
});
export type DoctorReport = Static<typeof DoctorReport>;
