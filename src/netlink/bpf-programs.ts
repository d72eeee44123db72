/**
 * tsnet's eBPF programs, encoded instruction by instruction (struct bpf_insn: u8 code; u8 dst:4, src:4; s16 off;
 * s32 imm), and loaded through the native library. One for now: a TC classifier that drops a share of the packets
 * leaving an interface, drawn by bpf_get_prandom_u32 (a link's random loss where the kernel has no netem).
 */
import { TsnetError } from '../errors.js';
import { native } from '../native/library.js';

export const BPF_PROG_TYPE_SCHED_CLS = 3;
const BPF_FUNC_GET_PRANDOM_U32 = 7;
const BPF_FUNC_REDIRECT = 23;
const TC_ACT_OK = 0;
/** No verdict: the next filter decides (and with none, the packet passes). */
const TC_ACT_UNSPEC = -1;
const TC_ACT_SHOT = 2;

function insn(code: number, dst: number, src: number, off: number, imm: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt8(code, 0);
  b.writeUInt8((src << 4) | dst, 1);
  b.writeInt16LE(off, 2);
  b.writeInt32LE(imm | 0, 4);
  return b;
}

/**
 * Drops each packet with probability `share` (0..1), and leaves the others to the next filter (a link down):
 *   r0 = get_prandom_u32(); r1 = threshold; if r0 >= r1 goto pass; r0 = SHOT; exit; pass: r0 = UNSPEC; exit
 */
export function randomDropProgram(share: number): Buffer {
  if (!(share >= 0 && share <= 1)) throw new RangeError(`drop share ${share} is not within 0..1`);
  const threshold = Math.min(0xffffffff + 1, Math.round(share * 2 ** 32));
  const lo = threshold % 2 ** 32;
  const hi = Math.floor(threshold / 2 ** 32);
  return Buffer.concat([
    insn(0x85, 0, 0, 0, BPF_FUNC_GET_PRANDOM_U32), // call
    insn(0x18, 1, 0, 0, lo), // ld_imm64 r1 (low half)
    insn(0x00, 0, 0, 0, hi), // (high half)
    insn(0x3d, 0, 1, 2, 0), // jge r0, r1, +2
    insn(0xb7, 0, 0, 0, TC_ACT_SHOT), // mov r0, SHOT
    insn(0x95, 0, 0, 0, 0), // exit
    insn(0xb7, 0, 0, 0, TC_ACT_UNSPEC), // mov r0, UNSPEC
    insn(0x95, 0, 0, 0, 0), // exit
  ]);
}

/** Loads a TC classifier; the fd is the caller's to close once a filter holds the program. */
export function loadClassifier(program: Buffer, what: string): number {
  const { result, log } = native().bpfProgLoad(BPF_PROG_TYPE_SCHED_CLS, program, 'GPL');
  if (result < 0) {
    const why = native().strerror(-result) ?? `errno ${-result}`;
    throw new TsnetError('TSNET_ERR_NETLINK', `bpf: cannot load ${what}: ${why}${log ? ` (verifier: ${log.split('\n').slice(-3).join(' ')})` : ''}`);
  }
  return result;
}

/** Runs fn with a loaded classifier's fd (a filter attached in fn keeps the program), closing the fd after. */
export async function withClassifier<T>(program: Buffer, what: string, fn: (fd: number) => Promise<T>): Promise<T> {
  const fd = loadClassifier(program, what);
  try {
    return await fn(fd);
  } finally {
    native().close(fd);
  }
}

/**
 * Sends every packet not carrying `mark` to the egress of interface `ifindex` (the delay engine's hidden veth);
 * packets with the mark (the engine's own, released after their delay) go on their way:
 *   r0 = skb->mark; if r0 != mark goto redirect; r0 = OK; exit; redirect: return bpf_redirect(ifindex, 0)
 */
export function redirectUnlessMarkedProgram(mark: number, ifindex: number): Buffer {
  return Buffer.concat([
    insn(0x61, 0, 1, 8, 0), // ldxw r0, [r1 + offsetof(struct __sk_buff, mark)]
    insn(0x55, 0, 0, 2, mark), // jne r0, mark, +2
    insn(0xb7, 0, 0, 0, TC_ACT_OK),
    insn(0x95, 0, 0, 0, 0),
    insn(0xb7, 1, 0, 0, ifindex), // mov r1, ifindex
    insn(0xb7, 2, 0, 0, 0), // mov r2, 0 (egress)
    insn(0x85, 0, 0, 0, BPF_FUNC_REDIRECT),
    insn(0x95, 0, 0, 0, 0),
  ]);
}

/** Drops every packet (the hidden veth's own stack must never see what the delay engine reads there). */
export const dropAllProgram = (): Buffer => Buffer.concat([insn(0xb7, 0, 0, 0, TC_ACT_SHOT), insn(0x95, 0, 0, 0, 0)]);
