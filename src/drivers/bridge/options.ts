/** The bridge driver's options, parsed once from the strings Docker and the CLI pass. */
import { isIPv4 } from 'node:net';
import { InvalidArgumentError } from '../../errors.js';
import { checkInterfaceName, checkMtu } from '../../netlink/validate.js';
import { TsnetError } from '../../errors.js';
import { checkKnownOptions } from '../driver.js';
import type { NetworkRecord } from '../records.js';

/** What the bridge driver resolved from a network's options, kept with the network (drivers keep no state). */
export interface BridgeConfig {
  readonly bridgeName: string;
  readonly mtu?: number;
  readonly icc: boolean;
  readonly masquerade: boolean;
  /** Names of the containers' interfaces: PREFIX0, PREFIX1... (Docker's container_iface_prefix; default eth). */
  readonly ifacePrefix?: string;
  /** The bridge holds no IPv4 address: the gateway is someone else's (Docker's inhibit_ipv4). */
  readonly inhibitIpv4?: boolean;
  /** Default host address of published ports (Docker's host_binding_ipv4). */
  readonly hostBindingIpv4?: string;
  /** routed: no NAT, the containers' addresses are reached directly (Docker's gateway_mode_ipv4). */
  readonly gatewayMode?: 'nat' | 'routed';
}

export const BRIDGE_OPTIONS = {
  name: 'com.docker.network.bridge.name',
  icc: 'com.docker.network.bridge.enable_icc',
  masquerade: 'com.docker.network.bridge.enable_ip_masquerade',
  mtu: 'com.docker.network.driver.mtu',
  ifacePrefix: 'com.docker.network.container_iface_prefix',
  inhibitIpv4: 'com.docker.network.bridge.inhibit_ipv4',
  hostBindingIpv4: 'com.docker.network.bridge.host_binding_ipv4',
  gatewayModeIpv4: 'com.docker.network.bridge.gateway_mode_ipv4',
} as const;

function parseBool(key: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new InvalidArgumentError(`option ${key}="${value}" must be true or false`);
}

/** Parses the options; a bridge name another network already uses is refused. */
export function parseBridgeOptions(id: string, options: Readonly<Record<string, string>>, existing: readonly NetworkRecord[] = []): BridgeConfig {
  checkKnownOptions('bridge', options, Object.values(BRIDGE_OPTIONS));
  const name = options[BRIDGE_OPTIONS.name] ?? `br-${id.slice(0, 12)}`;
  checkInterfaceName(name, `bridge name (option ${BRIDGE_OPTIONS.name})`);
  const mtuText = options[BRIDGE_OPTIONS.mtu];
  let mtu: number | undefined;
  if (mtuText !== undefined) {
    if (!/^\d+$/u.test(mtuText)) throw new InvalidArgumentError(`option ${BRIDGE_OPTIONS.mtu}="${mtuText}" is not a number`);
    mtu = checkMtu(Number(mtuText));
  }
  const prefix = options[BRIDGE_OPTIONS.ifacePrefix];
  if (prefix !== undefined && !/^[a-z][a-z0-9]{0,10}$/u.test(prefix)) {
    throw new InvalidArgumentError(`option ${BRIDGE_OPTIONS.ifacePrefix}="${prefix}" must be 1 to 11 lower-case letters and digits, starting with a letter`);
  }
  const hostBinding = options[BRIDGE_OPTIONS.hostBindingIpv4];
  if (hostBinding !== undefined && !isIPv4(hostBinding))
    throw new InvalidArgumentError(`option ${BRIDGE_OPTIONS.hostBindingIpv4}="${hostBinding}" is not an IPv4 address`);
  const gatewayMode = options[BRIDGE_OPTIONS.gatewayModeIpv4];
  if (gatewayMode !== undefined && gatewayMode !== 'nat' && gatewayMode !== 'routed') {
    throw new InvalidArgumentError(`option ${BRIDGE_OPTIONS.gatewayModeIpv4}="${gatewayMode}" must be nat or routed`);
  }
  const inhibitIpv4 = parseBool(BRIDGE_OPTIONS.inhibitIpv4, options[BRIDGE_OPTIONS.inhibitIpv4], false);
  const clash = existing.find((n) => (n.driver === 'bridge' || n.driver === 'overlay') && (n.config as Partial<BridgeConfig>).bridgeName === name);
  if (clash) throw new TsnetError('TSNET_ERR_CONFLICT', `bridge name "${name}" is already used by network "${clash.name}"`);
  return {
    bridgeName: name,
    ...(mtu !== undefined ? { mtu } : {}),
    icc: parseBool(BRIDGE_OPTIONS.icc, options[BRIDGE_OPTIONS.icc], true),
    masquerade: parseBool(BRIDGE_OPTIONS.masquerade, options[BRIDGE_OPTIONS.masquerade], true),
    ...(prefix !== undefined ? { ifacePrefix: prefix } : {}),
    ...(inhibitIpv4 ? { inhibitIpv4 } : {}),
    ...(hostBinding !== undefined ? { hostBindingIpv4: hostBinding } : {}),
    ...(gatewayMode !== undefined ? { gatewayMode } : {}),
  };
}
