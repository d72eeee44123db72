/**
 * nf_tables requests for the netlink socket: a transaction's begin and end, tables, chains, rules, sets and their
 * elements, and the dumps that read them back. Everything is in the inet family. Pure: no I/O.
 */
import { AttrTable, attr, type Attr } from '../attributes.js';
import { NLM_F_APPEND, NLM_F_CREATE } from '../constants.js';
import { decodeFamily, encodeMessage, type FamilyStruct, type NlMessage } from '../message.js';
import { NetlinkError } from '../errors.js';
import type { NetlinkRequest } from '../socket.js';
import {
  NFNL_MSG_BATCH_BEGIN,
  NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES,
  NFPROTO_IPV4,
  NFPROTO_IPV6,
  NFPROTO_INET,
  NFTA_CHAIN,
  NFTA_DATA,
  NFTA_HOOK,
  NFTA_LIST_ELEM,
  NFTA_RULE,
  NFTA_SET,
  NFTA_SET_ELEM,
  NFTA_SET_ELEM_LIST,
  NFTA_TABLE,
  NFTA_VERDICT,
  NFT_MSG,
} from './constants.js';
import { be32, dataValue, nest, verdictData, type Expr } from './expressions.js';

/** struct nfgenmsg { u8 nfgen_family; u8 version; __be16 res_id; } */
interface NfGenMsg {
  family: number;
  resId: number;
}
const nfgenmsg: FamilyStruct<NfGenMsg> = {
  size: 4,
  encode(v, buf, o) {
    buf.writeUInt8(v.family, o);
    buf.writeUInt8(0, o + 1);
    buf.writeUInt16BE(v.resId, o + 2);
  },
  decode: (buf, o) => ({ family: buf.readUInt8(o), resId: buf.readUInt16BE(o + 2) }),
};

const msgType = (m: number): number => (NFNL_SUBSYS_NFTABLES << 8) | m;

/** An acknowledged change of the inet family. */
function change(m: number, object: string, attrs: readonly Attr[], extraFlags = 0, family = NFPROTO_INET): NetlinkRequest<void> {
  const type = msgType(m);
  return {
    type,
    object,
    dump: false,
    encode: (seq, flags) => encodeMessage(type, flags | extraFlags, seq, nfgenmsg, { family, resId: 0 }, attrs),
    parse: () => undefined,
  };
}

function batch(type: number, object: string): NetlinkRequest<void> {
  return {
    type,
    object,
    dump: false,
    unanswered: true,
    encode: (seq, flags) => encodeMessage(type, flags, seq, nfgenmsg, { family: 0, resId: NFNL_SUBSYS_NFTABLES }, []),
    parse: () => undefined,
  };
}

/** Wraps changes in one transaction: the kernel applies all of them or none. */
export const transaction = (changes: readonly NetlinkRequest<unknown>[]): NetlinkRequest<unknown>[] => [
  batch(NFNL_MSG_BATCH_BEGIN, 'nf_tables transaction'),
  ...changes,
  batch(NFNL_MSG_BATCH_END, 'nf_tables transaction'),
];

export interface BaseChainSpec {
  readonly type: 'filter' | 'nat';
  readonly hook: number;
  readonly priority: number;
  /** Accept (1) or drop (0) what reaches the chain's end. */
  readonly policy: number;
}

/** A set or map: its key's (and a map's value's) type and length; userdata lets `nft list` print elements. */
export interface SetSpec {
  readonly name: string;
  readonly flags: number;
  readonly keyType: number;
  readonly keyLen: number;
  readonly dataType?: number;
  readonly dataLen?: number;
  readonly userdata?: Buffer;
}

/** A set element: its key bytes, and a map's value (bytes, or a verdict such as a jump to a chain). */
export interface SetElement {
  readonly key: Buffer;
  readonly value?: Buffer | { readonly code: number; readonly chain?: string };
  /** The element in words, as nft prints it (for messages; not sent). */
  readonly label?: string;
}

/** A rule's comment as nft stores it in the rule's userdata (NFTNL_UDATA_RULE_COMMENT), so `nft list` shows it. */
export function commentUserdata(text: string): Buffer {
  const value = Buffer.from(`${text}\0`, 'utf8');
  if (value.length > 255) throw new RangeError(`rule comment too long: ${text}`);
  return Buffer.concat([Buffer.from([0, value.length]), value]);
}

export function parseCommentUserdata(ud: Buffer | undefined): string | undefined {
  if (!ud || ud.length < 2 || ud[0] !== 0) return undefined;
  return ud.toString('utf8', 2, 2 + ud[1]!).replace(/\0$/u, '');
}

const FAMILY_NAMES: Readonly<Record<number, string>> = { [NFPROTO_INET]: 'inet', [NFPROTO_IPV4]: 'ip', [NFPROTO_IPV6]: 'ip6' };
const where = (table: string, what: string, family = NFPROTO_INET): string => `${FAMILY_NAMES[family] ?? family} ${table}: ${what}`;

function u64(type: number, value: bigint): Attr {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(value);
  return { type, value: b };
}

export const nft = {
  newTable: (table: string): NetlinkRequest<void> =>
    change(NFT_MSG.NEWTABLE, where(table, 'table'), [attr.str(NFTA_TABLE.NAME, table), be32(NFTA_TABLE.FLAGS, 0)], NLM_F_CREATE),
  newChain(table: string, name: string, base?: BaseChainSpec): NetlinkRequest<void> {
    const attrs: Attr[] = [attr.str(NFTA_CHAIN.TABLE, table), attr.str(NFTA_CHAIN.NAME, name)];
    if (base) {
      attrs.push(
        nest(NFTA_CHAIN.HOOK, [be32(NFTA_HOOK.HOOKNUM, base.hook), be32(NFTA_HOOK.PRIORITY, base.priority)]),
        be32(NFTA_CHAIN.POLICY, base.policy),
        attr.str(NFTA_CHAIN.TYPE, base.type),
      );
    }
    return change(NFT_MSG.NEWCHAIN, where(table, `chain ${name}`), attrs, NLM_F_CREATE);
  },
  delChain: (table: string, name: string): NetlinkRequest<void> =>
    change(NFT_MSG.DELCHAIN, where(table, `chain ${name}`), [attr.str(NFTA_CHAIN.TABLE, table), attr.str(NFTA_CHAIN.NAME, name)]),
  /** Removes every rule of a chain. */
  flushChain: (table: string, chain: string): NetlinkRequest<void> =>
    change(NFT_MSG.DELRULE, where(table, `rules of chain ${chain}`), [attr.str(NFTA_RULE.TABLE, table), attr.str(NFTA_RULE.CHAIN, chain)]),
  /** Appends a rule at the end of a chain (of tsnet's inet table, or of another family's table). */
  newRule: (table: string, chain: string, exprs: readonly Expr[], comment: string, family = NFPROTO_INET): NetlinkRequest<void> =>
    change(
      NFT_MSG.NEWRULE,
      where(table, `rule "${comment}" in chain ${chain}`, family),
      [
        attr.str(NFTA_RULE.TABLE, table),
        attr.str(NFTA_RULE.CHAIN, chain),
        nest(NFTA_RULE.EXPRESSIONS, exprs),
        attr.bytes(NFTA_RULE.USERDATA, commentUserdata(comment)),
      ],
      NLM_F_CREATE | NLM_F_APPEND,
      family,
    ),
  /** Deletes one rule, by its handle. */
  delRule: (table: string, chain: string, handle: bigint, family = NFPROTO_INET): NetlinkRequest<void> =>
    change(
      NFT_MSG.DELRULE,
      where(table, `rule ${handle} in chain ${chain}`, family),
      [attr.str(NFTA_RULE.TABLE, table), attr.str(NFTA_RULE.CHAIN, chain), u64(NFTA_RULE.HANDLE, handle)],
      0,
      family,
    ),
  newSet(table: string, set: SetSpec): NetlinkRequest<void> {
    const attrs: Attr[] = [
      attr.str(NFTA_SET.TABLE, table),
      attr.str(NFTA_SET.NAME, set.name),
      be32(NFTA_SET.FLAGS, set.flags),
      be32(NFTA_SET.KEY_TYPE, set.keyType),
      be32(NFTA_SET.KEY_LEN, set.keyLen),
    ];
    if (set.dataType !== undefined) attrs.push(be32(NFTA_SET.DATA_TYPE, set.dataType), be32(NFTA_SET.DATA_LEN, set.dataLen ?? 0));
    if (set.userdata) attrs.push(attr.bytes(NFTA_SET.USERDATA, set.userdata));
    // The kernel wants an id for the set within the transaction, even when nothing refers to it by that id.
    attrs.push(be32(NFTA_SET.ID, 1));
    return change(NFT_MSG.NEWSET, where(table, `set ${set.name}`), attrs, NLM_F_CREATE);
  },
  delSet: (table: string, name: string): NetlinkRequest<void> =>
    change(NFT_MSG.DELSET, where(table, `set ${name}`), [attr.str(NFTA_SET.TABLE, table), attr.str(NFTA_SET.NAME, name)]),
  /** Adds elements to a set (in messages of at most 200, as one attribute holds at most 64 KB). */
  newElements: (table: string, set: string, elements: readonly SetElement[]): NetlinkRequest<void>[] =>
    elementRequests(NFT_MSG.NEWSETELEM, table, set, elements),
  delElements: (table: string, set: string, elements: readonly SetElement[]): NetlinkRequest<void>[] =>
    elementRequests(NFT_MSG.DELSETELEM, table, set, elements),
  /** Removes every element of a set. */
  flushSet: (table: string, set: string): NetlinkRequest<void> =>
    change(NFT_MSG.DELSETELEM, where(table, `elements of set ${set}`), [attr.str(NFTA_SET_ELEM_LIST.TABLE, table), attr.str(NFTA_SET_ELEM_LIST.SET, set)]),
};

function elementAttr(e: SetElement): Attr {
  const parts: Attr[] = [dataValue(NFTA_SET_ELEM.KEY, e.key)];
  if (Buffer.isBuffer(e.value)) parts.push(dataValue(NFTA_SET_ELEM.DATA, e.value));
  else if (e.value) parts.push(verdictData(NFTA_SET_ELEM.DATA, e.value.code, e.value.chain));
  return nest(NFTA_LIST_ELEM, parts);
}

function elementRequests(m: number, table: string, set: string, elements: readonly SetElement[]): NetlinkRequest<void>[] {
  const out: NetlinkRequest<void>[] = [];
  for (let i = 0; i < elements.length; i += 200) {
    const chunk = elements.slice(i, i + 200);
    out.push(
      change(
        m,
        where(table, `${chunk.length} element(s) of set ${set}`),
        [attr.str(NFTA_SET_ELEM_LIST.TABLE, table), attr.str(NFTA_SET_ELEM_LIST.SET, set), nest(NFTA_SET_ELEM_LIST.ELEMENTS, chunk.map(elementAttr))],
        m === NFT_MSG.NEWSETELEM ? NLM_F_CREATE : 0,
      ),
    );
  }
  return out;
}

/** A dump of the inet family, filtered by the attributes given (a table, a set). */
function dump<T>(m: number, object: string, attrs: readonly Attr[], parseOne: (attrs: AttrTable) => T, family = NFPROTO_INET): NetlinkRequest<T[]> {
  const type = msgType(m);
  return {
    type,
    object,
    dump: true,
    encode: (seq, flags) => encodeMessage(type, flags, seq, nfgenmsg, { family, resId: 0 }, attrs),
    parse: (replies: readonly NlMessage[]) => replies.map((r) => parseOne(decodeFamily(r, nfgenmsg).attrs)),
  };
}

export interface ChainInfo {
  readonly name: string;
  readonly base: boolean;
  /** A base chain's policy: accept (1) or drop (0). */
  readonly policy: number | undefined;
}
export interface RuleInfo {
  readonly chain: string;
  readonly handle: bigint;
  readonly comment: string | undefined;
}
export interface ElementInfo {
  readonly key: Buffer;
  /** A value's bytes, or a verdict's code and chain. */
  readonly value?: Buffer | { readonly code: number; readonly chain?: string };
}

function parseElement(e: AttrTable): ElementInfo {
  const key = e.nested(NFTA_SET_ELEM.KEY)?.bytes(NFTA_DATA.VALUE) ?? Buffer.alloc(0);
  const data = e.nested(NFTA_SET_ELEM.DATA);
  if (!data) return { key: Buffer.from(key) };
  const value = data.bytes(NFTA_DATA.VALUE);
  if (value) return { key: Buffer.from(key), value: Buffer.from(value) };
  const v = data.nested(NFTA_DATA.VERDICT);
  const chain = v?.str(NFTA_VERDICT.CHAIN);
  return { key: Buffer.from(key), value: { code: v?.bytes(NFTA_VERDICT.CODE)?.readInt32BE(0) ?? 0, ...(chain !== undefined ? { chain } : {}) } };
}

export const nftDump = {
  chains: (table: string, family = NFPROTO_INET): NetlinkRequest<ChainInfo[]> =>
    dump(
      NFT_MSG.GETCHAIN,
      where(table, 'chains', family),
      [attr.str(NFTA_CHAIN.TABLE, table)],
      (a) => ({ name: a.str(NFTA_CHAIN.NAME) ?? '', base: a.has(NFTA_CHAIN.HOOK), policy: a.bytes(NFTA_CHAIN.POLICY)?.readUInt32BE(0) }),
      family,
    ),
  sets: (table: string): NetlinkRequest<string[]> =>
    dump(NFT_MSG.GETSET, where(table, 'sets'), [attr.str(NFTA_SET.TABLE, table)], (a) => a.str(NFTA_SET.NAME) ?? ''),
  rules: (table: string, family = NFPROTO_INET): NetlinkRequest<RuleInfo[]> =>
    dump(
      NFT_MSG.GETRULE,
      where(table, 'rules', family),
      [attr.str(NFTA_RULE.TABLE, table)],
      (a) => ({
        chain: a.str(NFTA_RULE.CHAIN) ?? '',
        handle: a.bytes(NFTA_RULE.HANDLE)?.readBigUInt64BE(0) ?? 0n,
        comment: parseCommentUserdata(a.bytes(NFTA_RULE.USERDATA)),
      }),
      family,
    ),
  elements: (table: string, set: string): NetlinkRequest<ElementInfo[][]> =>
    dump(NFT_MSG.GETSETELEM, where(table, `elements of set ${set}`), [attr.str(NFTA_SET_ELEM_LIST.TABLE, table), attr.str(NFTA_SET_ELEM_LIST.SET, set)], (a) =>
      (a.nested(NFTA_SET_ELEM_LIST.ELEMENTS)?.all(NFTA_LIST_ELEM) ?? []).map((b) => parseElement(AttrTable.parse(b))),
    ),
};

/** A dump's answer, or nothing when what it reads does not exist (a table not made yet answers ENOENT). */
export async function orNothing<T>(answer: Promise<T[]>): Promise<T[]> {
  try {
    return await answer;
  } catch (err) {
    if (err instanceof NetlinkError && err.errno === 2 /* ENOENT */) return [];
    throw err;
  }
}
