/** The daemon's API through fastify's inject(), on a controller of fakes: no socket, no root. */
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { NetworkView } from '../../../src/api/networks.js';
import { buildApp } from '../../../src/daemon/app.js';
import { ContainerService } from '../../../src/daemon/containers.js';
import { Runtime } from '../../../src/runtime/runtime.js';
import { unitWorld, type UnitWorld } from '../../helpers/fakes.js';

describe('the API', () => {
  let w: UnitWorld;
  let app: FastifyInstance;
  let runtime: Runtime;

  beforeEach(async () => {
    w = await unitWorld();
    runtime = Runtime.open(join(w.dir, 'runtime'));
    const containers = new ContainerService(w.controller, runtime);
    app = buildApp({
      controller: w.controller,
      runtime,
      containers,
      logLevel: 'silent',
      info: () => ({
        version: 'test',
        daemon: { pid: 1, root: w.dir, socket: 'none', execRoot: w.dir, iptables: false, firewall: 'none' },
        store: 'x',
        kernel: { features: [], cgroups: 'none' },
      }),
    });
    await w.controller.ensurePredefinedNetworks();
  });
  afterEach(async () => {
    await app.close();
    runtime.close();
    await w.dispose();
  });

  const post = (url: string, payload: unknown) => app.inject({ method: 'POST', url, payload: payload as object });

  it('creates, lists, inspects, prunes and removes networks, in the contract shape', async () => {
    const created = await post('/v1/networks', { name: 'web', subnet: '10.1.0.0/24', labels: { team: 'a' } });
    expect(created.statusCode).toBe(201);
    const view = created.json<NetworkView>();
    expect(view).toMatchObject({
      name: 'web',
      driver: 'bridge',
      owner: 'tsnet',
      labels: { team: 'a' },
      pools: { v4: { subnet: '10.1.0.0/24', gateway: '10.1.0.1' } },
      containers: [],
    });
    expect(view.bridge).toEqual({ tag: 'web' }); // the bridge driver's config, under its key
    expect((await app.inject({ method: 'GET', url: '/v1/networks' })).json<NetworkView[]>().map((n) => n.name)).toEqual(['none', 'web']);
    expect((await app.inject({ method: 'GET', url: `/v1/networks/${view.id.slice(0, 6)}` })).json<NetworkView>().name).toBe('web');
    await post('/v1/networks', { name: 'idle', subnet: '10.2.0.0/24' });
    expect((await post('/v1/networks/prune', {})).json()).toEqual({ deleted: ['web', 'idle'] });
    expect((await app.inject({ method: 'DELETE', url: '/v1/networks/none' })).json()).toEqual({
      code: 'TSNET_ERR_CONFLICT',
      message: 'network "none" is predefined and cannot be removed',
    });
  });

  it('answers errors with their catalog code and status', async () => {
    expect((await app.inject({ method: 'GET', url: '/v1/networks/nope' })).json()).toEqual({
      code: 'TSNET_ERR_NETWORK_NOT_FOUND',
      message: 'network "nope" not found',
    });
    await post('/v1/networks', { name: 'web' });
    const dup = await post('/v1/networks', { name: 'web' });
    expect([dup.statusCode, dup.json().code]).toEqual([409, 'TSNET_ERR_NETWORK_EXISTS']);
    const overlap = await post('/v1/networks', { name: 'x', subnet: '172.17.5.0/24' });
    expect([overlap.statusCode, overlap.json().code]).toEqual([409, 'TSNET_ERR_POOL_OVERLAP']);
    const bad = await post('/v1/networks', { name: 'x', colour: 'red' });
    expect([bad.statusCode, bad.json().code]).toEqual([400, 'TSNET_ERR_INVALID_ARGUMENT']);
    expect(bad.json().message).toMatch(/must NOT have additional properties/u);
    const driver = await post('/v1/networks', { name: 'x', driver: 'macvlan' });
    expect(driver.statusCode).toBe(400);
    const container = await app.inject({ method: 'GET', url: '/v1/containers/nope' });
    expect([container.statusCode, container.json().code]).toEqual([404, 'TSNET_ERR_NOT_FOUND']);
    const mixed = await post('/v1/containers', { image: 'busybox', networks: ['none', 'web'] });
    expect([mixed.statusCode, mixed.json().message]).toEqual([400, 'a container on network "none" cannot join other networks']);
    const signal = await post('/v1/containers/nope/kill', { signal: 'SIGFOO' });
    expect([signal.statusCode, signal.json().message]).toEqual([400, 'unknown signal "SIGFOO"']);
    const unknown = await app.inject({ method: 'GET', url: '/v1/nothing' });
    expect([unknown.statusCode, unknown.json().code]).toEqual([404, 'TSNET_ERR_NOT_FOUND']);
    expect(w.controller.networks().map((n) => n.name)).toEqual(['none', 'web']);
  });

  it('refuses to remove a network of Docker, and counts what it holds', async () => {
    const id = 'd'.repeat(64);
    await w.controller.createDockerNetwork({ id, name: 'docker-d', externalPools: { v4: { subnet: '10.50.0.0/24' } } });
    const rm = await app.inject({ method: 'DELETE', url: `/v1/networks/${id}` });
    expect([rm.statusCode, rm.json().message]).toEqual([409, 'network "docker-d" belongs to Docker: remove it with docker network rm']);
    const info = (await app.inject({ method: 'GET', url: '/v1/info' })).json();
    expect(info.counts).toEqual({ networks: 2, endpoints: 0, sandboxes: 0, containers: 0, running: 0, images: 0 });
    expect((await app.inject({ method: 'GET', url: '/v1/version' })).json()).toMatchObject({ api: 'v1' });
  });

  it('stops and removes many containers in one request: an outcome each, in order, as the single routes answer', async () => {
    const single = (await app.inject({ method: 'DELETE', url: '/v1/containers/nope?force=true' })).json<{ code: string; message: string }>();
    const removed = await post('/v1/containers/remove', { containers: ['nope', 'gone'], force: true });
    expect(removed.statusCode).toBe(200);
    expect(removed.json()).toEqual({
      results: [
        { container: 'nope', error: { status: 404, ...single } },
        { container: 'gone', error: { status: 404, code: single.code, message: single.message.replace('nope', 'gone') } },
      ],
    });
    const stopped = await post('/v1/containers/stop', { containers: ['nope'], timeout: 0 });
    expect(stopped.json()).toEqual({ results: [{ container: 'nope', error: { status: 404, ...single } }] });
    for (const bad of [{ containers: [] }, { containers: Array.from({ length: 1001 }, (_, i) => `c${i}`) }, { containers: ['a'], colour: 'red' }]) {
      const refused = await post('/v1/containers/remove', bad);
      expect([refused.statusCode, refused.json().code]).toEqual([400, 'TSNET_ERR_INVALID_ARGUMENT']);
    }
    expect((await post('/v1/containers/stop', { containers: ['a'], timeout: -1 })).statusCode).toBe(400);
  });
});
