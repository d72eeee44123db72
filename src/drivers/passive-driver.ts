/** Base of the drivers that make no kernel objects (host, null): every operation is a no-op, no option is known. */
import type { DriverCapabilities, NetworkDriver } from './driver.js';
import { checkKnownOptions } from './driver.js';
import type { DriverName, EndpointBase } from './records.js';

export abstract class PassiveDriver implements NetworkDriver<Record<string, never>> {
  abstract readonly name: DriverName;
  abstract readonly capabilities: DriverCapabilities;
  configure(input: { options: Readonly<Record<string, string>> }): Record<string, never> {
    checkKnownOptions(this.name, input.options, []);
    return {};
  }
  async createNetwork(): Promise<void> {}
  async deleteNetwork(): Promise<void> {}
  async networkPresent(): Promise<boolean> {
    return true;
  }
  async endpointPresent(): Promise<boolean> {
    return true;
  }
  createEndpoint(_network: unknown, endpoint: EndpointBase): EndpointBase {
    return endpoint;
  }
  async join(): Promise<Record<string, never>> {
    return {};
  }
  async leave(): Promise<void> {}
  async programExternalConnectivity(): Promise<void> {}
  async restore(): Promise<void> {}
}
