/** /v1/labs: deploy, list, inspect, destroy, exec on nodes, draw a topology, impair links, and what this kernel can impair. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { PassThrough } from 'node:stream';
import { TsnetError } from '../../errors.js';
import {
  LabDeployBody,
  LabDeployQuery,
  LabDestroyQuery,
  LabExecBody,
  LabGraphBody,
  LabLinkSetBody,
  LabLinkStateBody,
  type ImpairmentSupportView,
  type LabLinkView,
  type LabScheduleView,
  type LabExecResult,
  type LabGraphResult,
  type LabView,
} from '../../api/labs.js';
import type { LabService } from '../labs/service.js';

const NameParams = Type.Object({ name: Type.String({ minLength: 1 }) });

export function labRoutes(labs: LabService): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get('/labs', async (): Promise<LabView[]> => labs.list());
    app.post('/labs', { schema: { body: LabDeployBody, querystring: LabDeployQuery } }, async (req, reply) => {
      if (req.query.progress !== 'true') return reply.status(201).send(await labs.deploy(req.body));
      // With progress: one JSON object a line, each step as it is done, then the lab (or the error) last.
      const out = new PassThrough();
      const line = (o: object): boolean => out.write(`${JSON.stringify(o)}\n`);
      void Promise.resolve()
        .then(() => labs.deploy(req.body, (progress) => line({ progress })))
        .then(
          (lab) => line({ lab }),
          (err: unknown) => line({ error: { code: err instanceof TsnetError ? err.code : 'TSNET_ERR_INTERNAL', message: (err as Error).message } }),
        )
        .finally(() => out.end());
      return reply.status(201).type('application/x-ndjson').send(out);
    });
    app.post('/labs/graph', { schema: { body: LabGraphBody } }, async (req): Promise<LabGraphResult> => ({ text: labs.graph(req.body) }));
    app.get('/labs/:name', { schema: { params: NameParams } }, async (req): Promise<LabView> => labs.inspect(req.params.name));
    app.delete('/labs/:name', { schema: { params: NameParams, querystring: LabDestroyQuery } }, async (req, reply) => {
      await labs.destroy(req.params.name, req.query.cleanup === 'true');
      return reply.status(204).send();
    });
    app.get('/labs/doctor', async (): Promise<ImpairmentSupportView[]> => labs.impairmentSupport());
    // The experiments' report; with progress, one JSON object a line (each experiment as it starts), the report last.
    app.post('/labs/:name/experiments', { schema: { params: NameParams, querystring: LabDeployQuery } }, async (req, reply) => {
      if (req.query.progress !== 'true') return labs.runExperiments(req.params.name);
      const out = new PassThrough();
      const line = (o: object): boolean => out.write(`${JSON.stringify(o)}\n`);
      void labs
        .runExperiments(req.params.name, (progress) => line({ progress }))
        .then(
          (report) => line({ report }),
          (err: unknown) => line({ error: { code: err instanceof TsnetError ? err.code : 'TSNET_ERR_INTERNAL', message: (err as Error).message } }),
        )
        .finally(() => out.end());
      return reply.type('application/x-ndjson').send(out);
    });
    app.get('/labs/:name/events', { schema: { params: NameParams } }, async (req): Promise<LabScheduleView> => labs.schedule(req.params.name));
    app.get('/labs/:name/links', { schema: { params: NameParams } }, async (req): Promise<LabLinkView[]> => labs.linkShow(req.params.name));
    app.post('/labs/:name/links', { schema: { params: NameParams, body: LabLinkSetBody } }, async (req): Promise<LabLinkView[]> =>
      labs.linkSet(req.params.name, req.body),
    );
    app.post('/labs/:name/links/state', { schema: { params: NameParams, body: LabLinkStateBody } }, async (req): Promise<LabLinkView[]> =>
      labs.linkState(req.params.name, req.body),
    );
    app.post('/labs/:name/exec', { schema: { params: NameParams, body: LabExecBody } }, async (req): Promise<LabExecResult[]> =>
      labs.exec(req.params.name, req.body),
    );
  };
}
