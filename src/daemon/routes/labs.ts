/** /v1/labs: deploy, list, inspect, destroy, exec on nodes, and draw a topology. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { LabDeployBody, LabDestroyQuery, LabExecBody, LabGraphBody, type LabExecResult, type LabGraphResult, type LabView } from '../../api/labs.js';
import type { LabService } from '../labs/service.js';

const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) });

export function labRoutes(labs: LabService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/labs', async (): Promise<LabView[]> => labs.list());
    app.post('/labs', { schema: { body: LabDeployBody } }, async (req, reply) => reply.status(201).send(await labs.deploy(req.body)));
    app.post('/labs/graph', { schema: { body: LabGraphBody } }, async (req): Promise<LabGraphResult> => ({ text: labs.graph(req.body) }));
    app.get('/labs/:name', { schema: { params: NameParams } }, async (req): Promise<LabView> => labs.inspect(req.params.name));
    app.delete('/labs/:name', { schema: { params: NameParams, querystring: LabDestroyQuery } }, async (req, reply) => {
      await labs.destroy(req.params.name, req.query.cleanup === 'true');
      return reply.status(204).send();
    });
    app.post('/labs/:name/exec', { schema: { params: NameParams, body: LabExecBody } }, async (req): Promise<LabExecResult[]> =>
      labs.exec(req.params.name, req.body),
    );
  };
}
