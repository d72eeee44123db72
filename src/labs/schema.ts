/**
 * containerlab's topology file, the part tsnet runs, as TypeBox schemas: strict, so that a key tsnet does not know
 * is an error that names it (as containerlab's own parser makes an unknown key an error); and tsnet's companion
 * file (NAME.tsnet.yml) with what containerlab has no place for: addresses and routes.
 */
import { Type, type Static } from 'typebox';
import { ExperimentSchema, ImpairmentSchema, LabEventSchema } from '../api/labs.js';

const StringMap = Type.Record(Type.String(), Type.Union([Type.String(), Type.Number(), Type.Boolean()]));
const Strings = Type.Array(Type.String());

/** What a node, a kind, a group and the defaults may set (containerlab's inheritance: defaults < kind < group < node). */
const nodeFields = {
  kind: Type.Optional(Type.String()),
  type: Type.Optional(Type.String()),
  group: Type.Optional(Type.String()),
  image: Type.Optional(Type.String()),
  cmd: Type.Optional(Type.String()),
  exec: Type.Optional(Strings),
  env: Type.Optional(StringMap),
  binds: Type.Optional(Strings),
  sysctls: Type.Optional(StringMap),
  'network-mode': Type.Optional(Type.String()),
  'mgmt-ipv4': Type.Optional(Type.String()),
  'mgmt-ipv6': Type.Optional(Type.String()),
  labels: Type.Optional(StringMap),
};
export const NodeSchema = Type.Object(nodeFields, { additionalProperties: false });
export type NodeFile = Static<typeof NodeSchema>;

const EndpointObject = Type.Object({ node: Type.String(), interface: Type.String(), mac: Type.Optional(Type.String()) }, { additionalProperties: false });

const LinkSchema = Type.Object(
  {
    type: Type.Optional(Type.Literal('veth')),
    endpoints: Type.Array(Type.Union([Type.String(), EndpointObject]), { minItems: 2, maxItems: 2 }),
    mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
    vars: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    labels: Type.Optional(StringMap),
  },
  { additionalProperties: false },
);
export type LinkFile = Static<typeof LinkSchema>;

export const TopologySchema = Type.Object(
  {
    name: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$' }),
    prefix: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]*$' })),
    mgmt: Type.Optional(
      Type.Object(
        {
          network: Type.Optional(Type.String()),
          'ipv4-subnet': Type.Optional(Type.String()),
          'ipv6-subnet': Type.Optional(Type.String()),
          'ipv4-gw': Type.Optional(Type.String()),
          'ipv6-gw': Type.Optional(Type.String()),
          bridge: Type.Optional(Type.String()),
          mtu: Type.Optional(Type.Integer({ minimum: 68, maximum: 65535 })),
        },
        { additionalProperties: false },
      ),
    ),
    topology: Type.Object(
      {
        defaults: Type.Optional(NodeSchema),
        kinds: Type.Optional(Type.Record(Type.String(), NodeSchema)),
        groups: Type.Optional(Type.Record(Type.String(), NodeSchema)),
        nodes: Type.Record(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$' }), Type.Union([NodeSchema, Type.Null()])),
        links: Type.Optional(Type.Array(LinkSchema)),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type TopologyFile = Static<typeof TopologySchema>;

const Route = Type.Object({ dst: Type.String(), via: Type.Optional(Type.String()), dev: Type.Optional(Type.String()) }, { additionalProperties: false });

/** NAME.tsnet.yml: per node, interface addresses and impairments (of what leaves the interface), routes; scheduled events. */
export const CompanionSchema = Type.Object(
  {
    nodes: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object(
          {
            interfaces: Type.Optional(
              Type.Record(
                Type.String(),
                Type.Object({ addresses: Type.Optional(Strings), impair: Type.Optional(ImpairmentSchema) }, { additionalProperties: false }),
              ),
            ),
            routes: Type.Optional(Type.Array(Route)),
          },
          { additionalProperties: false },
        ),
      ),
    ),
    events: Type.Optional(Type.Array(LabEventSchema)),
    experiments: Type.Optional(Type.Array(ExperimentSchema)),
  },
  { additionalProperties: false },
);
export type CompanionFile = Static<typeof CompanionSchema>;

/** containerlab's node keys tsnet does not run (refused by name, with this note, rather than as unknown keys). */
export const UNSUPPORTED_CONTAINERLAB_KEYS = new Set([
  'startup-config',
  'startup-delay',
  'enforce-startup-config',
  'suppress-startup-config',
  'license',
  'ports',
  'user',
  'entrypoint',
  'cpu',
  'cpu-set',
  'memory',
  'shm-size',
  'wait-for',
  'dns',
  'certificate',
  'healthcheck',
  'image-pull-policy',
  'runtime',
  'stages',
  'extras',
  'publish',
  'restart-policy',
  'devices',
  'aliases',
  'auto-remove',
  'cap-add',
  'components',
  'config',
  'enable-tls',
]);
