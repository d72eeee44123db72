/**
 * What a network's addresses may be: not the special ranges the kernel and every host treat apart (loopback,
 * link-local, multicast, "this network", the reserved block, IPv4-mapped), at least a gateway and one container
 * wide, a gateway and auxiliary addresses that are hosts of the subnet and not each other, and an ip range with at
 * least one address to give.
 */
import { InvalidArgumentError } from '../errors.js';
import type { PoolConfig } from './pool.js';
import { Subnet, formatAddress, type Ip } from './subnet.js';

const SPECIAL: readonly { subnet: Subnet; what: string }[] = [
  ['0.0.0.0/8', '"this network" (0.0.0.0/8)'],
  ['127.0.0.0/8', 'loopback (127.0.0.0/8)'],
  ['169.254.0.0/16', 'link-local (169.254.0.0/16)'],
  ['224.0.0.0/4', 'multicast (224.0.0.0/4)'],
  ['240.0.0.0/4', 'reserved, with the broadcast address (240.0.0.0/4)'],
  ['::/127', 'the unspecified and loopback addresses (::/127)'],
  ['::ffff:0:0/96', 'IPv4-mapped (::ffff:0:0/96)'],
  ['fe80::/10', 'link-local (fe80::/10)'],
  ['ff00::/8', 'multicast (ff00::/8)'],
].map(([cidr, what]) => ({ subnet: Subnet.parse(cidr!), what: what! }));

/** The longest prefixes that still hold a gateway and a container besides the network (and broadcast) address. */
const LONGEST = { 4: 30, 6: 126 } as const;

export function checkUsableSubnet(subnet: Subnet): void {
  const special = SPECIAL.find((s) => s.subnet.overlaps(subnet));
  if (special) throw new InvalidArgumentError(`subnet ${subnet.toString()} overlaps ${special.what}, which cannot be a network's`);
  if (subnet.prefixLen > LONGEST[subnet.family]) {
    throw new InvalidArgumentError(
      `subnet ${subnet.toString()} is too small: a network needs at least a /${LONGEST[subnet.family]} (a gateway and a container)`,
    );
  }
}

const isEdge = (subnet: Subnet, ip: Ip): boolean => ip.value === subnet.first || (subnet.family === 4 && ip.value === subnet.last);

export function checkPoolAddresses(p: PoolConfig): void {
  const { subnet, range, gateway } = p;
  if (gateway && isEdge(subnet, gateway)) {
    throw new InvalidArgumentError(
      `gateway ${formatAddress(gateway)} is the ${gateway.value === subnet.first ? 'network' : 'broadcast'} address of ${subnet.toString()}`,
    );
  }
  for (const [name, ip] of Object.entries(p.auxAddresses)) {
    if (isEdge(subnet, ip))
      throw new InvalidArgumentError(`auxiliary address "${name}" ${formatAddress(ip)} is the network or broadcast address of ${subnet.toString()}`);
    if (gateway && ip.value === gateway.value) throw new InvalidArgumentError(`auxiliary address "${name}" ${formatAddress(ip)} is the gateway`);
  }
  const reserved = new Set([subnet.first, ...(subnet.family === 4 ? [subnet.last] : []), ...(gateway ? [gateway.value] : [])]);
  let usable = false;
  for (let v = range.first; v <= range.last && !usable; v++) usable = !reserved.has(v);
  if (!usable) throw new InvalidArgumentError(`ip range ${range.toString()} holds no address to give: only the network, broadcast or gateway address`);
}
