// Handlebars helpers for notification templates. JSON templates build every string with a helper
// that returns a complete JSON literal, so no value can break the JSON (templates run noEscape).
//
//   {{json x}}                 any value as JSON
//   {{plain x 150}}            plain_text string, truncated (Slack header limit 150)
//   {{mrkdwn x 3000}}          Slack mrkdwn string, & < > escaped, truncated
//   {{code x 2900 "Title"}}    Slack mrkdwn code block, under an optional bold title
//   {{bullets title lines}}    `*title*` then one `• line` per line, as a mrkdwn string
//   {{fieldSections fields}}   section blocks of ≤10 `*label*\nvalue` fields, comma-separated
import Handlebars from 'handlebars';
import { truncate } from '../../core/notify-format.js';
import type { NotifyField } from '../../core/notify-view.js';

export const notifyHandlebars = Handlebars.create();

const SLACK_TEXT_MAX = 3000;
const SLACK_FIELD_MAX = 2000;
const SLACK_FIELDS_PER_SECTION = 10;

/** Slack's three control characters in mrkdwn (https://api.slack.com/reference/surfaces/formatting#escaping). */
export function slackEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Handlebars passes its options object last; the rest are the template's arguments. */
function params(a: unknown[]): unknown[] {
  return a.slice(0, -1);
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function limit(v: unknown, dflt: number): number {
  return typeof v === 'number' && v > 0 ? v : dflt;
}

notifyHandlebars.registerHelper('json', (...a: unknown[]) => JSON.stringify(params(a)[0] ?? null));

notifyHandlebars.registerHelper('plain', (...a: unknown[]) => {
  const [v, max] = params(a);
  return JSON.stringify(truncate(text(v), limit(max, 150)));
});

notifyHandlebars.registerHelper('mrkdwn', (...a: unknown[]) => {
  const [v, max] = params(a);
  return JSON.stringify(truncate(slackEscape(text(v)), limit(max, SLACK_TEXT_MAX)));
});

notifyHandlebars.registerHelper('code', (...a: unknown[]) => {
  const [v, max, title] = params(a);
  const body = slackEscape(text(v)).replace(/```/g, "'''");
  const head = typeof title === 'string' && title ? `*${slackEscape(title)}*\n` : '';
  return JSON.stringify(`${head}\`\`\`${truncate(body, limit(max, SLACK_TEXT_MAX - 200))}\`\`\``);
});

notifyHandlebars.registerHelper('bullets', (...a: unknown[]) => {
  const [title, lines] = params(a);
  const items = Array.isArray(lines) ? lines.map((l) => `• ${slackEscape(text(l))}`) : [];
  return JSON.stringify(truncate([`*${slackEscape(text(title))}*`, ...items].join('\n'), SLACK_TEXT_MAX));
});

notifyHandlebars.registerHelper('fieldSections', (...a: unknown[]) => {
  const [fields] = params(a);
  const list = (Array.isArray(fields) ? fields : []) as NotifyField[];
  if (list.length === 0) return JSON.stringify({ type: 'divider' });
  const sections: string[] = [];
  for (let i = 0; i < list.length; i += SLACK_FIELDS_PER_SECTION) {
    const chunk = list.slice(i, i + SLACK_FIELDS_PER_SECTION).map((f) => ({
      type: 'mrkdwn', text: truncate(`*${slackEscape(text(f.label))}*\n${slackEscape(text(f.value))}`, SLACK_FIELD_MAX),
    }));
    sections.push(JSON.stringify({ type: 'section', fields: chunk }));
  }
  return sections.join(',');
});
