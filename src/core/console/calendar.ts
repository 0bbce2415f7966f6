// The web fleet's 30-day calendar: one cell per day, oldest first, with the outcome mapping and day
// labels of status/README.md's calendar (core/status-readme.ts), so both views always agree.
import type { DayOutcome, VmStatus } from '../status-model.js';
import { CALENDAR_ICON } from '../status-readme.js';
import { dayLabel, dayWindow, localDay } from '../status-format.js';

export interface CalendarCell {
  day: string;
  /** Column label as in the README (`Dec 3`, then day numbers). */
  label: string;
  outcome: DayOutcome;
  /** The README's icon for the outcome (the cell's text for screen readers and copy/paste). */
  icon: string;
  /** CSS class: cal-ok (green), cal-failed (red), cal-warning (yellow), cal-none. */
  cls: string;
  title: string;
}

const WORDS: Record<DayOutcome, string> = { ok: 'backup succeeded', failed: 'backup failed', warning: 'succeeded with warnings', none: 'no backup' };

/** The `days` days ending today (in `timeZone`), each with the VM's outcome that day. */
export function calendarCells(history: VmStatus['history'], now: string, timeZone: string, days = 30): CalendarCell[] {
  const byDay = new Map(history.map((h) => [h.day, h.outcome]));
  return dayWindow(localDay(now, timeZone), days).map((day, i) => {
    const outcome = byDay.get(day) ?? 'none';
    return { day, label: dayLabel(day, i === 0), outcome, icon: CALENDAR_ICON[outcome], cls: `cal-${outcome}`, title: `${day}: ${WORDS[outcome]}` };
  });
}

/** The header row: the same labels, for the fleet table's day columns. */
export function calendarHeader(now: string, timeZone: string, days = 30): { day: string; label: string }[] {
  return dayWindow(localDay(now, timeZone), days).map((day, i) => ({ day, label: dayLabel(day, i === 0) }));
}
