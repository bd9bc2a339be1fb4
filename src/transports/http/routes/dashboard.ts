import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type FastifyPluginAsyncTypebox, Type } from '@fastify/type-provider-typebox';
import { NotFound } from '../../../domain/errors.js';
import { machineGraph, stepGraph } from '../../../machines/machine-graph.js';
import type { SagaCoordinator } from '../../../machines/runtime/saga-coordinator.js';
import { projectRoot } from '../../../project-root.js';
import { type DiagramLayout, layoutSteps } from '../dashboard/diagram-layout.js';
import { commonErrors, errorsOf } from '../schemas.js';
import { Nullable } from './saga-schemas.js';

export interface DashboardRouteOptions {
  readonly coordinator: SagaCoordinator;
}

// Read from src/ even when this module runs compiled from dist/: tsc copies no assets.
const asset = (name: string) =>
  readFileSync(join(projectRoot, 'src/transports/http/dashboard', name), 'utf8');

/** Nothing but our own files, no inline script or style: a rendered saga field cannot run as code. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const Box = { x: Type.Number(), y: Type.Number(), width: Type.Number(), height: Type.Number() };

const DiagramSchema = Type.Object({
  width: Type.Number(),
  height: Type.Number(),
  initial: Type.String(),
  nodes: Type.Array(
    Type.Object({
      id: Type.String(),
      label: Type.String(),
      step: Nullable(Type.String({ description: 'The step this state runs' })),
      final: Type.Boolean(),
      ...Box,
    }),
  ),
  groups: Type.Array(Type.Object({ id: Type.String(), ...Box })),
  edges: Type.Array(
    Type.Object({
      source: Type.String(),
      target: Type.String(),
      label: Type.String(),
      x1: Type.Number(),
      y1: Type.Number(),
      x2: Type.Number(),
      y2: Type.Number(),
    }),
  ),
});

/**
 * The saga dashboard: a static page and its script and style (public: they hold no data), and the laid
 * out state diagram of each machine (admin). The page asks for the admin token once, keeps it in
 * sessionStorage and reads everything else from the admin API.
 */
export const dashboardRoutes: FastifyPluginAsyncTypebox<DashboardRouteOptions> = async (
  app,
  { coordinator },
) => {
  const files = {
    html: asset('index.html'),
    script: asset('dashboard.js'),
    style: asset('dashboard.css'),
    icon: asset('favicon.svg'),
  };
  const diagrams = new Map<string, DiagramLayout>();

  const assets = [
    { path: '/dashboard', body: files.html, type: 'text/html; charset=utf-8', what: 'page' },
    {
      path: '/dashboard/dashboard.js',
      body: files.script,
      type: 'text/javascript; charset=utf-8',
      what: 'script',
    },
    { path: '/dashboard/dashboard.css', body: files.style, type: 'text/css; charset=utf-8', what: 'style' },
    { path: '/dashboard/favicon.svg', body: files.icon, type: 'image/svg+xml', what: 'icon' },
  ];
  for (const { path, body, type, what } of assets) {
    app.get(
      path,
      {
        schema: {
          summary: `The saga dashboard's ${what} (public: it holds no data; the data needs the admin token)`,
          tags: ['dashboard'],
          produces: [type.split(';')[0] as string],
          response: { 200: Type.String() },
        },
      },
      async (_request, reply) =>
        reply
          .header('content-type', type)
          .header('content-security-policy', CONTENT_SECURITY_POLICY)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('cache-control', 'no-cache')
          .send(body),
    );
  }

  app.get(
    '/machines/:type/diagram',
    {
      preHandler: app.requireAdmin,
      schema: {
        summary: "A saga machine's step diagram, laid out for drawing (admin; the dashboard uses it)",
        tags: ['sagas'],
        security: [{ admin: [] }],
        params: Type.Object({ type: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: DiagramSchema, ...commonErrors, ...errorsOf('unauthenticated', 'not_found') },
      },
    },
    async (request) => {
      const { type } = request.params;
      let diagram = diagrams.get(type);
      if (!diagram) {
        const saga = coordinator.sagaType(type);
        if (!saga) throw new NotFound('not_found', `no saga machine of type ${type}`);
        diagram = layoutSteps(stepGraph(machineGraph(saga.machine)));
        diagrams.set(type, diagram);
      }
      return diagram;
    },
  );
};
