/** The null driver: a sandbox with loopback only; joining adds nothing. */
import { PassiveDriver } from '../passive-driver.js';

export class NullDriver extends PassiveDriver {
  readonly name = 'null' as const;
  readonly capabilities = { scope: 'local', needsIpam: false, hostNamespace: false, multipleNetworks: false } as const;
}
