// The console API's read routes (viewer): fleet, VMs, runs, hypervisors, storage, revisions,
// ad-hoc actions and the audit trail.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ConsoleService } from '../../ports/console.js';
import { apiError } from './api-errors.js';
import { ACTION_SCHEMA, AUDIT_SCHEMA, errors, FLEET_SCHEMA, HYPERVISOR_SCHEMA, ID_PARAMS, OPEN_OBJECT, REVISIONS_SCHEMA, STORAGE_SCHEMA, VM_PARAMS, VM_SCHEMA } from './api-schemas.js';
import { API_PREFIX } from './api-schemas.js';

const viewer = { role: 'viewer' as const };
const RUN_KINDS = ['backup', 'verify', 'restore', 'test-restore', 'cleanup'];
const RUNS_QUERY = {
  type: 'object', additionalProperties: false,
  properties: { vm: { type: 'string', maxLength: 128 }, kind: { type: 'string', enum: RUN_KINDS }, limit: { type: 'integer', minimum: 1, maximum: 2000 } },
} as const;
const NO_QUERY = { type: 'object', additionalProperties: false, properties: {} } as const;

const notFound = (reply: FastifyReply, code: string, what: string): FastifyReply => reply.code(404).send(apiError(code, `${what} not found`));

export function readRoutes(app: FastifyInstance, s: ConsoleService): void {
  const get = (path: string, summary: string, schema: Record<string, unknown>, handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>): void => {
    app.route({ method: 'GET', url: `${API_PREFIX}${path}`, config: viewer, schema: { summary, tags: ['read'], ...schema }, handler });
  };
  get('/fleet', 'The fleet: summary, one row per VM (state, pause, window), revisions', { querystring: NO_QUERY, response: { 200: FLEET_SCHEMA, ...errors() } }, async () => s.fleet());
  get('/vms', 'Every VM of the applied policy with its state, pause and window', { querystring: NO_QUERY, response: { 200: { type: 'array', items: OPEN_OBJECT }, ...errors() } }, async () => (await s.fleet()).vms);
  get('/vms/:vm', 'One VM: status, restore points with keep reasons and verification, pause, window, runs, actions', { params: VM_PARAMS, response: { 200: VM_SCHEMA, ...errors(404) } }, async (req, reply) => {
    const v = await s.vm((req.params as { vm: string }).vm);
    return v ?? notFound(reply, 'VM_NOT_FOUND', 'VM');
  });
  get('/vms/:vm/runs', 'The runs of one VM, newest first', { params: VM_PARAMS, querystring: { ...RUNS_QUERY, properties: { kind: RUNS_QUERY.properties.kind, limit: RUNS_QUERY.properties.limit } }, response: { 200: { type: 'array', items: OPEN_OBJECT }, ...errors(404) } }, async (req, reply) => {
    const vm = (req.params as { vm: string }).vm;
    if (!(await s.vm(vm))) return notFound(reply, 'VM_NOT_FOUND', 'VM');
    return s.runs({ ...(req.query as object), vm });
  });
  get('/vms/:vm/test-restore/screenshot', 'The console screenshot of the VM\'s last test-restore (PNG, from under the VM\'s directory on backup storage)', {
    params: VM_PARAMS,
    response: { 200: { description: 'The PNG', content: { 'image/png': { schema: { type: 'string', format: 'binary' } } } }, ...errors(404) },
  }, async (req, reply) => {
    const png = await s.testRestoreScreenshot((req.params as { vm: string }).vm);
    if (!png) return notFound(reply, 'SCREENSHOT_NOT_FOUND', 'test-restore screenshot');
    return reply.type('image/png').header('x-content-type-options', 'nosniff').header('cache-control', 'no-store').send(png);
  });
  get('/runs', 'Runs (backup, verify, restore, test-restore, cleanup), newest first', { querystring: RUNS_QUERY, response: { 200: { type: 'array', items: OPEN_OBJECT }, ...errors() } }, async (req) => s.runs(req.query as object));
  get('/runs/:id', 'One run with its steps and the log lines its process kept', { params: ID_PARAMS, response: { 200: OPEN_OBJECT, ...errors(404) } }, async (req, reply) => {
    const r = await s.run((req.params as { id: string }).id);
    return r ?? notFound(reply, 'RUN_NOT_FOUND', 'run');
  });
  get('/hypervisors', 'The hypervisors of the applied policy, their VMs and whether they answered', { querystring: NO_QUERY, response: { 200: { type: 'array', items: HYPERVISOR_SCHEMA }, ...errors() } }, async () => s.hypervisors());
  get('/storage', 'Backup storage: use per hypervisor and VM, daily history, the 80% alert', { querystring: NO_QUERY, response: { 200: STORAGE_SCHEMA, ...errors() } }, async () => s.storage());
  get('/revisions', 'The applied and the last attempted policy revision', { querystring: NO_QUERY, response: { 200: REVISIONS_SCHEMA, ...errors() } }, async () => s.revisions());
  get('/actions', 'Ad-hoc actions: queued, running and the last 100 finished, newest first', { querystring: NO_QUERY, response: { 200: { type: 'array', items: ACTION_SCHEMA }, ...errors() } }, async () => s.actions());
  get('/actions/:id', 'One ad-hoc action', { params: ID_PARAMS, response: { 200: ACTION_SCHEMA, ...errors(404) } }, async (req, reply) => {
    const a = s.action((req.params as { id: string }).id);
    return a ?? notFound(reply, 'ACTION_NOT_FOUND', 'action');
  });
  get('/audit', 'The audit trail (every act through the API), oldest first', {
    querystring: { type: 'object', additionalProperties: false, properties: { since: { type: 'string', maxLength: 40, pattern: '^\\d{4}-\\d{2}(-\\d{2}([T ][0-9:.]+(Z|[+-]\\d{2}:?\\d{2})?)?)?$' } } },
    response: { 200: { type: 'array', items: AUDIT_SCHEMA }, ...errors() },
  }, async (req) => s.audit((req.query as { since?: string }).since));
}
