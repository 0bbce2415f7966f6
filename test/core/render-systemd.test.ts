import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { renderSystemd } from '../../src/core/render-systemd.js';
import { onCalendarSpecs } from '../../src/core/systemd-calendar.js';
import { systemdCommand, systemdText, systemdWord } from '../../src/core/systemd-syntax.js';
import { scheduleDue } from '../../src/core/schedule-due.js';
import { makeDesired, PROJECT_ROOT, sched } from '../fixtures/desired.js';

describe('systemdWord / systemdCommand', () => {
  it('leaves plain words bare and quotes the rest for systemd, never for a shell', () => {
    assert.equal(systemdWord('/var/lib/vmbackup'), '/var/lib/vmbackup');
    assert.equal(systemdWord('--state-dir'), '--state-dir');
    assert.equal(systemdWord('a b'), '"a b"');
    assert.equal(systemdWord('say "hi"'), '"say \\"hi\\""');
    assert.equal(systemdWord("it's"), '"it\'s"');
    assert.equal(systemdWord('50%'), '50%%');
    assert.equal(systemdWord('%h x'), '"%%h x"');
    assert.equal(systemdWord('$HOME'), '"$$HOME"');
    assert.equal(systemdWord('${X}'), '"$${X}"');
    assert.equal(systemdWord('a\\b'), '"a\\\\b"');
    assert.equal(systemdWord('end\\'), '"end\\\\"');
    assert.equal(systemdWord(''), '""');
    assert.equal(systemdWord(';'), '\\;');
    assert.equal(systemdWord('a;b'), '"a;b"');
  });
  it('refuses control characters (no value can start a new line or key)', () => {
    for (const bad of ['a\nExecStartPre=/bin/evil', 'a\rb', 'tab\there', 'nul\u0000', 'ls\u2028']) {
      assert.throws(() => systemdWord(bad), /control character/);
      assert.throws(() => systemdText(bad), /control character/);
    }
  });
  it('needs an absolute program path', () => {
    assert.equal(systemdCommand(['/usr/bin/vmbackup', 'backup', 'a b']), '/usr/bin/vmbackup backup "a b"');
    assert.throws(() => systemdCommand(['vmbackup']), /absolute/);
    assert.throws(() => systemdCommand(['-/usr/bin/x']), /absolute/);
    assert.throws(() => systemdCommand([]), /absolute/);
  });
  it('Description: % doubled, $ left alone (not expanded there)', () => {
    assert.equal(systemdText('50% $x'), '50%% $x');
  });
});

describe('onCalendarSpecs', () => {
  const on = (spec: string, tz = 'Europe/Berlin') => {
    const r = onCalendarSpecs(sched(spec), tz);
    assert.ok('specs' in r, JSON.stringify(r));
    return r.specs;
  };
  it('words', () => {
    assert.deepEqual(on('daily'), ['*-*-* 12:00:00 Europe/Berlin']);
    assert.deepEqual(on('weekly'), ['Sat *-*-* 12:00:00 Europe/Berlin']);
    assert.deepEqual(on('biweekly'), ['Sat *-*-* 12:00:00 Europe/Berlin']);
    assert.deepEqual(on('monthly'), ['Sat *-*-01..07 12:00:00 Europe/Berlin']);
  });
  it('cron fields, Monday-first weekday ranges, OR of day-of-month and day-of-week', () => {
    assert.deepEqual(on('30 1 * * 1-5', 'UTC'), ['Mon..Fri *-*-* 01:30:00 UTC']);
    assert.deepEqual(on('0 6 * * 0,1,2', 'UTC'), ['Mon,Tue,Sun *-*-* 06:00:00 UTC']);
    assert.deepEqual(on('*/15 */6 1,15,31 1-3 *', 'UTC'), ['*-01..03-01,15,31 00,06,12,18:00,15,30,45:00 UTC']);
    assert.deepEqual(on('0 12 13 * 5', 'UTC'), ['*-*-13 12:00:00 UTC', 'Fri *-*-* 12:00:00 UTC']);
    assert.deepEqual(on('0 12 * * 0,7', 'UTC'), ['Sun *-*-* 12:00:00 UTC']);
  });
});

describe('renderSystemd', () => {
  const files = renderSystemd(makeDesired({ scheduler: 'systemd' }));
  const get = (p: string) => files.find((f) => f.path === p)!.content;
  it('one .timer and one .service per distinct schedule, bare 0644 file names, sorted', () => {
    assert.deepEqual(files.map((f) => f.path), [...files.map((f) => f.path)].sort());
    for (const f of files) { assert.equal(f.mode, 0o644); assert.doesNotMatch(f.path, /\//); }
    const slugs = files.map((f) => f.path.replace(/^vmbackup-(.*)\.(timer|service)$/, '$1'));
    for (const s of new Set(slugs)) assert.equal(slugs.filter((x) => x === s).length, 2, s);
  });
  it('timer: OnCalendar in the zone, Persistent=true, Unit=', () => {
    const t = get('vmbackup-weekly.timer');
    assert.match(t, /^OnCalendar=Sat \*-\*-\* 12:00:00 Europe\/Berlin$/m);
    assert.match(t, /^Persistent=true$/m);
    assert.match(t, /^Unit=vmbackup-weekly\.service$/m);
  });
  it('service: the cron argv with --repo and --state-dir, as vmbackup; ExecCondition only for even ISO weeks', () => {
    const s = get('vmbackup-weekly.service');
    assert.match(s, /^ExecStart=\/usr\/bin\/vmbackup backup --schedule weekly --repo \/var\/lib\/vmbackup\/repo --state-dir \/var\/lib\/vmbackup$/m);
    assert.match(s, /^Type=oneshot$/m);
    assert.match(s, /^User=vmbackup$/m);
    assert.match(s, /^ProtectSystem=strict$/m);
    assert.match(s, /^ReadWritePaths=\/var\/lib\/vmbackup -\/mnt\/backup /m);
    assert.doesNotMatch(s, /ExecCondition/);
    assert.match(get('vmbackup-biweekly.service'), /^ExecCondition=\/usr\/bin\/vmbackup schedule due --time-zone Europe\/Berlin -- biweekly$/m);
    assert.doesNotMatch(get('vmbackup-monthly.service'), /ExecCondition/);
  });
  it('refuses values that would break a unit file', () => {
    const d = makeDesired({ scheduler: 'systemd' });
    d.settings.storageRoot = '/mnt/x\nExecStartPre=/bin/evil';
    assert.throws(() => renderSystemd(d), /control character/);
    const e = makeDesired({ scheduler: 'systemd' });
    e.settings.timeZone = 'UTC\nx';
    assert.throws(() => renderSystemd(e), /time zone/);
    const f = makeDesired({ scheduler: 'systemd' });
    f.settings.cron.command = 'vmbackup';
    assert.throws(() => renderSystemd(f), /absolute/);
  });
  it('golden files (test/golden/scheduler-systemd)', () => {
    const dir = join(PROJECT_ROOT, 'test', 'golden', 'scheduler-systemd');
    for (const f of files) {
      const path = join(dir, f.path);
      if (process.env.UPDATE_GOLDEN === '1') { mkdirSync(dir, { recursive: true }); writeFileSync(path, f.content); continue; }
      assert.equal(f.content, readFileSync(path, 'utf8'), `${path} differs: review, then UPDATE_GOLDEN=1 to accept`);
    }
  });
});

describe('scheduleDue (ExecCondition of biweekly)', () => {
  const at = (iso: string) => Date.parse(iso);
  it('judges the latest run at or before now, in the zone', () => {
    // 2027-01-16 is a Saturday in ISO week 2 (even); 2027-01-23 in week 3.
    assert.equal((scheduleDue('biweekly', at('2027-01-16T11:00:05Z'), 'Europe/Berlin') as { due: boolean }).due, true);
    assert.equal((scheduleDue('biweekly', at('2027-01-23T11:00:05Z'), 'Europe/Berlin') as { due: boolean }).due, false);
    // A Persistent=true catch-up on Monday 2027-01-18 (week 3) is judged by Saturday's week 2.
    const r = scheduleDue('biweekly', at('2027-01-18T07:00:00Z'), 'Europe/Berlin');
    assert.deepEqual(r && 'due' in r ? [r.due, r.run] : r, [true, '2027-01-16 12:00']);
    // Unfiltered schedules are always due; a bad spec is an error.
    assert.equal((scheduleDue('weekly', at('2027-01-23T11:00:05Z'), 'UTC') as { due: boolean }).due, true);
    assert.ok('error' in scheduleDue('fortnightly', 0, 'UTC'));
  });
});
