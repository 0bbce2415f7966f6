import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Schedule } from '../../src/core/model.js';
import {
  baculaRunLines, cronEntryTimes, isoWeek, nextRuns, normalizeSchedule, scheduleSlug,
} from '../../src/core/schedule.js';
import { ok } from '../helpers/schedule.js';


const EVEN_WEEKS = 'w02 w04 w06 w08 w10 w12 w14 w16 w18 w20 w22 w24 w26 w28 w30 w32 w34 w36 w38 w40 w42 w44 w46 w48 w50 w52';

describe('schedule words', () => {
  const table: { word: string; cron: string; filter?: Schedule['filter']; bacula: string[]; guard?: string[] }[] = [
    { word: 'daily', cron: '0 12 * * *', bacula: ['daily at 12:00'] },
    { word: 'weekly', cron: '0 12 * * 6', bacula: ['sat at 12:00'] },
    {
      word: 'biweekly', cron: '0 12 * * 6', filter: 'even-iso-week',
      bacula: [`${EVEN_WEEKS} sat at 12:00`, 'w00 jan 1 sat at 12:00'],
      guard: ["date +\\%V | grep -q '[02468]$'"],
    },
    {
      word: 'monthly', cron: '0 12 * * 6', filter: 'first-week-of-month',
      bacula: ['1st sat at 12:00'], guard: ['[ "$(date +\\%d)" -le 7 ]'],
    },
  ];
  for (const t of table) {
    it(t.word, () => {
      const s = ok(t.word);
      assert.deepEqual(s, { spec: t.word, cron: t.cron, ...(t.filter ? { filter: t.filter } : {}) });
      assert.equal(scheduleSlug(s), t.word);
      assert.deepEqual(baculaRunLines(s), { lines: t.bacula });
      assert.deepEqual(cronEntryTimes(s), { cron: t.cron, ...(t.guard ? { guard: t.guard } : {}) });
    });
  }

  it('words are case-insensitive and trimmed; spec keeps what was written', () => {
    assert.deepEqual(ok(' Weekly '), { spec: ' Weekly ', cron: '0 12 * * 6' });
    assert.equal(scheduleSlug(ok('BIWEEKLY')), 'biweekly');
  });

  it('a cron expression equal to a word gets the word slug', () => {
    assert.equal(scheduleSlug(ok('0 12 * * sat')), 'weekly');
    assert.equal(scheduleSlug(ok('0 12 * * *')), 'daily');
  });
});

describe('normalizeSchedule: cron expressions', () => {
  const good: [string, string][] = [
    ['0 2 * * *', '0 2 * * *'],
    ['  30   1 * *   mon-fri ', '30 1 * * 1-5'],
    ['15 3 * JAN-Mar,dec Sun', '15 3 * 1-3,12 0'],
    ['*/15 1-3 1,15 * *', '*/15 1-3 1,15 * *'],
    ['0 2 1-31/2 * 1', '0 2 1-31/2 * 1'],
    ['5 4 * * 7', '5 4 * * 7'],
  ];
  for (const [spec, cron] of good) {
    it(`accepts ${JSON.stringify(spec)}`, () => assert.equal(ok(spec).cron, cron));
  }
  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['fortnightly', /5-field cron expression.*got 1 field/],
    ['0 0 12 * * 6', /got 6 fields/],
    ['@daily', /got 1 field/],
    ['0 12 L * *', /"L" is not allowed/],
    ['0 12 ? * 6', /not standard cron syntax/],
    ['0 12 * * 5#1', /not standard cron syntax/],
    ['0 12 1W * *', /"W" is not allowed/],
    ['0 12 * mon *', /"mon" is not allowed/],
    ['0 12 5/10 * *', /not standard cron syntax/],
    ['61 * * * *', /minute/i],
    ['0 24 * * *', /hour/i],
    ['0 12 */2 * 1', /read differently by cron implementations/],
  ];
  for (const [spec, re] of bad) {
    it(`rejects ${JSON.stringify(spec)}`, () => {
      const r = normalizeSchedule(spec);
      assert.ok('error' in r, `expected an error for ${spec}`);
      assert.match(r.error, re);
    });
  }
});

describe('nextRuns', () => {
  const table: { spec: string; from: string; tz: string; count?: number; want: string[] }[] = [
    { spec: 'weekly', from: '2026-12-20T00:00:00Z', tz: 'UTC', want: ['2026-12-26T12:00:00.000Z', '2027-01-02T12:00:00.000Z', '2027-01-09T12:00:00.000Z'] },
    { spec: 'weekly', from: '2026-12-20T00:00:00Z', tz: 'Europe/Berlin', want: ['2026-12-26T11:00:00.000Z', '2027-01-02T11:00:00.000Z', '2027-01-09T11:00:00.000Z'] },
    // 2026 has 53 ISO weeks: 26 Dec = W52 (run), 2 Jan = W53, 9 Jan = W01, 16 Jan = W02 (run).
    { spec: 'biweekly', from: '2026-12-20T00:00:00Z', tz: 'UTC', want: ['2026-12-26T12:00:00.000Z', '2027-01-16T12:00:00.000Z', '2027-01-30T12:00:00.000Z'] },
    { spec: 'biweekly', from: '2026-12-20T00:00:00Z', tz: 'Europe/Berlin', want: ['2026-12-26T11:00:00.000Z', '2027-01-16T11:00:00.000Z', '2027-01-30T11:00:00.000Z'] },
    // 2021 has 52: 25 Dec = W51, 1 Jan 2022 = W52 (run), 8 Jan = W01, 15 Jan = W02 (run).
    { spec: 'biweekly', from: '2021-12-20T00:00:00Z', tz: 'UTC', want: ['2022-01-01T12:00:00.000Z', '2022-01-15T12:00:00.000Z', '2022-01-29T12:00:00.000Z'] },
    { spec: 'monthly', from: '2026-12-20T00:00:00Z', tz: 'UTC', want: ['2027-01-02T12:00:00.000Z', '2027-02-06T12:00:00.000Z', '2027-03-06T12:00:00.000Z'] },
    { spec: 'monthly', from: '2026-12-20T00:00:00Z', tz: 'Europe/Berlin', want: ['2027-01-02T11:00:00.000Z', '2027-02-06T11:00:00.000Z', '2027-03-06T11:00:00.000Z'] },
    // Across the spring DST change: CET (UTC+1) then CEST (UTC+2).
    { spec: 'monthly', from: '2027-03-01T00:00:00Z', tz: 'Europe/Berlin', count: 2, want: ['2027-03-06T11:00:00.000Z', '2027-04-03T10:00:00.000Z'] },
    { spec: 'daily', from: '2026-12-31T12:00:00Z', tz: 'UTC', count: 2, want: ['2027-01-01T12:00:00.000Z', '2027-01-02T12:00:00.000Z'] },
    // Strictly after `from`.
    { spec: 'weekly', from: '2027-01-02T12:00:00Z', tz: 'UTC', count: 1, want: ['2027-01-09T12:00:00.000Z'] },
    { spec: '30 1 * * mon-fri', from: '2027-01-01T02:00:00+01:00', tz: 'Europe/Berlin', count: 2, want: ['2027-01-04T00:30:00.000Z', '2027-01-05T00:30:00.000Z'] },
    { spec: '0 0 30 2 *', from: '2027-01-01T00:00:00Z', tz: 'UTC', want: [] },
    { spec: 'weekly', from: '2027-01-01T00:00:00Z', tz: 'UTC', count: 0, want: [] },
  ];
  for (const t of table) {
    it(`${t.spec} from ${t.from} in ${t.tz}`, () => {
      assert.deepEqual(nextRuns(ok(t.spec), t.from, t.count ?? 3, t.tz), t.want);
    });
  }

  it('UTC (fixed-offset fast path) agrees with an equivalent IANA zone', () => {
    for (const spec of ['daily', 'biweekly', 'monthly', '30 1 * * mon-fri', '0 0,12 1-7 * *']) {
      assert.deepEqual(nextRuns(ok(spec), '2026-12-01T00:00:00Z', 60, 'UTC'), nextRuns(ok(spec), '2026-12-01T00:00:00Z', 60, 'Etc/GMT'), spec);
    }
  });

  it('throws on an invalid start time', () => {
    assert.throws(() => nextRuns(ok('weekly'), 'not a date', 1, 'UTC'), RangeError);
  });

  it('biweekly runs are exactly the Saturdays of even ISO weeks, 2020-2040', () => {
    const runs = nextRuns(ok('biweekly'), '2020-01-01T00:00:00Z', 600, 'UTC').filter((r) => r < '2041');
    const want: string[] = [];
    for (let t = Date.UTC(2020, 0, 4); t < Date.UTC(2041, 0, 1); t += 7 * 86_400_000) {
      const d = new Date(t);
      if (isoWeek(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate()) % 2 === 0) want.push(new Date(t + 12 * 3_600_000).toISOString());
    }
    assert.deepEqual(runs, want);
  });
});

describe('isoWeek', () => {
  for (const [date, week] of [['2021-01-01', 53], ['2022-01-01', 52], ['2026-12-31', 53], ['2027-01-02', 53], ['2027-01-04', 1], ['2025-12-29', 1], ['2026-06-15', 25]] as const) {
    it(`${date} is W${week}`, () => {
      const [y, m, d] = date.split('-').map(Number) as [number, number, number];
      assert.equal(isoWeek(y, m, d), week);
    });
  }
});

describe('baculaRunLines: cron conversion', () => {
  const table: [string, string[] | RegExp][] = [
    ['0 2 * * *', ['daily at 02:00']],
    ['30 1 * * mon-fri', ['mon-fri at 01:30']],
    ['0 3 * * 0,6', ['sun sat at 03:00']],
    ['0 3 * * 1,3,5', ['mon wed fri at 03:00']],
    ['0 3 * * 0-2,4-6', ['sun-tue thu-sat at 03:00']],
    ['0 2 1,15 * *', ['on 1 15 at 02:00']],
    ['0 2 1,2,20 * *', ['on 1 2 20 at 02:00']],
    ['0 2 1-7 * *', ['on 1-7 at 02:00']],
    ['45 23 31 * *', ['on 31 at 23:45']],
    ['0 0 1 1 *', ['jan 1 at 00:00']],
    ['15 3 * jan-mar,dec sun', ['jan-mar dec sun at 03:15']],
    ['0 4 * 6 *', ['jun at 04:00']],
    ['30 1,13 * * *', ['daily at 01:30', 'daily at 13:30']],
    ['0,30 6 * * 1', ['mon at 06:00', 'mon at 06:30']],
    ['0 */6 * * *', ['daily at 00:00', 'daily at 06:00', 'daily at 12:00', 'daily at 18:00']],
    ['0 2 1-31 * 1', ['daily at 02:00']], // cron ORs: day-of-month 1-31 matches every day
    ['0 2 * * 0-6', ['daily at 02:00']],
    ['0 * * * *', Array.from({ length: 24 }, (_, h) => `daily at ${String(h).padStart(2, '0')}:00`)],
    ['*/30 * * * *', /48 times a day/],
    ['*/5 2 * * *', Array.from({ length: 12 }, (_, i) => `daily at 02:${String(5 * i).padStart(2, '0')}`)],
    ['* 2 * * *', /60 times a day/],
    ['0 2 1,15 * mon', /day-of-month OR day-of-week/],
    ['0 2 1 * 1-5', /day-of-month OR day-of-week/],
  ];
  for (const [spec, want] of table) {
    it(`${spec} → ${want instanceof RegExp ? `error ${want}` : want.join(' | ')}`, () => {
      const r = baculaRunLines(ok(spec));
      if (want instanceof RegExp) {
        assert.ok('error' in r, `expected an error, got ${JSON.stringify(r)}`);
        assert.match(r.error, want);
      } else {
        assert.deepEqual(r, { lines: want });
      }
    });
  }

  it('filters on a custom cron: even ISO weeks adds the w00 January lines that cron would run', () => {
    assert.deepEqual(baculaRunLines({ spec: 'x', cron: '0 3 * * *', filter: 'even-iso-week' }), {
      lines: [`${EVEN_WEEKS} at 03:00`, 'w00 jan 1 sat at 03:00', 'w00 jan 1 2 sun at 03:00'],
    });
    assert.deepEqual(baculaRunLines({ spec: 'x', cron: '0 3 * 2 0', filter: 'even-iso-week' }), { lines: [`${EVEN_WEEKS} feb sun at 03:00`] });
    assert.deepEqual(baculaRunLines({ spec: 'x', cron: '0 3 * * 1-5', filter: 'first-week-of-month' }), { lines: ['1st mon-fri at 03:00'] });
  });

  it('hand-built schedules with non-standard syntax are errors, not throws', () => {
    const r = baculaRunLines({ spec: 'x', cron: '0 12 ? * 6' });
    assert.ok('error' in r);
  });
});

describe('scheduleSlug', () => {
  const table: [string, string][] = [
    ['0 2 * * 1-5', 'cron-0_2_x_x_1-5'],
    ['*/15 1-3 1,15 * *', 'cron-xs15_1-3_1.15_x_x'],
    ['30 1 * * MON-FRI', 'cron-30_1_x_x_1-5'],
  ];
  for (const [spec, slug] of table) {
    it(`${spec} → ${slug}`, () => assert.equal(scheduleSlug(ok(spec)), slug));
  }

  it('filters show in the slug; different schedules never share one', () => {
    const specs = ['daily', 'weekly', 'biweekly', 'monthly', '0 2 * * *', '0 2 * * 1', '0 2 */2 * *', '0 2 1-31/2 * *', '0,2 * * * *', '0 2 * * 1,2'];
    const slugs = specs.map((s) => scheduleSlug(ok(s)));
    assert.equal(new Set(slugs).size, slugs.length);
    for (const s of slugs) assert.match(s, /^[a-z0-9._-]{1,100}$/);
    assert.equal(scheduleSlug({ spec: 'x', cron: '0 3 * * *', filter: 'even-iso-week' }), 'cron-0_3_x_x_x-even-iso-week');
  });

  it('long expressions are shortened with a hash, still unique', () => {
    const a = ok(`0 ${Array.from({ length: 24 }, (_, i) => i).join(',')} 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 * *`);
    const b = ok(`0 ${Array.from({ length: 24 }, (_, i) => i).join(',')} 1,2,3,4,5,6,7,8,9,10,11,12,13,14,16 * *`);
    const [sa, sb] = [scheduleSlug(a), scheduleSlug(b)];
    assert.ok(sa.length <= 100 && sb.length <= 100);
    assert.notEqual(sa, sb);
    assert.match(sa, /^cron-[a-z0-9._-]+-[0-9a-f]{8}$/);
  });
});
