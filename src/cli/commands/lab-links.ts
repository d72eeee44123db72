/**
 * `tsnet lab link set|down|up|show` and `tsnet lab doctor`: impairments of a lab's links, changed live, shown with
 * the kernel's counters; and which impairments this kernel can apply, by which engine.
 */
import type { Command } from 'commander';
import type { ImpairmentSupportView, LabLinkSetBody, LabLinkStateBody, LabLinkView, LabScheduleView } from '../../api/labs.js';
import { ClientError } from '../../client/client.js';
import type { Cli } from '../context.js';
import { formatOption, printJson, printTable } from '../format.js';

const linksPath = (name: string, tail = ''): string => `/v1/labs/${encodeURIComponent(name)}/links${tail}`;

function printLinks(links: readonly LabLinkView[]): void {
  printTable(
    ['LINK', 'END', 'IMPAIRMENT', 'ENGINE', 'TX', 'RX', 'RATE DROPS', 'LOSS DROPS'],
    links.flatMap((l) =>
      l.ends.map((e) => [
        l.link,
        e.endpoint,
        e.impairment,
        e.engines.join(', ') || '-',
        String(e.txPackets),
        String(e.rxPackets),
        String(e.rateDrops),
        String(e.lossDrops),
      ]),
    ),
  );
}

interface SetFlags {
  name: string;
  peerToo?: boolean;
  clear?: boolean;
  rate?: string;
  burst?: string;
  loss?: string;
  mtu?: string;
  delay?: string;
  jitter?: string;
  distribution?: string;
  lossModel?: string;
  corrupt?: string;
  duplicate?: string;
  reorder?: string;
}

function impairmentOf(o: SetFlags): LabLinkSetBody['impairment'] {
  const mtu = o.mtu === undefined ? undefined : Number(o.mtu);
  if (mtu !== undefined && !Number.isInteger(mtu)) throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid --mtu "${o.mtu}"`);
  const given = {
    rate: o.rate,
    burst: o.burst,
    loss: o.loss,
    delay: o.delay,
    jitter: o.jitter,
    corrupt: o.corrupt,
    duplicate: o.duplicate,
    reorder: o.reorder,
  };
  const [p, r, bad, good] = (o.lossModel ?? '').split(',');
  if (o.lossModel !== undefined && (!p || !r))
    throw new ClientError('TSNET_ERR_INVALID_ARGUMENT', `invalid --loss-model "${o.lossModel}": expected p,r[,bad[,good]], e.g. 1%,10%`);
  const lossModel = o.lossModel ? { 'loss-model': { p: p!, r: r!, ...(bad ? { 'bad-loss': bad } : {}), ...(good ? { 'good-loss': good } : {}) } } : {};
  return { ...Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)), ...(mtu !== undefined ? { mtu } : {}), ...lossModel };
}

function registerSet(cli: Cli, link: Command): void {
  link
    .command('set')
    .description("change what is done to the packets leaving an end of a lab's link (values given replace those set)")
    .argument('<endpoint>', 'NODE:IFACE')
    .requiredOption('--name <lab>', 'the lab')
    .option('--peer-too', 'the same on the other end of the link')
    .option('--clear', 'drop what was set before')
    .option('--rate <rate>', 'rate limit, as tc writes it: 10mbit, 500kbit (0 removes it)')
    .option('--burst <bytes>', 'what may leave at once above the rate: 32kb')
    .option('--loss <percent>', 'random loss: 5% (0 removes it)')
    .option('--loss-model <p,r[,bad[,good]]>', 'bursty loss, Gilbert-Elliott: to bad with p, back with r, lost with bad (100%) and good (0%)')
    .option('--mtu <bytes>', "the end's MTU")
    .option('--delay <time>', 'hold each packet: 20ms, 500us (0 removes it)')
    .option('--jitter <time>', "the delay's spread: the standard deviation (normal) or +/- (uniform)")
    .option('--distribution <name>', "the jitter's: normal (default) or uniform")
    .option('--corrupt <percent>', 'flip a bit of this share of the packets: 1% (the receiver finds their checksums wrong)')
    .option('--duplicate <percent>', 'send this share of the packets twice: 1%')
    .option('--reorder <percent>', 'send this share of a delayed link at once, ahead of the others: 25%')
    .addOption(formatOption())
    .action(async (endpoint: string, o: SetFlags & { format?: string }) => {
      const body: LabLinkSetBody = { endpoint, impairment: impairmentOf(o), ...(o.peerToo ? { peerToo: true } : {}), ...(o.clear ? { clear: true } : {}) };
      const links = await cli.client().call<LabLinkView[]>('POST', linksPath(o.name), body);
      if (o.format === 'json') return printJson(links);
      printLinks(links.filter((l) => l.ends.some((e) => e.endpoint === endpoint)));
    });
}

export function registerLabLinks(cli: Cli, lab: Command): void {
  const link = lab.command('link').description("impair a lab's links and look at them");
  registerSet(cli, link);
  for (const [verb, up] of [
    ['down', false],
    ['up', true],
  ] as const) {
    link
      .command(verb)
      .description(up ? "bring an end's link up again" : "take an end's link down: everything it sends is lost")
      .argument('<endpoint>', 'NODE:IFACE')
      .requiredOption('--name <lab>', 'the lab')
      .action(async (endpoint: string, o: { name: string }) => {
        const body: LabLinkStateBody = { endpoint, up };
        await cli.client().call<LabLinkView[]>('POST', linksPath(o.name, '/state'), body);
      });
  }
  link
    .command('show')
    .description("a lab's links: per end, what is set, by which engine, and the kernel's packet and drop counters")
    .requiredOption('--name <lab>', 'the lab')
    .addOption(formatOption())
    .action(async (o: { name: string; format?: string }) => {
      const links = await cli.client().call<LabLinkView[]>('GET', linksPath(o.name));
      if (o.format === 'json') return printJson(links);
      printLinks(links);
    });

  registerEvents(cli, lab);
  lab
    .command('doctor')
    .description('which impairments this kernel can apply, and by which engine (found by trying)')
    .addOption(formatOption())
    .action(async (o: { format?: string }) => {
      const support = await cli.client().call<ImpairmentSupportView[]>('GET', '/v1/labs/doctor');
      if (o.format === 'json') return printJson(support);
      printTable(
        ['IMPAIRMENT', 'SUPPORTED', 'ENGINE', 'NOTE'],
        support.map((s) => [s.impairment, s.supported ? 'yes' : 'no', s.engine, s.note]),
      );
    });
}

/** `tsnet lab events`: what a lab's schedule has done. */
function registerEvents(cli: Cli, lab: Command): void {
  lab
    .command('events')
    .description("what a lab's schedule (deploy --events) has done: each event, when it was applied, how late")
    .requiredOption('--name <lab>', 'the lab')
    .addOption(formatOption())
    .action(async (o: { name: string; format?: string }) => {
      const s = await cli.client().call<LabScheduleView>('GET', `/v1/labs/${encodeURIComponent(o.name)}/events`);
      if (o.format === 'json') return printJson(s);
      console.log(`schedule started ${s.startedAt}`);
      printTable(
        ['AT (ms)', 'END', 'CHANGE', 'APPLIED (ms)', 'LATE (ms)', 'ERROR'],
        s.events.map((e) => [
          String(e.at),
          e.endpoint,
          e.change,
          e.appliedMs === undefined ? '-' : String(e.appliedMs),
          e.lateMs === undefined ? '-' : String(e.lateMs),
          e.error ?? '',
        ]),
      );
    });
}
