// The daemon's shared concurrency slots (src/daemon/gates.ts): the plan and the console's queue
// take the same global and per-hypervisor slots; a limit change from a new revision takes effect.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Gates } from '../../src/daemon/gates.js';

const tick = () => new Promise((r) => setImmediate(r));

test('one job per hypervisor and a global cap, shared by every taker; released slots pass in order', async () => {
  const g = new Gates(2, 1);
  const order: string[] = [];
  const take = (name: string, hv: string) => g.take(hv).then((release) => { order.push(name); return release; });
  const a = await take('plan:hv1', 'hv1');
  const b = take('adhoc:hv1', 'hv1');       // same host: waits
  const c = await take('adhoc:hv2', 'hv2'); // another host: runs (2 global)
  const d = take('plan:hv3', 'hv3');        // global cap reached: waits
  await tick();
  assert.deepEqual(order, ['plan:hv1', 'adhoc:hv2']);
  c();
  await d;
  a();
  const rb = await b;
  assert.deepEqual(order, ['plan:hv1', 'adhoc:hv2', 'plan:hv3', 'adhoc:hv1']);
  rb(); rb(); // a double release gives back one slot only
  (await d)();
});

test('raising the limit (a newly applied revision) lets waiters in at once; lowering it lets running jobs finish', async () => {
  const g = new Gates(1, 5);
  const r1 = await g.take('hv1');
  let second = false;
  const p = g.take('hv2').then((r) => { second = true; return r; });
  await tick();
  assert.equal(second, false);
  g.setLimits(2, 5);
  const r2 = await p;
  assert.equal(second, true);
  g.setLimits(1, 5);
  let third = false;
  const q = g.take('hv3').then((r) => { third = true; return r; });
  r1();
  await tick();
  assert.equal(third, false, 'still two running against a limit of one');
  r2();
  (await q)();
  assert.equal(third, true);
});

test('a restore to another hypervisor takes that host\'s slot too (both hosts, one global slot), so a backup there waits', async () => {
  const g = new Gates(3, 1);
  const order: string[] = [];
  const restore = await g.take('hv1', 'hv2'); // restore of an hv1 VM onto hv2
  const backupHv2 = g.take('hv2').then((r) => { order.push('backup:hv2'); return r; });
  const backupHv1 = g.take('hv1').then((r) => { order.push('backup:hv1'); return r; });
  await tick();
  assert.deepEqual(order, [], 'both hosts are held by the restore');
  restore();
  (await backupHv2)();
  (await backupHv1)();
  assert.deepEqual(order.sort(), ['backup:hv1', 'backup:hv2']);
  // Two restores crossing hosts (hv1→hv2, hv2→hv1) never deadlock: hosts are taken in name order.
  const x = g.take('hv1', 'hv2');
  const y = g.take('hv2', 'hv1');
  (await x)();
  (await y)();
  // The same host twice is one slot.
  (await g.take('hv3', 'hv3'))();
});
