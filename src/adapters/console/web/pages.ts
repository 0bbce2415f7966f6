// The console's read pages: the fleet, one VM, storage, and an action's progress.
import type { FastifyInstance } from 'fastify';
import { fleetPage } from '../../../core/console/fleet-view.js';
import { vmPage } from '../../../core/console/vm-view.js';
import { storagePage } from '../../../core/console/storage-view.js';
import { actionPage } from '../../../core/console/action-view.js';
import { localDateTime } from '../../../core/status-format.js';
import type { WebContext } from './context.js';
import { securityHeaders } from './security.js';

export function pageRoutes(ui: FastifyInstance, c: WebContext): void {
  ui.get('/ui/', async (req, reply) => {
    const view = await c.service.fleet();
    const page = fleetPage(view, c.now(), c.timeZone());
    const actions = c.service.actions().slice(0, 10).map((a) => ({ ...a, requestedAt: localDateTime(a.requestedAt, c.timeZone()), href: `/ui/actions/${encodeURIComponent(a.id)}` }));
    return c.html(reply, 200, 'fleet', { title: 'Fleet', nav: 'fleet', page, actions }, c.session(req));
  });

  ui.get('/ui/vms/:vm', async (req, reply) => {
    const name = (req.params as { vm: string }).vm;
    const s = c.session(req);
    const view = await c.service.vm(name);
    if (!view) return c.fail(reply, 404, `No VM named ${JSON.stringify(name)} in the applied policy.`, s);
    const page = vmPage(view, c.now(), c.timeZone());
    return c.html(reply, 200, 'vm', { title: page.vm, nav: 'fleet', page, days: page.cells }, s);
  });

  // The last test-restore's console screenshot (the service reads only the recorded PNG under the VM's directory).
  ui.get('/ui/vms/:vm/test-restore.png', async (req, reply) => {
    const png = await c.service.testRestoreScreenshot((req.params as { vm: string }).vm);
    if (!png) return c.fail(reply, 404, 'No test-restore screenshot for this VM.', c.session(req));
    securityHeaders(reply);
    return reply.code(200).type('image/png').send(png);
  });

  ui.get('/ui/storage', async (req, reply) => {
    const page = storagePage(await c.service.storage());
    return c.html(reply, 200, 'storage', { title: 'Storage', nav: 'storage', page }, c.session(req));
  });

  ui.get('/ui/actions/:id', async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const s = c.session(req);
    const a = c.service.action(id);
    if (!a) return c.fail(reply, 404, `No action ${JSON.stringify(id)} (finished actions are kept for a while only).`, s);
    const page = { ...actionPage(a), requestedAt: localDateTime(a.requestedAt, c.timeZone()) };
    return c.html(reply, 200, 'action', { title: `${a.kind} ${a.vm}`, nav: 'fleet', page, refresh: !page.finished }, s);
  });
}
