// Notification templates: built-ins in vmbackup's templates/, overridden by a policy repo's own
// templates/<same name> (the rule render uses). A broken override falls back to the built-in.
import { readFile } from 'node:fs/promises';
import { readRepoFile, textOrThrow } from '../policy-files.js';
import type { Logger } from 'pino';
import type { NotifyKind, NotifyView } from '../../core/notify-view.js';
import { notifyHandlebars } from './template-helpers.js';

export const NOTIFY_TEMPLATES = {
  slackFailure: 'slack-failure.json.hbs',
  slackRecovery: 'slack-recovery.json.hbs',
  slackConfigAlert: 'slack-config-alert.json.hbs',
  slackDigest: 'slack-digest.json.hbs',
  slackStorage: 'slack-storage.json.hbs',
  emailSubject: 'email-subject.hbs',
  emailBody: 'email-body.hbs',
  webhook: 'webhook-event.json.hbs',
} as const;

export type NotifyTemplateName = (typeof NOTIFY_TEMPLATES)[keyof typeof NOTIFY_TEMPLATES];

/** The Slack template for a kind, or undefined for kinds Slack does not get (warning, success). */
export function slackTemplateFor(kind: NotifyKind): NotifyTemplateName | undefined {
  switch (kind) {
    case 'failure': return NOTIFY_TEMPLATES.slackFailure;
    case 'recovery': case 'config-recovered': return NOTIFY_TEMPLATES.slackRecovery;
    case 'config-alert': case 'prune-refused': return NOTIFY_TEMPLATES.slackConfigAlert;
    case 'digest': return NOTIFY_TEMPLATES.slackDigest;
    case 'storage': return NOTIFY_TEMPLATES.slackStorage;
    default: return undefined;
  }
}

const BUILTIN_DIR = new URL('../../../../templates/', import.meta.url);
const NAMES: readonly string[] = Object.values(NOTIFY_TEMPLATES);

async function readNamed(read: (name: string) => Promise<string>): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const name of NAMES) {
    try { m.set(name, await read(name)); } catch { /* not overridden / not shipped */ }
  }
  return m;
}

type Compiled = (view: NotifyView) => string;

export class NotifyTemplates {
  private readonly cache = new Map<string, Compiled>();

  constructor(private readonly builtin: ReadonlyMap<string, string>, private readonly overrides: ReadonlyMap<string, string> = new Map()) {}

  /** Names the repo overrides (for logs and `validate`). */
  get overridden(): string[] { return [...this.overrides.keys()].sort(); }

  /**
   * Renders `name` for `view`; `.json.hbs` output must parse as JSON and is returned compacted.
   * A failing override is logged and the built-in used instead; a failing built-in throws.
   */
  render(name: NotifyTemplateName, view: NotifyView, log?: Logger): string {
    const over = this.overrides.get(name);
    if (over !== undefined) {
      try { return this.run(`repo:${name}`, over, name, view); } catch (e) {
        log?.error({ template: name, err: (e as Error).message }, 'repo notification template failed; using the built-in');
      }
    }
    const src = this.builtin.get(name);
    if (src === undefined) throw new Error(`built-in notification template ${name} is missing: reinstall vmbackup`);
    return this.run(`builtin:${name}`, src, name, view);
  }

  private run(cacheKey: string, src: string, name: string, view: NotifyView): string {
    let fn = this.cache.get(cacheKey);
    if (!fn) {
      const t = notifyHandlebars.compile(src, { noEscape: true, strict: false });
      fn = (v) => t(v);
      this.cache.set(cacheKey, fn);
    }
    const out = fn(view);
    if (!name.endsWith('.json.hbs')) return out;
    try {
      return JSON.stringify(JSON.parse(out));
    } catch (e) {
      throw new Error(`${name} did not render valid JSON: ${(e as Error).message}`);
    }
  }
}

/** Built-ins overlaid with the repo's templates: from a checkout dir, or a name→source map (a git revision). */
export async function loadNotifyTemplates(repo?: string | ReadonlyMap<string, string>): Promise<NotifyTemplates> {
  const builtin = await readNamed((n) => readFile(new URL(n, BUILTIN_DIR), 'utf8'));
  let overrides: ReadonlyMap<string, string> = new Map();
  // Never follows a link (templates/ or the file itself): a refused override is left out (see readRepoFile).
  if (typeof repo === 'string') overrides = await readNamed(async (n) => textOrThrow(await readRepoFile(repo, `templates/${n}`)));
  else if (repo) overrides = new Map([...repo].filter(([n]) => NAMES.includes(n)));
  return new NotifyTemplates(builtin, overrides);
}
