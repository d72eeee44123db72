/** Base of the drivers that make no kernel objects (host, null): every operation is a no-op, no option is known. */
import type { DriverCapabilities, NetworkDriver } from './driver.js';
import { checkKnownOptions } from './driver.js';
import type { DriverName, EndpointRecord } from '../cnm/types.js';

export abstract class PassiveDriver implements NetworkDriver {
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
  createEndpoint(_network: unknown, endpoint: EndpointRecord): EndpointRecord {
    return endpoint;
  }
  deleteEndpoint(): void {}
  async join(): Promise<Record<string, never>> {
    return {};
  }
  async leave(): Promise<void> {}
  async programExternalConnectivity(): Promise<void> {}
  async revokeExternalConnectivity(): Promise<void> {}
}
