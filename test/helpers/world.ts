/**
 * A small world for CNM tests, inside a lab: the lab's host namespace gets an uplink to an "upstream" namespace
 * that plays the internet (198.51.100.1, and a "public" server address 203.0.113.10 on its loopback). The upstream
 * has no route back to container subnets, so a container reaches it only through the host's NAT.
 */
import { join } from 'node:path';
import type { NetNs } from '../../src/netns/netns.js';
import { NetNs as Ns } from '../../src/netns/netns.js';
import { Controller, type ControllerDeps, type ReconcileReport } from '../../src/cnm/controller.js';
import { controllerDeps, type ControllerOptions } from '../../src/daemon/network-wiring.js';
import { UPSTREAM, linkUpstream } from '../../src/lab/upstream.js';
import { afterEach, beforeEach } from 'vitest';
import { Lab } from './lab.js';

export { UPSTREAM };

export interface World {
  readonly upstream: NetNs;
  readonly root: string;
  /** A controller on the world's state; deps are its store, IPAM and folders, for tests to inspect. */
  open(options?: Partial<ControllerOptions>): Promise<{ controller: Controller; report: ReconcileReport; deps: ControllerDeps }>;
}

export async function buildWorld(l: Lab, name = 'world'): Promise<World> {
  const upstream = l.ns(`${name}-up`);
  const host = l.handle(l.host);
  const up = l.handle(upstream);
  await linkUpstream(host, up, upstream);
  const root = join(l.dir, `${name}-state`);
  return {
    upstream,
    root,
    open: async (options = {}) => {
      const deps = controllerDeps({ root, hostNs: l.host, ...options });
      return { ...(await Controller.open(deps)), deps };
    },
  };
}

/** The namespace of a sandbox, from its record's path. */
export const sandboxNs = (path: string | null): NetNs => Ns.fromPath(path!);

export { tcpProbe } from './probes.js';

/** A world for one test: its own lab (host and upstream namespaces) and a controller on fresh state. */
export interface TestWorld {
  readonly lab: Lab;
  readonly world: World;
  readonly ctl: Controller;
  readonly deps: ControllerDeps;
  /** Closes the controller and opens a new one on the same state (a restart of tsnet). */
  reopen(): Promise<ReconcileReport>;
  /** A sandbox and its namespace. */
  sandbox(name: string): Promise<{ id: string; ns: NetNs; netnsPath: string | null }>;
}

/**
 * Gives each test a world of its own, built before it and torn down after it whatever happened, so that any test
 * can run alone and one failure takes down nothing else. A namespace costs about 2 ms.
 */
export function useWorld(options: Partial<ControllerOptions> = {}): () => TestWorld {
  let current: { t: TestWorld; close: () => Promise<void> } | undefined;
  beforeEach(async () => {
    const lab = Lab.create();
    try {
      const world = await buildWorld(lab);
      const state = { ...(await world.open(options)) };
      const t: TestWorld = {
        lab,
        world,
        get ctl() {
          return state.controller;
        },
        get deps() {
          return state.deps;
        },
        reopen: async () => {
          await state.controller.close();
          Object.assign(state, await world.open(options));
          return state.report;
        },
        sandbox: async (name) => {
          const s = await state.controller.createSandbox({ containerId: `${name}-container`, hostname: name });
          return { id: s.id, ns: Ns.fromPath(s.netnsPath!), netnsPath: s.netnsPath };
        },
      };
      current = { t, close: () => state.controller.close() };
    } catch (err) {
      lab.destroy();
      throw err;
    }
  });
  afterEach(async () => {
    const c = current;
    current = undefined;
    try {
      await c?.close();
    } finally {
      c?.t.lab.destroy();
    }
  });
  return () => {
    if (!current) throw new Error('world: used outside of a test');
    return current.t;
  };
}
