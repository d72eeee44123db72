/**
 * The host ports tsnet holds for published bindings, by endpoint. Holding is done by a HostPortBinder (bound
 * sockets in the host namespace; a fake in the root-free tests); this class only remembers what is held, so that
 * it is given back with the endpoint.
 */
import { holdPort, releasePort, type HeldPort } from '../../netns/host-port.js';
import type { NetNs } from '../../netns/netns.js';
import type { PortProtocol } from '../types.js';
import { portHolder } from './holder.js';

export interface HostPortBinder {
  /** Binds proto on address:port (0: the kernel's pick); throws an error with an errno (EADDRINUSE) when held. */
  hold(proto: PortProtocol, address: string, port: number): HeldPort;
  release(held: HeldPort): void;
  /** Who holds proto/port, in words, when a bind failed. */
  holder(proto: PortProtocol, port: number): string | undefined;
}

/** The kernel's: sockets bound in tsnet's host namespace. */
export const kernelPortBinder = (ns: NetNs): HostPortBinder => ({
  hold: (proto, address, port) => holdPort(ns, proto, address, port),
  release: releasePort,
  holder: (proto, port) => portHolder(ns, proto, port),
});

export class PortReservations {
  private readonly held = new Map<string, HeldPort[]>();

  constructor(readonly binder: HostPortBinder) {}

  add(endpointId: string, port: HeldPort): void {
    this.held.set(endpointId, [...(this.held.get(endpointId) ?? []), port]);
  }

  /** Gives back every port held for the endpoint. */
  release(endpointId: string): void {
    for (const p of this.held.get(endpointId) ?? []) this.binder.release(p);
    this.held.delete(endpointId);
  }

  releaseAll(): void {
    for (const id of [...this.held.keys()]) this.release(id);
  }
}
