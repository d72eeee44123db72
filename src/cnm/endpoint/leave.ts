/** Leaving: endpoints grouped by driver, so that each driver deletes its interfaces in one request. */
import { sandboxView, type CnmCore } from '../core.js';
import type { NetworkDriver } from '../../drivers/driver.js';
import type { EndpointRecord } from '../types.js';

export async function leaveAll(core: CnmCore, endpoints: readonly EndpointRecord[]): Promise<void> {
  const byDriver = new Map<NetworkDriver, EndpointRecord[]>();
  for (const e of endpoints) {
    const driver = core.driver(core.network(e.networkId).driver);
    const list = byDriver.get(driver);
    if (list) list.push(e);
    else byDriver.set(driver, [e]);
  }
  for (const [driver, eps] of byDriver) {
    await driver.leave(
      core.driverCtx,
      eps.map((e) => {
        const s = e.kind === 'joined' ? core.state.findSandbox(e.sandboxId) : undefined;
        return { network: core.network(e.networkId), endpoint: e, sandbox: s ? sandboxView(s) : undefined };
      }),
    );
  }
}
