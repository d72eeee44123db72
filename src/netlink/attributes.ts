/**
 * Netlink attributes (struct nlattr / rtattr): encoding a tree of attributes into bytes and decoding bytes into
 * a lookup table. Pure: no I/O.
 *
 *   struct nlattr { __u16 nla_len; __u16 nla_type; }  followed by the payload, padded to 4 bytes.
 */
import { NLA_TYPE_MASK } from './constants.js';

export const NLA_HDRLEN = 4;
export const align4 = (n: number): number => (n + 3) & ~3;

/** One attribute: a payload, or (for nested attributes) a list of children. */
export interface Attr {
  readonly type: number;
  readonly value: Buffer | readonly Attr[];
}

export const attr = {
  bytes: (type: number, value: Buffer | Uint8Array): Attr => ({ type, value: Buffer.from(value) }),
  u8: (type: number, value: number): Attr => ({ type, value: Buffer.from([value & 0xff]) }),
  u16: (type: number, value: number): Attr => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(value);
    return { type, value: b };
  },
  /** A 16-bit value in network byte order (ports). */
  be16: (type: number, value: number): Attr => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(value);
    return { type, value: b };
  },
  u32: (type: number, value: number): Attr => {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(value >>> 0);
    return { type, value: b };
  },
  s32: (type: number, value: number): Attr => {
    const b = Buffer.alloc(4);
    b.writeInt32LE(value);
    return { type, value: b };
  },
  /** A NUL-terminated string, as the kernel's NLA_NUL_STRING and NLA_STRING policies both accept. */
  str: (type: number, value: string): Attr => ({ type, value: Buffer.from(value + '\0', 'utf8') }),
  nested: (type: number, children: readonly Attr[]): Attr => ({ type, value: children }),
};

function attrSize(a: Attr): number {
  return NLA_HDRLEN + (Buffer.isBuffer(a.value) ? a.value.length : attrsSize(a.value as readonly Attr[]));
}

export function attrsSize(attrs: readonly Attr[]): number {
  let size = 0;
  for (const a of attrs) size += align4(attrSize(a));
  return size;
}

/** Writes attrs into buf at offset; returns the offset after the last (padded) attribute. */
export function writeAttrs(buf: Buffer, offset: number, attrs: readonly Attr[]): number {
  for (const a of attrs) {
    const len = attrSize(a);
    if (len > 0xffff) throw new RangeError(`netlink attribute ${a.type} is too large (${len} bytes)`);
    buf.writeUInt16LE(len, offset);
    buf.writeUInt16LE(a.type, offset + 2);
    if (Buffer.isBuffer(a.value)) a.value.copy(buf, offset + NLA_HDRLEN);
    else writeAttrs(buf, offset + NLA_HDRLEN, a.value as readonly Attr[]);
    const end = offset + align4(len);
    buf.fill(0, offset + len, end);
    offset = end;
  }
  return offset;
}

export function encodeAttrs(attrs: readonly Attr[]): Buffer {
  const buf = Buffer.alloc(attrsSize(attrs));
  writeAttrs(buf, 0, attrs);
  return buf;
}

/** Decoded attributes of one level, keyed by type (flags masked off). Repeated types keep every occurrence. */
export class AttrTable {
  private readonly byType = new Map<number, Buffer[]>();

  static parse(buf: Buffer, offset = 0, end = buf.length): AttrTable {
    const table = new AttrTable();
    while (offset + NLA_HDRLEN <= end) {
      const len = buf.readUInt16LE(offset);
      const type = buf.readUInt16LE(offset + 2) & NLA_TYPE_MASK;
      if (len < NLA_HDRLEN || offset + len > end) {
        throw new RangeError(`malformed netlink attribute at offset ${offset}: length ${len}, ${end - offset} bytes left`);
      }
      const payload = buf.subarray(offset + NLA_HDRLEN, offset + len);
      const list = table.byType.get(type);
      if (list) list.push(payload);
      else table.byType.set(type, [payload]);
      offset += align4(len);
    }
    return table;
  }

  has(type: number): boolean {
    return this.byType.has(type);
  }
  types(): number[] {
    return [...this.byType.keys()];
  }
  bytes(type: number): Buffer | undefined {
    return this.byType.get(type)?.[0];
  }
  all(type: number): Buffer[] {
    return this.byType.get(type) ?? [];
  }
  u8(type: number): number | undefined {
    const b = this.bytes(type);
    return b && b.length >= 1 ? b.readUInt8(0) : undefined;
  }
  u16(type: number): number | undefined {
    const b = this.bytes(type);
    return b && b.length >= 2 ? b.readUInt16LE(0) : undefined;
  }
  be16(type: number): number | undefined {
    const b = this.bytes(type);
    return b && b.length >= 2 ? b.readUInt16BE(0) : undefined;
  }
  u32(type: number): number | undefined {
    const b = this.bytes(type);
    return b && b.length >= 4 ? b.readUInt32LE(0) : undefined;
  }
  s32(type: number): number | undefined {
    const b = this.bytes(type);
    return b && b.length >= 4 ? b.readInt32LE(0) : undefined;
  }
  str(type: number): string | undefined {
    const b = this.bytes(type);
    if (!b) return undefined;
    const nul = b.indexOf(0);
    return b.toString('utf8', 0, nul === -1 ? b.length : nul);
  }
  nested(type: number): AttrTable | undefined {
    const b = this.bytes(type);
    return b ? AttrTable.parse(b) : undefined;
  }
}
