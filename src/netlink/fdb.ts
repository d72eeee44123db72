/**
 * Forwarding tables: a VXLAN device's own (`bridge fdb ... self`: which remote tunnel endpoint a MAC address is
 * reached through) and a bridge's (`bridge fdb ... master`: which port). An overlay network programs both per
 * remote container, so that neither the device nor its bridge floods or learns.
 */
import {
  AF_BRIDGE,
  NDA_DST,
  NDA_LLADDR,
  NDA_MASTER,
  NLM_F_CREATE,
  NLM_F_REPLACE,
  NTF_MASTER,
  NTF_SELF,
  NUD_NOARP,
  NUD_PERMANENT,
  RTM_DELNEIGH,
  RTM_GETNEIGH,
  RTM_NEWNEIGH,
} from './constants.js';
import { attr } from './attributes.js';
import { decodeFamily, encodeMessage, ndmsg } from './message.js';
import type { NetlinkRequest } from './socket.js';
import { checkIndex, formatIp, formatMac, parseIp, parseMac } from './validate.js';

export interface FdbEntry {
  readonly index: number;
  readonly mac: string;
  /** The remote tunnel endpoint (absent on a bridge's own entries). */
  readonly dst?: string;
  /** Whether the entry is the device's own (NTF_SELF), not its master bridge's. */
  readonly self: boolean;
  /** Whether the entry is the master bridge's, for this port (the kernel names the bridge in NDA_MASTER). */
  readonly master: boolean;
  /** PERMANENT: the port's own address (bridge) or an entry set by hand (VXLAN device). */
  readonly permanent: boolean;
  /** Set by hand and never aged or moved by learning (NUD_NOARP): `static`. */
  readonly static: boolean;
}

/** Equivalent to: `bridge fdb show` (every device; callers filter by index). */
export function fdbListRequest(): NetlinkRequest<FdbEntry[]> {
  return {
    type: RTM_GETNEIGH,
    object: 'forwarding table',
    dump: true,
    encode: (seq, f) => encodeMessage(RTM_GETNEIGH, f, seq, ndmsg, { family: AF_BRIDGE, index: 0, state: 0, flags: 0, type: 0 }, []),
    parse: (replies) =>
      replies
        .filter((m) => m.header.type === RTM_NEWNEIGH)
        .flatMap((m) => {
          const { head, attrs } = decodeFamily(m, ndmsg);
          const mac = attrs.bytes(NDA_LLADDR);
          const dst = attrs.bytes(NDA_DST);
          if (!mac || mac.length !== 6) return [];
          return [
            {
              index: head.index,
              mac: formatMac(mac),
              ...(dst && (dst.length === 4 || dst.length === 16) ? { dst: formatIp(dst) } : {}),
              self: (head.flags & NTF_SELF) !== 0,
              master: attrs.u32(NDA_MASTER) !== undefined,
              permanent: (head.state & NUD_PERMANENT) !== 0,
              static: (head.state & NUD_NOARP) !== 0,
            },
          ];
        }),
  };
}

/**
 * One forwarding entry, added (replacing) or deleted: the VXLAN device's own toward a remote tunnel endpoint
 * (`self permanent dst REMOTE`), or its bridge's for the port (`master static`).
 */
function fdbEntryRequest(type: number, index: number, mac: string, where: { readonly dst: string } | 'master'): NetlinkRequest<void> {
  checkIndex(index, 'forwarding entry interface index');
  const lladdr = parseMac(mac);
  const remote = where === 'master' ? undefined : parseIp(where.dst, 'tunnel endpoint');
  const extra = type === RTM_NEWNEIGH ? NLM_F_CREATE | NLM_F_REPLACE : 0;
  const head = remote
    ? { family: AF_BRIDGE, index, state: NUD_PERMANENT | NUD_NOARP, flags: NTF_SELF, type: 0 }
    : { family: AF_BRIDGE, index, state: NUD_NOARP, flags: NTF_MASTER, type: 0 };
  return {
    type,
    object: remote ? `${mac} dst ${remote.text} index ${index}` : `${mac} master, port ${index}`,
    dump: false,
    encode: (seq, f) =>
      encodeMessage(type, f | extra, seq, ndmsg, head, [attr.bytes(NDA_LLADDR, lladdr), ...(remote ? [attr.bytes(NDA_DST, remote.bytes)] : [])]),
    parse: () => undefined,
  };
}

/** Equivalent to: `bridge fdb replace MAC dev PORT master static` */
export const bridgeFdbReplaceRequest = (portIndex: number, mac: string): NetlinkRequest<void> => fdbEntryRequest(RTM_NEWNEIGH, portIndex, mac, 'master');

/** Equivalent to: `bridge fdb del MAC dev PORT master` */
export const bridgeFdbDeleteRequest = (portIndex: number, mac: string): NetlinkRequest<void> => fdbEntryRequest(RTM_DELNEIGH, portIndex, mac, 'master');

/** Equivalent to: `bridge fdb replace MAC dev DEV self permanent dst REMOTE` */
export const fdbReplaceRequest = (index: number, mac: string, dst: string): NetlinkRequest<void> => fdbEntryRequest(RTM_NEWNEIGH, index, mac, { dst });

/** Equivalent to: `bridge fdb del MAC dev DEV self dst REMOTE` */
export const fdbDeleteRequest = (index: number, mac: string, dst: string): NetlinkRequest<void> => fdbEntryRequest(RTM_DELNEIGH, index, mac, { dst });
