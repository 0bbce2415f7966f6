// The operator and admin buttons: plain HTML form POSTs (CSRF and Origin checked before they get
// here) that check the role against ROLE_FOR, then queue, pause, resume or cancel through the service.
import type { FastifyInstance, FastifyReply } from 'fastify';
import { allows, ROLE_FOR, type AdhocKind, type SubmitResult } from '../../../ports/console.js';
import type { WebContext } from './context.js';
import type { Session } from './sessions.js';
import { field } from './security.js';

const BUTTON_KINDS = new Set<AdhocKind>(['backup', 'verify', 'test-restore', 'prune']);

export function submitted(c: WebContext, reply: FastifyReply, r: SubmitResult, s: Session): FastifyReply {
  if (!r.ok) return c.fail(reply, r.status, `${r.code}: ${r.message}`, s);
  return reply.code(303).header('location', `/ui/actions/${encodeURIComponent(r.action.id)}`).send();
}

function refuse(c: WebContext, reply: FastifyReply, s: Session, what: string): FastifyReply {
  return c.fail(reply, 403, `Your role (${s.principal.role}) may not ${what}.`, s);
}

export function actRoutes(ui: FastifyInstance, c: WebContext): void {
  ui.post('/ui/vms/:vm/act', async (req, reply) => {
    const s = c.session(req);
    const vm = (req.params as { vm: string }).vm;
    const kind = field(req.body, 'kind') as AdhocKind;
    if (!BUTTON_KINDS.has(kind)) return c.fail(reply, 400, 'Unknown action.', s);
    if (!allows(s.principal.role, ROLE_FOR[kind])) return refuse(c, reply, s, kind);
    const backupId = kind === 'prune' ? '' : field(req.body, 'backupId'); // prune is the VM's retention, never a named point
    return submitted(c, reply, await c.service.submit({ kind, vm, ...(backupId ? { backupId } : {}) }, s.principal), s);
  });

  ui.post('/ui/vms/:vm/pause', async (req, reply) => {
    const s = c.session(req);
    const vm = (req.params as { vm: string }).vm;
    if (!allows(s.principal.role, ROLE_FOR.pause)) return refuse(c, reply, s, 'pause');
    const r = await c.service.pause(vm, field(req.body, 'until'), field(req.body, 'reason'), s.principal);
    if (!r.ok) return c.fail(reply, r.status, `${r.code}: ${r.message}`, s);
    return reply.code(303).header('location', `/ui/vms/${encodeURIComponent(vm)}`).send();
  });

  ui.post('/ui/vms/:vm/resume', async (req, reply) => {
    const s = c.session(req);
    const vm = (req.params as { vm: string }).vm;
    if (!allows(s.principal.role, ROLE_FOR.resume)) return refuse(c, reply, s, 'resume');
    const r = await c.service.resume(vm, s.principal);
    if (!r.ok) return c.fail(reply, r.status, `${r.code}: ${r.message}`, s);
    return reply.code(303).header('location', `/ui/vms/${encodeURIComponent(vm)}`).send();
  });

  ui.post('/ui/actions/:id/cancel', async (req, reply) => {
    const s = c.session(req);
    if (!allows(s.principal.role, ROLE_FOR.cancel)) return refuse(c, reply, s, 'cancel');
    return submitted(c, reply, await c.service.cancel((req.params as { id: string }).id, s.principal), s);
  });
}
