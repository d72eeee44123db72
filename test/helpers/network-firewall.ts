/** A network as the firewall sees it, for the firewall's tests: one IPv4 subnet on bridge br-a unless said. */
import type { NetworkFirewall, PublishedPort } from '../../src/iptables/rules.js';

export const firewallNetwork = (over: Partial<NetworkFirewall> = {}): NetworkFirewall => ({
  id: 'a'.repeat(64),
  bridge: 'br-a',
  subnets: ['10.1.0.0/24'],
  subnets6: [],
  internal: false,
  icc: true,
  masquerade: true,
  routed: false,
  published: [],
  ...over,
});

/** tcp 0.0.0.0:8080 to 10.1.0.2:80. */
export const publishedPort: PublishedPort = { protocol: 'tcp', hostIp: '0.0.0.0', hostPort: 8080, address: '10.1.0.2', containerPort: 80 };
