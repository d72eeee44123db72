/**
 * nf_tables expressions as netlink attributes: the small machine a rule is made of (load a value into a register,
 * compare it, look it up in a set, give a verdict, translate addresses). Pure: no I/O.
 */
import { attr, type Attr } from '../attributes.js';
import { NLA_F_NESTED } from '../constants.js';
import { IFNAMSIZ, NFTA_DATA, NFTA_EXPR, NFTA_LIST_ELEM, NFTA_VERDICT, NFT_CMP, NFT_NAT_DNAT, NFT_REG_1, NFT_REG_VERDICT, VERDICT } from './constants.js';

/** One expression of a rule (an NFTA_LIST_ELEM of NFTA_RULE_EXPRESSIONS). */
export type Expr = Attr;

/** A nested attribute, flagged as nested as nf_tables' parser expects. */
export const nest = (type: number, children: readonly Attr[]): Attr => attr.nested(type | NLA_F_NESTED, children);

export const be32 = (type: number, value: number): Attr => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(value | 0);
  return { type, value: b };
};

/** NFTA_DATA_VALUE inside its nest. */
export const dataValue = (type: number, bytes: Buffer): Attr => nest(type, [attr.bytes(NFTA_DATA.VALUE, bytes)]);

/** A verdict as data (an immediate's, or a verdict map element's): accept, drop, return, or a jump to chain. */
export function verdictData(type: number, code: number, chain?: string): Attr {
  const verdict = [be32(NFTA_VERDICT.CODE, code), ...(chain !== undefined ? [attr.str(NFTA_VERDICT.CHAIN, chain)] : [])];
  return nest(type, [nest(NFTA_DATA.VERDICT, verdict)]);
}

const expr = (name: string, data: readonly Attr[]): Expr =>
  nest(NFTA_LIST_ELEM, [attr.str(NFTA_EXPR.NAME, name), ...(data.length > 0 ? [nest(NFTA_EXPR.DATA, data)] : [])]);

/** An interface name as the kernel holds it: 16 bytes, NUL-padded. */
export function ifname(name: string): Buffer {
  const b = Buffer.alloc(IFNAMSIZ);
  if (Buffer.byteLength(name) >= IFNAMSIZ) throw new RangeError(`interface name "${name}" is too long`);
  b.write(name, 'utf8');
  return b;
}

/** A u32 in the host's byte order (how the kernel keeps meta and ct values in registers). */
export function hostU32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value >>> 0);
  return b;
}

export const nx = {
  meta: (key: number, dreg: number = NFT_REG_1): Expr => expr('meta', [be32(2 /* KEY */, key), be32(1 /* DREG */, dreg)]),
  payload: (base: number, offset: number, len: number, dreg: number = NFT_REG_1): Expr =>
    expr('payload', [be32(1 /* DREG */, dreg), be32(2 /* BASE */, base), be32(3 /* OFFSET */, offset), be32(4 /* LEN */, len)]),
  cmp: (op: number, data: Buffer, sreg: number = NFT_REG_1): Expr =>
    expr('cmp', [be32(1 /* SREG */, sreg), be32(2 /* OP */, op), dataValue(3 /* DATA */, data)]),
  eq: (data: Buffer): Expr => nx.cmp(NFT_CMP.EQ, data),
  neq: (data: Buffer): Expr => nx.cmp(NFT_CMP.NEQ, data),
  /** reg = (reg & mask) ^ 0 */
  mask: (mask: Buffer, reg: number = NFT_REG_1): Expr =>
    expr('bitwise', [
      be32(1 /* SREG */, reg),
      be32(2 /* DREG */, reg),
      be32(3 /* LEN */, mask.length),
      dataValue(4 /* MASK */, mask),
      dataValue(5 /* XOR */, Buffer.alloc(mask.length)),
    ]),
  /** A set lookup of the key at NFT_REG_1; a map's value goes to dreg (NFT_REG_VERDICT for a verdict map). */
  lookup: (set: string, dreg?: number): Expr =>
    expr('lookup', [attr.str(1 /* SET */, set), be32(2 /* SREG */, NFT_REG_1), ...(dreg !== undefined ? [be32(3 /* DREG */, dreg)] : [])]),
  ct: (key: number, dreg: number = NFT_REG_1): Expr => expr('ct', [be32(1 /* DREG */, dreg), be32(2 /* KEY */, key)]),
  fib: (flags: number, result: number, dreg: number = NFT_REG_1): Expr =>
    expr('fib', [be32(1 /* DREG */, dreg), be32(2 /* RESULT */, result), be32(3 /* FLAGS */, flags)]),
  /** Destination NAT to the address at regAddr and the port at regProto. */
  dnat: (family: number, regAddr: number, regProto: number): Expr =>
    expr('nat', [be32(1 /* TYPE */, NFT_NAT_DNAT), be32(2 /* FAMILY */, family), be32(3 /* REG_ADDR_MIN */, regAddr), be32(5 /* REG_PROTO_MIN */, regProto)]),
  masquerade: (): Expr => expr('masq', []),
  counter: (): Expr => expr('counter', []),
  verdict: (code: number, chain?: string): Expr => expr('immediate', [be32(1 /* DREG */, NFT_REG_VERDICT), verdictData(2 /* DATA */, code, chain)]),
  accept: (): Expr => nx.verdict(VERDICT.ACCEPT),
  drop: (): Expr => nx.verdict(VERDICT.DROP),
  jump: (chain: string): Expr => nx.verdict(VERDICT.JUMP, chain),
};
