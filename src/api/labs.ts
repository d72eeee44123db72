/** The API contract of /v1/labs: deploy, list, inspect, destroy, exec, graph, and links' impairments. */
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
    /** Start the companion file's `events` once the lab is up. */
    events: Type.Optional(Type.Boolean()),
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

const RateLike = Type.Union([Type.String({ minLength: 1 }), Type.Number()]);

/**
 * An impairment of the packets leaving one end of a link, in tc's and netem's words (rate "10mbit", burst "32kb",
 * loss "5%", delay "20ms", corrupt "1%"). What this kernel cannot apply is refused by name (lab doctor lists what it can).
 */
export const ImpairmentSchema = Type.Object(
  {
    rate: Type.Optional(RateLike),
    burst: Type.Optional(RateLike),
    loss: Type.Optional(RateLike),
    mtu: Type.Optional(Type.Integer()),
    down: Type.Optional(Type.Boolean()),
    delay: Type.Optional(RateLike),
    jitter: Type.Optional(RateLike),
    distribution: Type.Optional(Type.String()),
    'loss-model': Type.Optional(
      Type.Object({ p: RateLike, r: RateLike, 'bad-loss': Type.Optional(RateLike), 'good-loss': Type.Optional(RateLike) }, { additionalProperties: false }),
    ),
    corrupt: Type.Optional(RateLike),
    duplicate: Type.Optional(RateLike),
    reorder: Type.Optional(RateLike),
  },
  { additionalProperties: false },
);

/**
 * POST /v1/labs/{name}/links: changes the impairment of an end, NODE:IFACE (and with peerToo, its peer's): the values
 * given replace those set (rate 0 and loss 0 remove them); with clear, nothing set before is kept.
 */
export const LabLinkSetBody = Type.Object(
  { endpoint: Type.String({ minLength: 3 }), peerToo: Type.Optional(Type.Boolean()), clear: Type.Optional(Type.Boolean()), impairment: ImpairmentSchema },
  { additionalProperties: false },
);
export type LabLinkSetBody = Static<typeof LabLinkSetBody>;

/** One end of a lab's link as `lab link show` shows it: what is set, by which engine, and the kernel's counters. */
export const LabLinkEndView = Type.Object({
  endpoint: Type.String(),
  impairment: Type.String(),
  engines: Type.Array(Type.String()),
  up: Type.Boolean(),
  txPackets: Type.Integer(),
  rxPackets: Type.Integer(),
  rateDrops: Type.Integer(),
  lossDrops: Type.Integer(),
  /** The delay engine's relay process for this end, while it has a delay. */
  relayPid: Type.Optional(Type.Integer()),
});
export type LabLinkEndView = Static<typeof LabLinkEndView>;
export const LabLinkView = Type.Object({ link: Type.String(), ends: Type.Array(LabLinkEndView) });
export type LabLinkView = Static<typeof LabLinkView>;

/** GET /v1/labs/doctor: each impairment, whether this kernel can apply it, and by which engine. */
export const ImpairmentSupportView = Type.Object({ impairment: Type.String(), supported: Type.Boolean(), engine: Type.String(), note: Type.String() });
export type ImpairmentSupportView = Static<typeof ImpairmentSupportView>;

/** POST /v1/labs/{name}/links/state: an end's link down (everything it sends is lost) or up again. */
export const LabLinkStateBody = Type.Object({ endpoint: Type.String({ minLength: 3 }), up: Type.Boolean() }, { additionalProperties: false });
export type LabLinkStateBody = Static<typeof LabLinkStateBody>;

/** A scheduled change of a link end (the companion file's `events`), at a time from the schedule's start. */
export const LabEventSchema = Type.Object(
  {
    at: RateLike,
    endpoint: Type.String({ minLength: 3 }),
    'peer-too': Type.Optional(Type.Boolean()),
    clear: Type.Optional(Type.Boolean()),
    set: Type.Optional(ImpairmentSchema),
    state: Type.Optional(Type.Union([Type.Literal('down'), Type.Literal('up')])),
  },
  { additionalProperties: false },
);

/** What the schedule did: each event's time, when it was applied (ms from the start), how late, and any error. */
export const LabEventResult = Type.Object({
  at: Type.Number(),
  endpoint: Type.String(),
  change: Type.String(),
  appliedMs: Type.Optional(Type.Number()),
  lateMs: Type.Optional(Type.Number()),
  /** How late the daemon got to it (its timer, on a busy machine), of lateMs. */
  firedLateMs: Type.Optional(Type.Number()),
  error: Type.Optional(Type.String()),
});
export type LabEventResult = Static<typeof LabEventResult>;
export const LabScheduleView = Type.Object({ startedAt: Type.String(), events: Type.Array(LabEventResult) });
export type LabScheduleView = Static<typeof LabScheduleView>;

const Bounds = Type.Object({ min: Type.Optional(Type.Number()), max: Type.Optional(Type.Number()) }, { additionalProperties: false });

/**
 * One experiment of the companion file's `experiments`: a ping from a node to an address (rtt_ms, loss_pct), an
 * iperf3 run from a node to another's address (throughput_mbit, one sample a second), or a ping matrix (every node to
 * every other's first address, or the targets named: rtt_ms and loss_pct over all pairs, and each pair's figures);
 * expect bounds its statistics.
 */
export const ExperimentSchema = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    ping: Type.Optional(
      Type.Object(
        { from: Type.String(), to: Type.String(), count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000 })), interval: Type.Optional(RateLike) },
        { additionalProperties: false },
      ),
    ),
    iperf3: Type.Optional(
      Type.Object(
        {
          from: Type.String(),
          to: Type.String(),
          address: Type.String(),
          seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: 600 })),
          udp: Type.Optional(Type.Boolean()),
          bitrate: Type.Optional(Type.String()),
        },
        { additionalProperties: false },
      ),
    ),
    matrix: Type.Optional(
      Type.Object(
        {
          nodes: Type.Optional(Type.Array(Type.String(), { minItems: 2 })),
          targets: Type.Optional(Type.Record(Type.String(), Type.String())),
          count: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
          interval: Type.Optional(RateLike),
        },
        { additionalProperties: false },
      ),
    ),
    expect: Type.Optional(Type.Record(Type.String(), Type.Record(Type.String(), Bounds))),
  },
  { additionalProperties: false },
);
export type ExperimentSpec = Static<typeof ExperimentSchema>;

const Sample = Type.Object({ t: Type.Number(), v: Type.Number() });
const SummaryView = Type.Record(Type.String(), Type.Number());
export const ExperimentReport = Type.Object({
  name: Type.String(),
  kind: Type.String(),
  startedMs: Type.Number(),
  metrics: Type.Record(Type.String(), Type.Object({ unit: Type.String(), samples: Type.Array(Sample), summary: SummaryView })),
  assertions: Type.Array(
    Type.Object({ metric: Type.String(), statistic: Type.String(), bound: Type.String(), limit: Type.Number(), value: Type.Number(), pass: Type.Boolean() }),
  ),
  /** A ping matrix's pairs: probes sent and answered, the loss, and the median RTT of the answered. */
  matrix: Type.Optional(
    Type.Array(
      Type.Object({
        from: Type.String(),
        to: Type.String(),
        address: Type.String(),
        sent: Type.Integer(),
        received: Type.Integer(),
        lossPct: Type.Number(),
        rttMs: Type.Optional(Type.Number()),
      }),
    ),
  ),
  error: Type.Optional(Type.String()),
});
export type ExperimentReport = Static<typeof ExperimentReport>;

/** POST /v1/labs/{name}/experiments: the report (exit: 0 every assertion holds, 1 one failed, 2 an experiment could not run). */
export const LabRunReport = Type.Object({
  lab: Type.String(),
  startedAt: Type.String(),
  finishedAt: Type.String(),
  kernel: Type.String(),
  links: Type.Array(LabLinkView),
  schedule: Type.Optional(LabScheduleView),
  experiments: Type.Array(ExperimentReport),
  status: Type.Union([Type.Literal('passed'), Type.Literal('failed'), Type.Literal('error')]),
  exitCode: Type.Integer(),
});
export type LabRunReport = Static<typeof LabRunReport>;
