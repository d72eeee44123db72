/** The API contract of /v1/networks: create, list, inspect, remove, prune, connect, disconnect. */
import { Type, type Static } from 'typebox';
import { StringList, StringMap } from './common.js';

export const NetworkCreate = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 128 }),
    driver: Type.Optional(Type.Union([Type.Literal('bridge'), Type.Literal('host'), Type.Literal('null'), Type.Literal('overlay')])),
    subnet: Type.Optional(Type.String()),
    gateway: Type.Optional(Type.String()),
    ipRange: Type.Optional(Type.String()),
    auxAddresses: Type.Optional(StringMap),
    ipv6: Type.Optional(Type.Boolean()),
    subnet6: Type.Optional(Type.String()),
    gateway6: Type.Optional(Type.String()),
    internal: Type.Optional(Type.Boolean()),
    options: Type.Optional(StringMap),
    labels: Type.Optional(StringMap),
  },
  { additionalProperties: false },
);
export type NetworkCreate = Static<typeof NetworkCreate>;

export const ConnectBody = Type.Object(
  {
    container: Type.String({ minLength: 1 }),
    ip: Type.Optional(Type.String()),
    ip6: Type.Optional(Type.String()),
    aliases: Type.Optional(StringList),
    force: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ConnectBody = Static<typeof ConnectBody>;

const Pool = Type.Object({
  id: Type.String(),
  space: Type.Union([Type.Literal('local'), Type.Literal('global')]),
  subnet: Type.String(),
  ipRange: Type.Optional(Type.String()),
  gateway: Type.Optional(Type.String()),
  auxAddresses: StringMap,
  external: Type.Optional(Type.Boolean()),
});

export const NetworkView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  driver: Type.String(),
  /** global: the network spans the hosts of a cluster (overlay), its record in the cluster store. */
  scope: Type.Union([Type.Literal('local'), Type.Literal('global')]),
  created: Type.String(),
  internal: Type.Boolean(),
  ipv6: Type.Boolean(),
  options: StringMap,
  labels: StringMap,
  pools: Type.Object({ v4: Type.Optional(Pool), v6: Type.Optional(Pool) }),
  /** The bridge driver's resolved options (bridge networks only). */
  bridge: Type.Optional(Type.Object({ bridgeName: Type.String(), mtu: Type.Optional(Type.Number()), icc: Type.Boolean(), masquerade: Type.Boolean() })),
  /** The overlay driver's share of this host: its bridge, its VXLAN device and id, the tunnels' local end. */
  overlay: Type.Optional(Type.Object({ bridgeName: Type.String(), vxlanName: Type.String(), vni: Type.Number(), mtu: Type.Number(), local: Type.String() })),
  owner: Type.Union([Type.Literal('tsnet'), Type.Literal('docker')]),
  containers: Type.Array(
    Type.Object({
      container: Type.Union([Type.String(), Type.Null()]),
      containerId: Type.Optional(Type.String()),
      endpoint: Type.String(),
      ipv4: Type.Union([Type.String(), Type.Null()]),
      ipv6: Type.Union([Type.String(), Type.Null()]),
      mac: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
});
export type NetworkView = Static<typeof NetworkView>;

/** The endpoint a connect made. */
export const EndpointView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  networkId: Type.String(),
  ipv4: Type.Optional(Type.String()),
  ipv6: Type.Optional(Type.String()),
  mac: Type.Optional(Type.String()),
  ifname: Type.Optional(Type.String()),
  aliases: StringList,
});
export type EndpointView = Static<typeof EndpointView>;

/** Docker's prune filters: only networks created before `until` (an RFC 3339 time), only with these labels. */
export const PruneBody = Type.Object(
  { until: Type.Optional(Type.String({ format: 'date-time' })), labels: Type.Optional(StringList) },
  { additionalProperties: false },
);
export type PruneBody = Static<typeof PruneBody>;

export const PruneResult = Type.Object({ deleted: StringList });
export type PruneResult = Static<typeof PruneResult>;
