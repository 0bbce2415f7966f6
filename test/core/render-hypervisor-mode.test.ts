// Rendering with runs_on: hypervisor: one Client per such hypervisor, its VMs' jobs run there
// (RunsOnClient = Yes, --on-hypervisor) on the revision published there, one cron.d file per such
// hypervisor; golden files.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DesiredState } from '../../src/core/model.js';
import { CRON_FILE, renderAll, renderBacula, renderCron } from '../../src/core/render.js';
import { makeDesired, PROJECT_ROOT, readTemplates, shuffled } from '../fixtures/desired.js';
import { hypervisorModeDesired } from '../fixtures/hypervisor-mode.js';

const T = readTemplates();
const GOLDEN = join(PROJECT_ROOT, 'test', 'golden');

/** The Job resource of a VM, as text. */
function jobOf(conf: string, vm: string): string {
  const m = new RegExp(`\\nJob \\{\\n  Name = "backup-vm-${vm}"\\n[\\s\\S]*?\\n\\}\\n`).exec(conf);
  assert.ok(m, `job of ${vm}`);
  return m[0];
}

describe('hypervisor mode: director config', () => {
  const conf = renderBacula(hypervisorModeDesired(), T)[0]!.content;

  it('one Client per runs_on: hypervisor hypervisor, with its address, port, password placeholder and limit', () => {
    const clients = [...conf.matchAll(/\nClient \{\n([\s\S]*?)\n\}/g)].map((m) => m[1]!);
    assert.equal(clients.length, 3, 'the placeholder and two hypervisors');
    assert.equal(clients[1], [
      '  Name = "hypervisor-01-fd"', '  Address = "10.0.0.1"', '  FDPort = 9102', '  Catalog = "MyCatalog"',
      '  Password = "@@secret:env:BACULA_FD_PASSWORD@@"', '  Maximum Concurrent Jobs = 1', '  AutoPrune = no',
    ].join('\n'));
    assert.match(clients[2]!, /Name = "hypervisor-02-fd"\n {2}Address = "10\.0\.0\.2"\n {2}FDPort = 19102\n.*\n {2}Password = "@@secret:credential:hv02-fd@@"\n {2}Maximum Concurrent Jobs = 2/);
    assert.match(conf, /Director \{[\s\S]*?Maximum Concurrent Jobs = 2\n/);
  });

  it("a hypervisor-mode VM's job names its Client; check, backup and verify run there as that hypervisor; notify stays here", () => {
    const job = jobOf(conf, 'file-server-01');
    assert.match(job, /Client = "hypervisor-01-fd"/);
    const scripts = [...job.matchAll(/RunScript \{\n([\s\S]*?)\n {2}\}/g)].map((m) => m[1]!);
    assert.equal(scripts.length, 4);
    for (const s of scripts.slice(0, 3)) {
      assert.match(s, /RunsOnClient = Yes/);
      assert.match(s, /--repo \/var\/lib\/vmbackup\/repo --state-dir \/var\/lib\/vmbackup --on-hypervisor hypervisor-01/);
    }
    assert.match(scripts[1]!, /Command = "\/usr\/bin\/vmbackup backup file-server-01 --repo \/var\/lib\/vmbackup\/repo --state-dir \/var\/lib\/vmbackup --on-hypervisor hypervisor-01 --bacula-job-id %i"/);
    assert.match(scripts[3]!, /RunsOnClient = No\n[\s\S]*notify file-server-01 .*--repo \/var\/lib\/vmbackup\/repo --state-dir \/var\/lib\/vmbackup"/);
    assert.doesNotMatch(scripts[3]!, /on-hypervisor/);
  });

  it("a control-mode VM's job is exactly the one rendered without hypervisor mode", () => {
    const plain = renderBacula(makeDesired(), T)[0]!.content;
    assert.equal(jobOf(conf, 'web-server-01'), jobOf(plain, 'web-server-01'));
    assert.match(jobOf(conf, 'web-server-01'), /Client = "vmbackup-fd"/);
    assert.doesNotMatch(plain, /RunsOnClient = Yes|hypervisor-0\d-fd|on-hypervisor/);
  });

  it('does not depend on the order of hypervisors and VMs', () => {
    const d = hypervisorModeDesired();
    const mixed: DesiredState = { ...d, hypervisors: shuffled(d.hypervisors, 7), vms: shuffled(d.vms, 11) };
    assert.deepEqual(renderAll(mixed, T), renderAll(d, T));
  });
});

describe('hypervisor mode: cron', () => {
  const d = hypervisorModeDesired({ scheduler: 'cron' });
  const files = renderCron(d, T);
  const byPath = new Map(files.map((f) => [f.path, f.content]));
  const active = (c: string): string[] => c.split('\n').filter((l) => /^[0-9*]/.test(l));

  it("the control host's file first, then one per hypervisor-mode hypervisor", () => {
    assert.deepEqual(files.map((f) => [f.path, f.mode]), [[CRON_FILE, 0o644], ['vmbackup-hypervisor-01.cron', 0o644], ['vmbackup-hypervisor-02.cron', 0o644]]);
    assert.equal(renderCron(makeDesired({ scheduler: 'cron' }), T).length, 1);
    assert.match(byPath.get('vmbackup-hypervisor-02.cron')!, / --repo \/srv\/vmbackup\/repo --state-dir \/srv\/vmbackup --on-hypervisor hypervisor-02$/m);
  });

  it("each file lists only its VMs; the hypervisors' lines run as that hypervisor", () => {
    const control = byPath.get(CRON_FILE)!;
    assert.match(control, /: web-server-01\n/);
    assert.doesNotMatch(control, /prod-db-01|file-server-01|asav-firewall-01|ci-runner-01/);
    for (const l of active(control)) assert.match(l, /--repo \/var\/lib\/vmbackup\/repo --state-dir \/var\/lib\/vmbackup$/);
    const hv1 = byPath.get('vmbackup-hypervisor-01.cron')!;
    assert.match(hv1, /# Installed on hypervisor hypervisor-01/);
    assert.match(hv1, /prod-db-01/);
    assert.doesNotMatch(hv1, /web-server-01|asav-firewall-01|ci-runner-01/);
    assert.equal(active(hv1).length, 3, 'weekly, biweekly, monthly');
    for (const l of active(hv1)) assert.match(l, /root .*\/usr\/bin\/vmbackup backup --schedule \S+ --repo \/var\/lib\/vmbackup\/repo --state-dir \/var\/lib\/vmbackup --on-hypervisor hypervisor-01$/);
  });

  it('with the Bacula scheduler the per-hypervisor files are rendered inert too', () => {
    const inert = renderCron(hypervisorModeDesired(), T);
    assert.equal(inert.length, 3);
    for (const f of inert) assert.deepEqual(active(f.content), [], f.path);
  });
});

describe('golden files (hypervisor mode)', () => {
  const cases: { dir: string; d: () => DesiredState }[] = [
    { dir: 'scheduler-bacula-hypervisor', d: () => hypervisorModeDesired() },
    { dir: 'scheduler-cron-hypervisor', d: () => hypervisorModeDesired({ scheduler: 'cron' }) },
  ];
  for (const c of cases) {
    for (const f of renderAll(c.d(), T)) {
      it(`${c.dir}/${f.path}`, () => {
        const path = join(GOLDEN, c.dir, f.path);
        if (process.env.UPDATE_GOLDEN === '1') {
          mkdirSync(join(GOLDEN, c.dir), { recursive: true });
          writeFileSync(path, f.content);
          return;
        }
        let want: string;
        try {
          want = readFileSync(path, 'utf8');
        } catch {
          assert.fail(`missing golden file ${path}: run with UPDATE_GOLDEN=1 to create it`);
        }
        assert.equal(f.content, want, `${path} differs: review, then UPDATE_GOLDEN=1 to accept`);
      });
    }
  }
});
