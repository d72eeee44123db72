/** The API contract of /v1/labs: deploy, list, inspect, destroy, exec, graph. */
import { Type, type Static } from 'typebox';
import { StringList, StringMap } from './common.js';

/** The client reads the files and sends their text (the daemon never reads the client's files). */
export const LabDeployBody = Type.Object(
  {
    topology: Type.String({ minLength: 1 }),
    /** The file's name, for messages. */
    file: Type.Optional(Type.String()),
    /** The file's folder (absolute): relative bind paths are read against it. */
    dir: Type.Optional(Type.String({ pattern: '^/' })),
    /** The companion file's text (NAME.tsnet.yml). */
    companion: Type.Optional(Type.String()),
    /** The client's environment values of the variables the files name (${VAR}). */
    env: Type.Optional(StringMap),
    reconfigure: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type LabDeployBody = Static<typeof LabDeployBody>;

export const LabNodeView = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  /** The container (linux nodes) or the bridge (bridge nodes). */
  container: Type.Optional(Type.String()),
  image: Type.Optional(Type.String()),
  status: Type.String(),
  mgmtIpv4: Type.Optional(Type.String()),
  mgmtIpv6: Type.Optional(Type.String()),
});

export const LabExecResult = Type.Object({
  node: Type.String(),
  command: Type.String(),
  exitCode: Type.Integer(),
  stdout: Type.String(),
  stderr: Type.String(),
});
export type LabExecResult = Static<typeof LabExecResult>;

export const LabView = Type.Object({
  name: Type.String(),
  status: Type.Union([Type.Literal('deploying'), Type.Literal('running'), Type.Literal('failed')]),
  created: Type.String(),
  mgmt: Type.Object({ network: Type.String(), ipv4Subnet: Type.String() }),
  nodes: Type.Array(LabNodeView),
  links: Type.Array(Type.Object({ a: Type.String(), b: Type.String(), addresses: StringList })),
  /** The nodes' exec commands, as they ran at deploy. */
  exec: Type.Optional(Type.Array(LabExecResult)),
  /** A deploy's answer: milliseconds of its phases (check, nodes, links, configure, exec, record). */
  timings: Type.Optional(Type.Record(Type.String(), Type.Number())),
});
export type LabView = Static<typeof LabView>;

/** progress=true: the answer is a stream of JSON lines, {"progress": "..."} per step, then {"lab": ...} or {"error": ...}. */
export const LabDeployQuery = Type.Object({ progress: Type.Optional(Type.String()) });

export const LabDestroyQuery = Type.Object({ cleanup: Type.Optional(Type.String()) });

export const LabExecBody = Type.Object(
  { command: Type.Array(Type.String(), { minItems: 1 }), node: Type.Optional(Type.String()), all: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
export type LabExecBody = Static<typeof LabExecBody>;

export const LabGraphBody = Type.Object(
  {
    topology: Type.String({ minLength: 1 }),
    file: Type.Optional(Type.String()),
    dir: Type.Optional(Type.String({ pattern: '^/' })),
    companion: Type.Optional(Type.String()),
    env: Type.Optional(StringMap),
    format: Type.Union([Type.Literal('dot'), Type.Literal('mermaid')]),
  },
  { additionalProperties: false },
);
export type LabGraphBody = Static<typeof LabGraphBody>;
export const LabGraphResult = Type.Object({ text: Type.String() });
export type LabGraphResult = Static<typeof LabGraphResult>;
