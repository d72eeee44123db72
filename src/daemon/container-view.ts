/** A container as the API shows it: the runtime's state, its sandbox's endpoints (when it has one now) and its plan. */
import type { ContainerView } from '../api/containers.js';
import type { Controller } from '../cnm/controller.js';
import type { ContainerState } from '../runtime/runtime.js';
import { planOf, plannedNetworks } from './container-plan.js';

type Networks = ContainerView['networks'];

function joinedNetworks(controller: Controller, sandboxId: string): Networks {
  const networks: Networks = {};
  for (const e of controller.joinedTo(sandboxId)) {
    const n = controller.networks().find((x) => x.id === e.networkId);
    if (n)
      networks[n.name] = {
        networkId: n.id,
        endpointId: e.id,
        aliases: [...e.aliases],
        ...(e.ipv4 ? { ipv4: e.ipv4 } : {}),
        ...(e.ipv6 ? { ipv6: e.ipv6 } : {}),
        ...(e.mac ? { mac: e.mac } : {}),
        ...(e.ifname ? { ifname: e.ifname } : {}),
        ...(n.pools.v4?.gateway && !n.internal ? { gateway: n.pools.v4.gateway } : {}),
        ...(n.pools.v6?.gateway && e.ipv6 && !n.internal ? { gateway6: n.pools.v6.gateway } : {}),
      };
  }
  return networks;
}

/** A stopped container's networks: the ones its next start joins, without addresses (as docker inspect shows). */
function plannedView(controller: Controller, state: ContainerState): Networks {
  const plan = planOf(state);
  const networks: Networks = {};
  if (!plan) return networks;
  for (const j of plannedNetworks(plan, controller.defaultNetwork())) {
    const n = controller.networks().find((x) => x.id === j.network || x.name === j.network);
    if (n) networks[n.name] = { networkId: n.id, aliases: [...(j.aliases ?? [])] };
  }
  return networks;
}

export function containerView(controller: Controller, c: ContainerState, sandboxId: string | undefined): ContainerView {
  const live = sandboxId !== undefined && controller.hasSandbox(sandboxId);
  const ports = live ? controller.joinedTo(sandboxId).flatMap((e) => e.ports ?? []) : [];
  const plan = planOf(c);
  return {
    id: c.id,
    name: c.name,
    image: c.imageName,
    command: [...c.config.command],
    status: c.status,
    ...(c.pid !== undefined && (c.status === 'running' || c.status === 'paused') ? { pid: c.pid } : {}),
    ...(c.exitCode !== undefined ? { exitCode: c.exitCode } : {}),
    ...(c.oomKilled !== undefined ? { oomKilled: c.oomKilled } : {}),
    created: c.created,
    ...(c.startedAt ? { startedAt: c.startedAt } : {}),
    ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
    ...(sandboxId ? { sandbox: sandboxId } : {}),
    hostname: c.config.hostname ?? '',
    env: [...(c.config.env ?? [])],
    labels: { ...c.config.labels },
    ...(c.config.tty ? { tty: true } : {}),
    ...(c.config.openStdin ? { openStdin: true } : {}),
    restartPolicy: plan?.request.restart ?? 'no',
    restartCount: plan?.restartCount ?? 0,
    ...(c.config.mounts?.length
      ? { mounts: c.config.mounts.map((m) => ({ type: m.type, source: m.source, target: m.target, readOnly: m.readOnly ?? false })) }
      : {}),
    ...(ports.length ? { ports: ports.map((p) => ({ ...p })) } : {}),
    networks: live ? joinedNetworks(controller, sandboxId) : plannedView(controller, c),
  };
}
