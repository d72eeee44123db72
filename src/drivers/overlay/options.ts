/** The overlay driver's options: the network's VXLAN id (from the cluster store) and its MTU. */
import { InvalidArgumentError } from '../../errors.js';
import { checkMtu } from '../../netlink/validate.js';
import { BRIDGE_OPTIONS, type BridgeConfig } from '../bridge/options.js';
import { checkKnownOptions } from '../driver.js';

/** What an overlay network is on one host: a bridge (the bridge driver's config) with a VXLAN port. */
export interface OverlayConfig extends BridgeConfig {
  readonly vxlanName: string;
  readonly vni: number;
  /** This host's underlay address: the local end of the network's tunnels. */
  readonly local: string;
  readonly mtu: number;
}

export const OVERLAY_OPTIONS = {
  /** Docker's key; tsnet takes one id (the cluster store hands it out when the option is absent). */
  vni: 'com.docker.network.driver.overlay.vxlanid_list',
  mtu: BRIDGE_OPTIONS.mtu,
} as const;

/** The VXLAN port (IANA's, as Docker's overlay uses). */
export const VXLAN_PORT = 4789;
/** What VXLAN adds to a frame over IPv4: outer IPv4 20, UDP 8, VXLAN 8, inner Ethernet 14. */
export const VXLAN_OVERHEAD = 50;
/** The MTU of an overlay network over a 1500-byte underlay. */
export const DEFAULT_OVERLAY_MTU = 1500 - VXLAN_OVERHEAD;

export function parseVni(text: string | undefined): number {
  if (text === undefined || !/^\d+$/u.test(text)) throw new InvalidArgumentError(`option ${OVERLAY_OPTIONS.vni}="${text ?? ''}" is not a VXLAN id`);
  const vni = Number(text);
  if (vni < 1 || vni > 0xffffff) throw new InvalidArgumentError(`VXLAN id ${vni} is out of range: it must be from 1 to 16777215`);
  return vni;
}

export function parseOverlayOptions(id: string, options: Readonly<Record<string, string>>, local: string): OverlayConfig {
  checkKnownOptions('overlay', options, Object.values(OVERLAY_OPTIONS));
  const mtuText = options[OVERLAY_OPTIONS.mtu];
  if (mtuText !== undefined && !/^\d+$/u.test(mtuText)) throw new InvalidArgumentError(`option ${OVERLAY_OPTIONS.mtu}="${mtuText}" is not a number`);
  return {
    bridgeName: `ov-${id.slice(0, 12)}`,
    vxlanName: `vx-${id.slice(0, 12)}`,
    vni: parseVni(options[OVERLAY_OPTIONS.vni]),
    local,
    mtu: mtuText !== undefined ? checkMtu(Number(mtuText)) : DEFAULT_OVERLAY_MTU,
    icc: true,
    masquerade: true,
  };
}
