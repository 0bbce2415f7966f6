// The console API's act routes: queue a backup, verify, test-restore, prune or restore (202 with
// the queued action), cancel a queued one, pause and resume a VM. The role per route is ROLE_FOR
// (src/ports/console.ts); who and when come from the token and the server clock only.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ROLE_FOR, type AdhocKind, type ConsoleService, type RestoreRequest, type SubmitResult } from '../../ports/console.js';
import { apiError } from './api-errors.js';
import { ACTION_SCHEMA, BACKUP_ID, errors, ID_PARAMS, PAUSE_SCHEMA, PRUNE_PREVIEW_SCHEMA, RESTORE_SCHEMA, VM_PARAMS } from './api-schemas.js';
import { API_PREFIX } from './api-schemas.js';

const strict = (properties: Record<string, unknown>, required: string[] = []): Record<string, unknown> =>
  ({ type: 'object', additionalProperties: false, properties, ...(required.length ? { required } : {}) });

const fail = (reply: FastifyReply, status: number, body: unknown): FastifyReply => reply.code(status).send(body);
const answer = (reply: FastifyReply, r: SubmitResult): FastifyReply =>
  r.ok ? reply.code(202).send(r.action) : fail(reply, r.status, apiError(r.code, r.message));

export function actRoutes(app: FastifyInstance, s: ConsoleService): void {
  const act = (kind: AdhocKind, summary: string, body: Record<string, unknown>, toReq: (b: Record<string, unknown>) => { backupId?: string; restore?: RestoreRequest }): void => {
    app.post(`${API_PREFIX}/vms/:vm/${kind}`, {
      config: { role: ROLE_FOR[kind], act: kind },
      schema: { summary: `${summary} (role ${ROLE_FOR[kind]}; 202 with the queued action)`, tags: ['act'], params: VM_PARAMS, body, response: { 202: ACTION_SCHEMA, ...errors(404, 409, 503) } },
    }, async (req, reply) => {
      const vm = (req.params as { vm: string }).vm;
      return answer(reply, await s.submit({ kind, vm, ...toReq((req.body ?? {}) as Record<string, unknown>) }, req.principal!));
    });
  };
  const point = (b: Record<string, unknown>) => (typeof b.backupId === 'string' ? { backupId: b.backupId } : {});
  act('backup', 'Back the VM up now under the applied policy', strict({}), () => ({}));
  act('verify', 'Verify a restore point (default: the newest)', strict({ backupId: BACKUP_ID }), point);
  act('test-restore', 'Test-restore a restore point (default: the newest good one)', strict({ backupId: BACKUP_ID }), point);
  // Prune is the VM's retention (never a named point); `dry_run` answers what would go, queueing nothing.
  app.post(`${API_PREFIX}/vms/:vm/prune`, {
    config: { role: ROLE_FOR.prune, act: 'prune' },
    schema: {
      summary: 'Run the VM\'s retention now, as `vmbackup prune <vm>`: the mass-prune guard, never the newest verified point; the detail lists what was pruned and why (role admin; 202 with the queued action, or 200 with the plan for dry_run)',
      tags: ['act'], params: VM_PARAMS, body: strict({ dry_run: { type: 'boolean' } }),
      response: { 200: PRUNE_PREVIEW_SCHEMA, 202: ACTION_SCHEMA, ...errors(404, 409, 503) },
    },
  }, async (req, reply) => {
    const vm = (req.params as { vm: string }).vm;
    if ((req.body as { dry_run?: boolean } | undefined)?.dry_run) {
      const r = await s.prunePreview(vm);
      return r.ok ? reply.code(200).send(r.preview) : fail(reply, r.status, apiError(r.code, r.message));
    }
    return answer(reply, await s.submit({ kind: 'prune', vm }, req.principal!));
  });
  act('restore', 'Restore a restore point as a new VM or in place, with the CLI\'s checks',
    strict({ backupId: BACKUP_ID, ...(RESTORE_SCHEMA.properties as Record<string, unknown>) }, ['backupId', 'mode', 'network']),
    (b) => ({ backupId: b.backupId as string, restore: { mode: b.mode as RestoreRequest['mode'], network: b.network as RestoreRequest['network'], ...(typeof b.name === 'string' ? { name: b.name } : {}), ...(typeof b.hypervisor === 'string' ? { hypervisor: b.hypervisor } : {}), ...(typeof b.start === 'boolean' ? { start: b.start } : {}) } }));

  app.post(`${API_PREFIX}/actions/:id/cancel`, {
    config: { role: ROLE_FOR.cancel, act: 'cancel' },
    schema: { summary: 'Cancel a queued action (409 once it runs)', tags: ['act'], params: ID_PARAMS, body: strict({}), response: { 202: ACTION_SCHEMA, ...errors(404, 409) } },
  }, async (req, reply) => answer(reply, await s.cancel((req.params as { id: string }).id, req.principal!)));

  app.post(`${API_PREFIX}/vms/:vm/pause`, {
    config: { role: ROLE_FOR.pause, act: 'pause' },
    schema: {
      summary: 'Hold the VM\'s scheduled and catch-up backups until a time (ISO with zone, or a duration: 30m, 6h, 2d)', tags: ['act'], params: VM_PARAMS,
      body: strict({ until: { type: 'string', minLength: 1, maxLength: 40 }, reason: { type: 'string', minLength: 1, maxLength: 200 } }, ['until', 'reason']),
      response: { 200: PAUSE_SCHEMA, ...errors(404) },
    },
  }, async (req, reply) => {
    const b = req.body as { until: string; reason: string };
    const r = await s.pause((req.params as { vm: string }).vm, b.until, b.reason, req.principal!);
    return r.ok ? r.pause : fail(reply, r.status, apiError(r.code, r.message));
  });
  app.post(`${API_PREFIX}/vms/:vm/resume`, {
    config: { role: ROLE_FOR.resume, act: 'resume' },
    schema: { summary: 'End the VM\'s pause now', tags: ['act'], params: VM_PARAMS, body: strict({}), response: { 200: { type: 'object', properties: { was: PAUSE_SCHEMA } }, ...errors(404) } },
  }, async (req, reply) => {
    const r = await s.resume((req.params as { vm: string }).vm, req.principal!);
    return r.ok ? (r.was ? { was: r.was } : {}) : fail(reply, r.status, apiError(r.code, r.message));
  });
}
