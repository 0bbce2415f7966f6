// scheduler: systemd against the real systemd-analyze (252 here): vmbackup's next-run prediction
// (nextRuns(…, 'systemd')) equals what `systemd-analyze calendar` computes for the rendered
// OnCalendar= lines, across daylight-saving changes; and the rendered units pass `verify`.
// verify resolves ExecStart=/ExecCondition= on the host, so it runs with --root on a scratch tree
// holding the units, a stub /usr/bin/vmbackup, and a copy of the distribution's units.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { nextRuns, passesFilter } from '../../src/core/schedule-runs.js';
import { wallOf } from '../../src/core/schedule-zone.js';
import { scheduleDstNotes } from '../../src/core/schedule-dst.js';
import { onCalendarSpecs } from '../../src/core/systemd-calendar.js';
import { renderSystemd } from '../../src/core/render-systemd.js';
import { requireAnalyze, runAnalyze, scratchRoot } from '../helpers/systemd-analyze.js';
import { makeDesired, sched } from '../fixtures/desired.js';

const run = (args: string[]): ReturnType<typeof runAnalyze> => runAnalyze(args, { TZ: 'UTC' });

/** systemd's next elapses (ISO, UTC) of all OnCalendar= specs after `baseIso`, merged. */
function systemdRuns(specs: string[], baseIso: string, iterations: number): string[] {
  const base = baseIso.replace('T', ' ').replace(/(\.\d+)?Z$/, ' UTC');
  const r = run(['calendar', `--iterations=${iterations}`, `--base-time=${base}`, ...specs]);
  assert.equal(r.status, 0, `systemd-analyze calendar ${specs.join(' | ')}: ${r.stderr}`);
  const times = [...r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w{3} (\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) UTC/g)]
    .map((m) => new Date(`${m[1]}T${m[2]}Z`).toISOString());
  return [...new Set(times)].sort();
}

const CASES: { spec: string; tz: string; from: string; why: string }[] = [
  { spec: 'daily', tz: 'Europe/Berlin', from: '2027-03-20T00:00:00Z', why: 'noon, across spring-forward' },
  { spec: 'weekly', tz: 'America/New_York', from: '2027-10-25T00:00:00Z', why: 'Saturday noon, across fall-back' },
  { spec: 'monthly', tz: 'Europe/Berlin', from: '2027-01-01T00:00:00Z', why: 'first Saturday = Sat + day 1..7' },
  { spec: 'biweekly', tz: 'Europe/Berlin', from: '2026-12-01T00:00:00Z', why: 'even ISO weeks over New Year 2027 (W53 year 2026)' },
  { spec: 'biweekly', tz: 'America/New_York', from: '2032-12-01T00:00:00Z', why: 'even ISO weeks over the 53-week year 2032' },
  { spec: '0 3 1,15,31 * *', tz: 'Europe/Berlin', from: '2027-02-20T00:00:00Z', why: 'a day February lacks' },
  { spec: '0 4 1-31/10 * *', tz: 'UTC', from: '2027-02-20T00:00:00Z', why: 'stepped day range' },
  { spec: '30 2 * * *', tz: 'Europe/Berlin', from: '2027-03-26T00:00:00Z', why: 'in the spring-forward gap: skipped' },
  { spec: '30 2 * * *', tz: 'Europe/Berlin', from: '2027-10-29T00:00:00Z', why: 'in the fall-back overlap: once, first' },
  { spec: '30 * * * *', tz: 'Europe/Berlin', from: '2027-03-27T22:00:00Z', why: 'hourly through the gap' },
  { spec: '30 * * * *', tz: 'Europe/Berlin', from: '2027-10-30T22:00:00Z', why: 'hourly through the overlap' },
  { spec: '30 2 * * *', tz: 'America/New_York', from: '2027-03-12T00:00:00Z', why: 'New York gap' },
  { spec: '30 1 * * *', tz: 'America/New_York', from: '2027-11-05T00:00:00Z', why: 'New York overlap' },
  { spec: '15 1 * * 0', tz: 'America/New_York', from: '2027-11-07T05:20:00Z', why: 'base between the two occurrences' },
  { spec: '0 12 13 * 5', tz: 'Europe/Berlin', from: '2027-01-01T00:00:00Z', why: 'day-of-month OR day-of-week: two OnCalendar lines' },
  { spec: '0 9 * 1,7 1-5', tz: 'UTC', from: '2027-06-25T00:00:00Z', why: 'months and weekday range' },
  { spec: '0 6 * * 0', tz: 'Europe/Berlin', from: '2027-05-01T00:00:00Z', why: 'Sunday' },
];

describe('nextRuns(…, systemd) = systemd-analyze calendar', () => {
  for (const c of CASES) {
    test(`${c.spec} in ${c.tz} from ${c.from}: ${c.why}`, (t) => {
      if (!requireAnalyze(t)) return;
      const s = sched(c.spec);
      const cal = onCalendarSpecs(s, c.tz);
      assert.ok('specs' in cal, JSON.stringify(cal));
      const n = 8;
      let real = systemdRuns(cal.specs, c.from, s.filter ? n * 3 : n);
      if (s.filter === 'even-iso-week') real = real.filter((iso) => passesFilter(s, new Date(wallOf(Date.parse(iso), c.tz))));
      real = real.slice(0, n);
      assert.equal(real.length, n);
      t.diagnostic(`${cal.specs.join(' | ')} → ${real.slice(0, 3).join(', ')} …`);
      assert.deepEqual(nextRuns(s, c.from, n, c.tz, 'systemd'), real);
    });
  }
});

describe('validate DST warning, systemd model', () => {
  test('says what systemd does in a gap and in an overlap', () => {
    const notes = scheduleDstNotes(sched('30 2 * * *'), 'Europe/Berlin', 'systemd');
    assert.equal(notes.length, 2);
    assert.match(notes[0]!, /does not exist in Europe\/Berlin.*the systemd timer skips that run/);
    assert.match(notes[1]!, /happens twice in Europe\/Berlin.*the systemd timer runs it once \(the first occurrence\)/);
  });
});

describe('rendered units: systemd-analyze verify', () => {
  const roots: string[] = [];
  after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });

  /** A scratch root with the rendered units and (unless not wanted) a stand-in /usr/bin/vmbackup: verify checks ExecStart='s program is executable. */
  async function unitsRoot(files: { path: string; content: string }[], withVmbackup = true): Promise<string> {
    const root = await scratchRoot(Object.fromEntries(files.map((f) => [f.path, f.content])), withVmbackup ? ['vmbackup'] : []);
    roots.push(root);
    return root;
  }

  test('every timer and service of the fixture fleet: exit 0, no warnings', async (t) => {
    if (!requireAnalyze(t)) return;
    const files = renderSystemd(makeDesired({ scheduler: 'systemd' }));
    assert.ok(files.length >= 8);
    const root = await unitsRoot(files);
    const r = run(['verify', `--root=${root}`, ...files.map((f) => f.path)]);
    t.diagnostic(`verify rc=${r.status} stderr=${JSON.stringify(r.stderr)}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('awkward paths and arguments (spaces, quotes, %, $, backslash) still verify', async (t) => {
    if (!requireAnalyze(t)) return;
    const d = makeDesired({ scheduler: 'systemd' });
    d.settings.storageRoot = '/mnt/back up/50% "x"';
    d.settings.cron.repoPath = '/srv/policy $HOME\\repo';
    const files = renderSystemd(d);
    const root = await unitsRoot(files);
    const r = run(['verify', `--root=${root}`, ...files.map((f) => f.path)]);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
  });

  test('the harness catches a missing binary', async (t) => {
    if (!requireAnalyze(t)) return;
    const files = renderSystemd(makeDesired({ scheduler: 'systemd' })).filter((f) => f.path.endsWith('.service')).slice(0, 1);
    const root = await unitsRoot(files, false);
    const r = run(['verify', `--root=${root}`, files[0]!.path]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\/usr\/bin\/vmbackup is not executable/);
  });
});
