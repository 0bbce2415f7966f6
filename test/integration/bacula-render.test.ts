// Renders the fixture, writes it to a temp dir and checks it with the real Bacula 9.6 tools:
// `bacula-dir -t -c ABS` (needs an existing sqlite catalog <WorkingDirectory>/<dbname>.db) and
// `/usr/lib/bacula/bdirjson -c ABS` (parsed config as JSON). Also simulates Bacula's scheduler on
// the parsed Run bitmasks and compares it with nextRuns.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import type { DesiredState, Schedule } from '../../src/core/model.js';
import { renderAll, renderBacula } from '../../src/core/render.js';
import { cronEntryTimes, nextRuns, scheduleSlug } from '../../src/core/schedule.js';
import { makeDesired, readTemplates, sched } from '../fixtures/desired.js';
import { hypervisorModeDesired } from '../fixtures/hypervisor-mode.js';

const SCHEMA = '/usr/share/dbconfig-common/data/bacula-director-sqlite3/install/sqlite3';
const BDIRJSON = '/usr/lib/bacula/bdirjson';

function which(cmd: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  return dirs.map((d) => join(d, cmd)).find((p) => existsSync(p));
}

const tools = { baculaDir: which('bacula-dir'), sqlite3: which('sqlite3'), bdirjson: existsSync(BDIRJSON) ? BDIRJSON : undefined, schema: existsSync(SCHEMA) ? SCHEMA : undefined };
const missing = [
  !tools.baculaDir && 'bacula-dir (apt-get install bacula-director)',
  !tools.bdirjson && `${BDIRJSON} (bacula-director)`,
  !tools.sqlite3 && 'sqlite3',
  !tools.schema && `${SCHEMA} (bacula-director-sqlite3)`,
].filter((x): x is string => Boolean(x));

/** Skip (with the reason) when Bacula is not installed; in CI that is a failure. */
function needBacula(t: TestContext): boolean {
  if (missing.length === 0) return true;
  const msg = `Bacula tools missing: ${missing.join(', ')}`;
  if (process.env.CI === 'true') assert.fail(msg);
  t.skip(msg);
  return false;
}

const scratch = mkdtempSync(join(tmpdir(), 'vmbackup-bacula-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let n = 0;

/** Render `d` into a fresh absolute dir with its own catalog; returns the config path. */
function writeConfig(make: (o: { workingDirectory: string; pidDirectory: string; logFile: string }) => DesiredState): { conf: string; d: DesiredState } {
  const dir = join(scratch, `out${++n}`);
  const work = join(dir, 'work');
  mkdirSync(work, { recursive: true });
  const d = make({ workingDirectory: work, pidDirectory: join(dir, 'run'), logFile: join(dir, 'log', 'bacula.log') });
  const db = spawnSync(tools.sqlite3!, [join(work, `${d.settings.bacula.catalog.dbName}.db`)], { input: readFileSync(tools.schema!), encoding: 'utf8' });
  assert.equal(db.status, 0, `sqlite3: ${db.stderr}`);
  for (const f of renderAll(d, readTemplates())) writeFileSync(join(dir, f.path), f.content, { mode: f.mode });
  return { conf: join(dir, 'bacula-dir.conf'), d };
}

function testConfig(conf: string): void {
  const r = spawnSync(tools.baculaDir!, ['-t', '-c', conf], { encoding: 'utf8' });
  assert.equal(`${r.stdout}${r.stderr}`, '', 'bacula-dir -t printed something');
  assert.equal(r.status, 0);
}

type Res = Record<string, Record<string, unknown>>;
function bdirjson(conf: string): Res[] {
  const r = spawnSync(tools.bdirjson!, ['-c', conf], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return JSON.parse(r.stdout) as Res[];
}
const resources = (all: Res[], kind: string): Record<string, unknown>[] => all.flatMap((r) => (r[kind] ? [r[kind]] : []));

interface RunScript { RunsWhen: string; RunsOnClient?: boolean; RunsOnFailure?: boolean; RunsOnSuccess?: boolean; Command: string }

describe('bacula-dir accepts the rendered config', () => {
  it('scheduler bacula: -t passes silently; jobs, priorities, schedules and RunScripts as rendered', (t) => {
    if (!needBacula(t)) return;
    const { conf } = writeConfig((o) => makeDesired(o));
    testConfig(conf);
    const all = bdirjson(conf);
    const jobs = resources(all, 'Job');
    const byName = new Map(jobs.map((j) => [j.Name as string, j]));
    assert.deepEqual([...byName.keys()].sort(), [
      'backup-vm-archive-01', 'backup-vm-asav-firewall-01', 'backup-vm-ci-runner-01', 'backup-vm-dev-test-vm',
      'backup-vm-file-server-01', 'backup-vm-prod-db-01', 'backup-vm-web-server-01',
    ]);
    const expect: [string, number, string][] = [
      ['prod-db-01', 1, 'sched-weekly'], ['asav-firewall-01', 2, 'sched-weekly'], ['web-server-01', 6, 'sched-weekly'],
      ['file-server-01', 15, 'sched-biweekly'], ['ci-runner-01', 15, 'sched-cron-30_1_x_x_1-5'],
      ['dev-test-vm', 25, 'sched-biweekly'], ['archive-01', 30, 'sched-monthly'],
    ];
    for (const [vm, priority, schedule] of expect) {
      const j = byName.get(`backup-vm-${vm}`)!;
      assert.equal(j.Type, 'Admin');
      assert.equal(j.Priority, priority);
      assert.equal(j.Schedule, schedule);
      const rs = (j.Runscript as RunScript[]).map((r) => [r.RunsWhen, r.RunsOnClient, r.RunsOnFailure ?? false, r.Command]);
      assert.deepEqual(rs, [
        ['Before', false, false, `/usr/bin/vmbackup check ${vm} --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup`],
        ['Before', false, false, `/usr/bin/vmbackup backup ${vm} --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup --bacula-job-id %i`],
        ['After', false, false, `/usr/bin/vmbackup verify ${vm} --latest --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup`],
        ['After', false, true, `/usr/bin/vmbackup notify ${vm} --job-id %i --job-status '%e' --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup`],
      ]);
    }
    assert.equal((resources(all, 'Director')[0] as { MaximumConcurrentJobs: number }).MaximumConcurrentJobs, 1);
    assert.deepEqual(resources(all, 'Schedule').map((s) => s.Name).sort(), ['sched-biweekly', 'sched-cron-30_1_x_x_1-5', 'sched-monthly', 'sched-weekly']);
  });

  it('scheduler cron: -t passes; jobs have no Schedule and there are no Schedule resources', (t) => {
    if (!needBacula(t)) return;
    const { conf } = writeConfig((o) => makeDesired({ ...o, scheduler: 'cron' }));
    testConfig(conf);
    const all = bdirjson(conf);
    assert.equal(resources(all, 'Schedule').length, 0);
    assert.equal(resources(all, 'Job').length, 7);
    for (const j of resources(all, 'Job')) assert.equal(j.Schedule, undefined);
  });

  it('no enabled VM: still a valid config (Bacula requires one Job), and an empty cron file', (t) => {
    if (!needBacula(t)) return;
    const { conf } = writeConfig((o) => {
      const d = makeDesired(o);
      for (const vm of d.vms) vm.enabled = false;
      return d;
    });
    testConfig(conf);
    const all = bdirjson(conf);
    assert.deepEqual(resources(all, 'Job').map((j) => [j.Name, j.Schedule]), [['vmbackup-no-vms', undefined]]);
    assert.equal(resources(all, 'Schedule').length, 0);
  });

  it('quotes, backslashes, blanks and % survive the round trip through Bacula\'s parser', (t) => {
    if (!needBacula(t)) return;
    const { conf } = writeConfig((o) => {
      const d = makeDesired(o);
      d.settings.bacula.command = '/opt/my "tools"\\bin/vmbackup';
      d.settings.bacula.repoPath = '/srv/policy repo/100%';
      d.policies[0]!.description = 'Critical "tier 0" \\ DB';
      return d;
    });
    testConfig(conf);
    const job = resources(bdirjson(conf), 'Job').find((j) => j.Name === 'backup-vm-prod-db-01')!;
    assert.equal(job.Description, 'VM prod-db-01 on hypervisor-01, quiesce, policy critical: Critical "tier 0" \\ DB');
    // As Bacula stores it: argv words in '…', % doubled (Bacula turns %% into % when it runs the command).
    assert.equal((job.Runscript as RunScript[])[1]!.Command, `'/opt/my "tools"\\bin/vmbackup' backup prod-db-01 --repo '/srv/policy repo/100%%' --state-dir /var/lib/vmbackup --bacula-job-id %i`);
  });

  it('hypervisor mode: -t passes with one Client per runs_on: hypervisor host; its jobs run their RunScripts on it', (t) => {
    if (!needBacula(t)) return;
    const { conf } = writeConfig((o) => hypervisorModeDesired(o));
    testConfig(conf);
    const all = bdirjson(conf);
    // bdirjson leaves out a value at its default (a Client's Maximum Concurrent Jobs is 1 by default).
    const clients = resources(all, 'Client').map((c) => [c.Name, c.Address, c.FdPort, c.MaximumConcurrentJobs ?? 1, c.Catalog]);
    assert.deepEqual(clients.sort(), [
      ['hypervisor-01-fd', '10.0.0.1', 9102, 1, 'MyCatalog'],
      ['hypervisor-02-fd', '10.0.0.2', 19102, 2, 'MyCatalog'],
      ['vmbackup-fd', '127.0.0.1', 9102, 1, 'MyCatalog'],
    ]);
    assert.equal((resources(all, 'Director')[0] as { MaximumConcurrentJobs: number }).MaximumConcurrentJobs, 2);
    assert.equal((resources(all, 'Storage')[0] as { MaximumConcurrentJobs: number }).MaximumConcurrentJobs, 2);
    const byName = new Map(resources(all, 'Job').map((j) => [j.Name as string, j]));
    const expect: [string, string, string | undefined][] = [
      ['prod-db-01', 'hypervisor-01-fd', 'hypervisor-01'], ['file-server-01', 'hypervisor-01-fd', 'hypervisor-01'],
      ['asav-firewall-01', 'hypervisor-02-fd', 'hypervisor-02'], ['web-server-01', 'vmbackup-fd', undefined],
    ];
    for (const [vm, client, hv] of expect) {
      const j = byName.get(`backup-vm-${vm}`)!;
      assert.equal(j.Client, client, vm);
      const state = hv === 'hypervisor-02' ? '/srv/vmbackup' : '/var/lib/vmbackup';
      const here = hv ? ` --repo ${state}/repo --state-dir ${state} --on-hypervisor ${hv}` : ' --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup';
      // bdirjson leaves RunsOnClient out at its default, which is Yes.
      const rs = (j.Runscript as RunScript[]).map((r) => [r.RunsWhen, r.RunsOnClient ?? true, r.Command]);
      assert.deepEqual(rs, [
        ['Before', hv !== undefined, `/usr/bin/vmbackup check ${vm}${here}`],
        ['Before', hv !== undefined, `/usr/bin/vmbackup backup ${vm}${here} --bacula-job-id %i`],
        ['After', hv !== undefined, `/usr/bin/vmbackup verify ${vm} --latest${here}`],
        ['After', false, `/usr/bin/vmbackup notify ${vm} --job-id %i --job-status '%e' --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup`],
      ], vm);
    }
  });
});

// ---- Bacula scheduler simulation (dird/scheduler.c + lib/btime.c tm_woy), in wall-clock time.

interface Run { Hour: number[]; Minute: number; Day: number[]; Month: number[]; DayOfWeek: number[]; WeekOfMonth: number[]; WeekOfYear: number[] }

function tmWoy(y: number, m: number, d: number): number {
  const yday = (Date.UTC(y, m - 1, d) - Date.UTC(y, 0, 1)) / 86_400_000;
  let fty = 1 - new Date(Date.UTC(y, 0, 4)).getUTCDay();
  if (fty <= 0) fty += 7;
  const woy = yday - fty + 4;
  return woy < 0 ? 0 : 1 + Math.floor(woy / 7);
}

function baculaRuns(runs: Run[], fromYear: number, toYear: number): string[] {
  const out = new Set<string>();
  for (let t = Date.UTC(fromYear, 0, 1); t < Date.UTC(toYear, 0, 1); t += 86_400_000) {
    const date = new Date(t);
    const [y, m, d, wd] = [date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate(), date.getUTCDay()];
    for (const r of runs) {
      if (!r.Day.includes(d - 1) || !r.Month.includes(m - 1) || !r.DayOfWeek.includes(wd)) continue;
      if (!r.WeekOfMonth.includes(Math.floor((d - 1) / 7)) || !r.WeekOfYear.includes(tmWoy(y, m, d))) continue;
      for (const h of r.Hour) out.add(new Date(t + h * 3_600_000 + r.Minute * 60_000).toISOString());
    }
  }
  return [...out].sort();
}

describe('Bacula Run lines mean what nextRuns says (simulated 2026-2040)', () => {
  const specs: (string | Schedule)[] = [
    'daily', 'weekly', 'biweekly', 'monthly',
    '30 1 * * mon-fri', '0 2 1,15 * *', '0 2 1,2,20 * *', '15 3 * jan-mar,dec sun', '0 0,12 * * *', '0 0 1 1 *',
    '45 23 31 * *', '0,30 6 * * 1', '0 2 1-31 * 1', '5 4 * * 7', '0 3 1-7 * *',
    { spec: 'daily even weeks', cron: '0 3 * * *', filter: 'even-iso-week' },
    { spec: 'sundays even weeks', cron: '0 3 * * 0', filter: 'even-iso-week' },
    { spec: 'weekdays first week', cron: '0 3 * * 1-5', filter: 'first-week-of-month' },
  ];
  // Documented residue (src/core/schedule.ts header): after a leap year that began on a Thursday
  // (2032), 1 and 2 January 2033 are ISO W53 but Bacula numbers them w00, which must stay on for
  // the usual case where they are W52.
  const known: Record<string, string[]> = {
    biweekly: ['2033-01-01T12:00:00.000Z'],
    'daily even weeks': ['2033-01-01T03:00:00.000Z', '2033-01-02T03:00:00.000Z'],
    'sundays even weeks': ['2033-01-02T03:00:00.000Z'],
  };

  it('every schedule renders, passes bacula-dir -t, and matches nextRuns in UTC', (t) => {
    if (!needBacula(t)) return;
    const schedules = specs.map((s) => (typeof s === 'string' ? sched(s) : s));
    const { conf } = writeConfig((o) => {
      const d = makeDesired(o);
      const template = d.vms[0]!;
      d.vms = schedules.map((s, i) => ({ ...template, name: `vm${String(i).padStart(2, '0')}`, schedule: s }));
      return d;
    });
    testConfig(conf);
    const parsed = new Map(resources(bdirjson(conf), 'Schedule').map((s) => [s.Name as string, s.Run as Run[]]));
    for (const s of schedules) {
      const runs = parsed.get(`sched-${scheduleSlug(s)}`);
      assert.ok(runs, `no Schedule for ${s.spec}`);
      const bacula = baculaRuns(runs, 2026, 2041);
      const want = nextRuns(s, '2025-12-31T23:59:59Z', bacula.length + 400, 'UTC').filter((x) => x < '2041');
      const [bSet, wSet] = [new Set(bacula), new Set(want)];
      const onlyBacula = bacula.filter((x) => !wSet.has(x));
      const onlyCron = want.filter((x) => !bSet.has(x));
      assert.deepEqual({ onlyBacula, onlyCron }, { onlyBacula: known[s.spec] ?? [], onlyCron: [] }, s.spec);
    }
  });

  it('a renderBacula failure names the schedule and the VMs', () => {
    const d = makeDesired();
    d.vms[0]!.schedule = sched('0 2 1 * 1-5');
    assert.throws(() => renderBacula(d, readTemplates()), /schedule "0 2 1 \* 1-5" \(VMs prod-db-01\) cannot be rendered for Bacula: .*OR/);
  });
});

describe('cron.d guards behave in /bin/sh', () => {
  // Cron turns `\%` into `%` before handing the line to /bin/sh; `date` is faked to print $FAKE.
  const bin = join(scratch, 'fakebin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'date'), '#!/bin/sh\nprintf "%s\\n" "$FAKE"\n');
  chmodSync(join(bin, 'date'), 0o755);
  const run = (guard: string, fake: string): boolean =>
    spawnSync('/bin/sh', ['-c', guard.replace(/\\%/g, '%')], { env: { PATH: `${bin}:/usr/bin:/bin`, FAKE: fake } }).status === 0;
  const two = (i: number): string => String(i).padStart(2, '0');

  it('biweekly: true exactly in even ISO weeks (zero-padded 01-53, no octal trap)', () => {
    const [guard] = cronEntryTimes(sched('biweekly')).guard!;
    for (let w = 1; w <= 53; w++) assert.equal(run(guard!, two(w)), w % 2 === 0, `week ${two(w)}`);
  });

  it('monthly: true exactly on days 01-07', () => {
    const [guard] = cronEntryTimes(sched('monthly')).guard!;
    for (let d = 1; d <= 31; d++) assert.equal(run(guard!, two(d)), d <= 7, `day ${two(d)}`);
  });
});
