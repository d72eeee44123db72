/**
 * The numbers of nf_tables' netlink interface (linux/netfilter/nf_tables.h and nfnetlink.h) that tsnet uses.
 * Every integer attribute of nf_tables is big-endian.
 */
export const NETLINK_NETFILTER = 12;
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFNL_MSG_BATCH_BEGIN = 0x10;
export const NFNL_MSG_BATCH_END = 0x11;
export const NFPROTO_INET = 1;
export const NFPROTO_IPV4 = 2;
export const NFPROTO_IPV6 = 10;

export const NFT_MSG = {
  NEWTABLE: 0,
  GETTABLE: 1,
  DELTABLE: 2,
  NEWCHAIN: 3,
  GETCHAIN: 4,
  DELCHAIN: 5,
  NEWRULE: 6,
  GETRULE: 7,
  DELRULE: 8,
  NEWSET: 9,
  GETSET: 10,
  DELSET: 11,
  NEWSETELEM: 12,
  GETSETELEM: 13,
  DELSETELEM: 14,
} as const;

export const NFTA_LIST_ELEM = 1;
export const NFTA_HOOK = { HOOKNUM: 1, PRIORITY: 2 } as const;
export const NFTA_TABLE = { NAME: 1, FLAGS: 2 } as const;
export const NFTA_CHAIN = { TABLE: 1, HANDLE: 2, NAME: 3, HOOK: 4, POLICY: 5, TYPE: 7 } as const;
export const NFTA_RULE = { TABLE: 1, CHAIN: 2, HANDLE: 3, EXPRESSIONS: 4, USERDATA: 7 } as const;
export const NFTA_SET = { TABLE: 1, NAME: 2, FLAGS: 3, KEY_TYPE: 4, KEY_LEN: 5, DATA_TYPE: 6, DATA_LEN: 7, ID: 10, USERDATA: 13 } as const;
export const NFTA_SET_ELEM_LIST = { TABLE: 1, SET: 2, ELEMENTS: 3 } as const;
export const NFTA_SET_ELEM = { KEY: 1, DATA: 2 } as const;
export const NFTA_DATA = { VALUE: 1, VERDICT: 2 } as const;
export const NFTA_VERDICT = { CODE: 1, CHAIN: 2 } as const;
export const NFTA_EXPR = { NAME: 1, DATA: 2 } as const;

export const NFT_SET_MAP = 0x8;
/** The data type of a verdict map's values. */
export const NFT_DATA_VERDICT = 0xffffff00;

/** Hooks of the inet family. */
export const NF_INET = { PRE_ROUTING: 0, LOCAL_IN: 1, FORWARD: 2, LOCAL_OUT: 3, POST_ROUTING: 4 } as const;

/** Verdict codes: netfilter's and nf_tables' own. */
export const VERDICT = { DROP: 0, ACCEPT: 1, CONTINUE: -1, JUMP: -3, GOTO: -4, RETURN: -5 } as const;

/** NFT_REG_VERDICT, NFT_REG_1 (16 bytes, the same storage as the first four 32-bit registers), NFT_REG32_00. */
export const NFT_REG_VERDICT = 0;
export const NFT_REG_1 = 1;
export const NFT_REG32_00 = 8;

export const NFT_META = { IIFNAME: 6, OIFNAME: 7, NFPROTO: 15, L4PROTO: 16 } as const;
export const NFT_PAYLOAD = { NETWORK_HEADER: 1, TRANSPORT_HEADER: 2 } as const;
export const NFT_CMP = { EQ: 0, NEQ: 1 } as const;
export const NFT_CT = { STATE: 0, STATUS: 2 } as const;
export const NFTA_FIB_F_DADDR = 2;
export const NFT_FIB_RESULT_ADDRTYPE = 3;
export const NFT_NAT_DNAT = 1;

/** Conntrack bits: ct state established|related, ct status dnat. */
export const CT_STATE_ESTABLISHED = 1 << 1;
export const CT_STATE_RELATED = 1 << 2;
export const IPS_DST_NAT = 1 << 5;
/** RTN_LOCAL: the address type of the host's own addresses. */
export const RTN_LOCAL = 2;
export const IFNAMSIZ = 16;
