// The restore wizard (admin): pick a VM, then a point, a target host, new (name) or in place and a
// network; a confirmation page says exactly what will happen (in place: type the VM's name); then
// the restore is queued like the API's. The same checks run again on the final POST.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { allows, ROLE_FOR } from '../../../ports/console.js';
import { checkRestore, confirmed, restoreSteps, type RestoreForm } from '../../../core/console/restore-view.js';
import { localDateTime, humanBytes } from '../../../core/status-format.js';
import type { WebContext } from './context.js';
import { field } from './security.js';
import { submitted } from './acts.js';

const FIELDS = ['vm', 'backupId', 'hypervisor', 'mode', 'name', 'network'] as const;

function form(src: unknown): RestoreForm {
  const f = Object.fromEntries(FIELDS.map((k) => [k, field(src, k)])) as unknown as RestoreForm;
  return { ...f, mode: f.mode || 'new', network: f.network || 'none', confirm: field(src, 'confirm') };
}

export function restoreRoutes(ui: FastifyInstance, c: WebContext): void {
  const adminOnly = (req: FastifyRequest, reply: FastifyReply): boolean => {
    const s = c.session(req);
    if (allows(s.principal.role, ROLE_FOR.restore)) return true;
    c.fail(reply, 403, `Your role (${s.principal.role}) may not restore; restores need an admin.`, s);
    return false;
  };

  /** Step 1 (no VM yet) or step 2 (the VM's points and the hosts), with the errors of a refused step. */
  const wizard = async (req: FastifyRequest, reply: FastifyReply, f: RestoreForm, status: number, errors: string[] = []): Promise<FastifyReply> => {
    const s = c.session(req);
    const fleet = await c.service.fleet();
    const vms = fleet.vms.map((v) => v.status.vm).sort();
    const view = f.vm ? await c.service.vm(f.vm) : undefined;
    if (f.vm && !view) return c.fail(reply, 404, `No VM named ${JSON.stringify(f.vm)} in the applied policy.`, s);
    const hosts = (await c.service.hypervisors()).map((h) => h.name);
    const points = (view?.status.restore_points ?? []).filter((p) => p.status === 'ok').map((p) => ({
      id: p.id, text: `${p.id} — ${localDateTime(p.time, c.timeZone())}, ${p.kind ?? 'full'}${p.size_bytes !== undefined ? `, ${humanBytes(p.size_bytes)}` : ''}, verify ${p.verify}`, selected: p.id === f.backupId,
    }));
    const target = f.hypervisor || view?.status.hypervisor || '';
    return c.html(reply, status, 'restore', {
      title: 'Restore', nav: 'restore', errors, f, vms: vms.map((v) => ({ name: v, selected: v === f.vm })), step2: !!view,
      points, hosts: hosts.map((h) => ({ name: h, selected: h === target })), modeNew: f.mode !== 'in-place', net: { none: f.network === 'none', isolated: f.network === 'isolated', keep: f.network === 'keep' },
    }, s);
  };

  ui.get('/ui/restore', async (req, reply) => (adminOnly(req, reply) ? wizard(req, reply, form(req.query), 200) : reply));

  ui.post('/ui/restore/confirm', async (req, reply) => {
    if (!adminOnly(req, reply)) return reply;
    const f = form(req.body);
    const view = f.vm ? await c.service.vm(f.vm) : undefined;
    const checked = checkRestore(f, view?.status, (await c.service.hypervisors()).map((h) => h.name));
    if (!checked.ok) return wizard(req, reply, f, 400, checked.errors);
    return c.html(reply, 200, 'restore-confirm', { title: 'Confirm restore', nav: 'restore', choice: checked.choice, backHref: `/ui/restore?vm=${encodeURIComponent(checked.choice.vm)}`, inPlace: checked.choice.mode === 'in-place', steps: restoreSteps(checked.choice, view!.status, c.timeZone()) }, c.session(req));
  });

  ui.post('/ui/restore', async (req, reply) => {
    if (!adminOnly(req, reply)) return reply;
    const s = c.session(req);
    const f = form(req.body);
    const view = f.vm ? await c.service.vm(f.vm) : undefined;
    const checked = checkRestore(f, view?.status, (await c.service.hypervisors()).map((h) => h.name));
    if (!checked.ok) return wizard(req, reply, f, 400, checked.errors);
    const ch = checked.choice;
    if (!confirmed(ch, f.confirm)) return c.fail(reply, 400, `An in-place restore replaces ${ch.vm}'s disks: type the VM's name exactly to confirm.`, s);
    const restore = { mode: ch.mode, network: ch.network, hypervisor: ch.hypervisor, ...(ch.name ? { name: ch.name } : {}) };
    return submitted(c, reply, await c.service.submit({ kind: 'restore', vm: ch.vm, backupId: ch.backupId, restore }, s.principal), s);
  });
}
