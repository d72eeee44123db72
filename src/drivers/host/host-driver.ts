/** The host driver: sandboxes are the host's own namespace; there is nothing to create or join. */
import { PassiveDriver } from '../passive-driver.js';

export class HostDriver extends PassiveDriver {
  readonly name = 'host' as const;
  readonly capabilities = { scope: 'local', needsIpam: false, hostNamespace: true, multipleNetworks: false } as const;
}
