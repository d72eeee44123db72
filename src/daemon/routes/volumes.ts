/** /v1/volumes: create, list, inspect, remove (refused while a container mounts it), prune, export and import. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Readable } from 'node:stream';
import { Type } from 'typebox';
import { TAR_MEDIA_TYPE } from '../../api/defaults.js';
import { VolumeCreate, VolumeRemoveQuery, type VolumePruneResult, type VolumeView } from '../../api/volumes.js';
import { TsnetError } from '../../errors.js';
import type { Runtime } from '../../runtime/runtime.js';
import type { Volume } from '../../runtime/volumes.js';

const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) });

function view(runtime: Runtime, v: Volume): VolumeView {
  return {
    name: v.name,
    driver: 'local',
    mountpoint: runtime.volumes.dataDir(v.name),
    created: v.created,
    labels: { ...v.labels },
    anonymous: v.anonymous,
    usedBy: runtime.volumeUsers(v.name).map((c) => c.name),
  };
}

export const volumeRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { runtime } = app.deps;
  // An archive comes as it is: a stream for the volume store to extract.
  app.addContentTypeParser(TAR_MEDIA_TYPE, (_req, payload, done) => done(null, payload));

  app.get('/volumes', async (): Promise<VolumeView[]> => runtime.volumes.list().map((v) => view(runtime, v)));

  app.post('/volumes', { schema: { body: VolumeCreate } }, async (req, reply) =>
    reply.status(201).send(view(runtime, runtime.volumes.create(req.body?.name, { ...(req.body?.labels ? { labels: req.body.labels } : {}) }))),
  );

  app.get('/volumes/:name', { schema: { params: NameParams } }, async (req): Promise<VolumeView> => view(runtime, runtime.volumes.get(req.params.name)));

  app.delete('/volumes/:name', { schema: { params: NameParams, querystring: VolumeRemoveQuery } }, async (req, reply) => {
    const users = runtime.volumeUsers(runtime.volumes.get(req.params.name).name);
    // As Docker: force does not remove a volume a container still mounts.
    if (users.length)
      throw new TsnetError('TSNET_ERR_CONFLICT', `volume "${req.params.name}" is in use by ${users.map((c) => c.name).join(', ')}: remove them first`);
    runtime.volumes.remove(req.params.name);
    return reply.status(204).send();
  });

  app.post('/volumes/prune', async (): Promise<VolumePruneResult> => {
    const unused = runtime.volumes.list().filter((v) => runtime.volumeUsers(v.name).length === 0);
    for (const v of unused) runtime.volumes.remove(v.name);
    return { deleted: unused.map((v) => v.name) };
  });

  app.get('/volumes/:name/export', { schema: { params: NameParams } }, async (req, reply) => {
    const archive = runtime.volumes.export(req.params.name);
    return reply.type(TAR_MEDIA_TYPE).send(archive);
  });

  app.put('/volumes/:name/import', { schema: { params: NameParams } }, async (req): Promise<VolumeView> => {
    if (req.headers['content-type'] !== TAR_MEDIA_TYPE) throw new TsnetError('TSNET_ERR_INVALID_ARGUMENT', `send the archive as ${TAR_MEDIA_TYPE}`);
    return view(runtime, await runtime.volumes.import(req.params.name, req.body as Readable));
  });
};
