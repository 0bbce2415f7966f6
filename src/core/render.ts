// Pure rendering of the Bacula director config and the cron.d file from a DesiredState and
// handlebars template sources. No I/O: the shell reads templates (built-in templates/ overlaid
// by the policy repo's templates/) and writes the returned files.
//
// Output files (paths relative to the output dir):
//   bacula-dir.conf  the whole director config in ONE file. The jobs template (`baculaJobs`,
//                    templates/vmbackup-jobs.conf.hbs) is a handlebars partial, `{{> jobs}}`,
//                    expanded inline, so the file has no @include paths and
//                    `bacula-dir -t -c OUT/bacula-dir.conf` works wherever OUT is.
//                    Mode 0600: it holds secret placeholders.
//   vmbackup.cron    cron.d file of the control host, one line per distinct schedule of the VMs
//                    it backs up (those of `runs_on: control` hypervisors). Mode 0644.
//   vmbackup-<hv>.cron  one per `runs_on: hypervisor` hypervisor: its VMs, run there. Mode 0644.
//
// The scheduler that is not selected (settings.scheduler) renders inert: with `cron`, Bacula
// gets the jobs (for manual `run job=…`) but no Schedule resources; with `bacula`, the cron
// lines are commented out. Installing both files therefore never runs a backup twice.
//
// Template helpers (Handlebars runs with noEscape: there is no HTML escaping anywhere):
//   {{bstr x}}            Bacula double-quoted string, `\` and `"` escaped
//   {{bword x}}           bare Bacula token (addresses where quotes are rejected: DirAddress)
//   {{bcmd a b …}}        Bacula-quoted RunScript Command from argv (`%i`-style args stay job codes);
//                         an array argument adds its items (e.g. `hostArgs`, empty on the control host)
//   {{secret ref}}        `@@secret:env:NAME@@` placeholder for a SecretRef
//   {{sh a b …}}          /bin/sh command line for crontab (`%` written `\%`); arrays as for bcmd
//   {{comment x}}         text on one comment line
// Template data: see baculaView / cronView in render-view.ts; `desired` is the full DesiredState.
import Handlebars from 'handlebars';
import {
  baculaCommand, baculaQuote, baculaWord, commentText, cronCommand, hasSecretPlaceholder, secretPlaceholder,
} from './bacula-syntax.js';
import type { DesiredState, RenderedFile, SecretRef } from './model.js';
import { baculaView, cronView, hypervisorModeHosts } from './render-view.js';

export interface Templates {
  baculaDir: string;
  baculaJobs?: string;
  cron: string;
}

/** Accepted for the shell's convenience; the output has no absolute paths derived from it. */
export interface RenderOptions {
  outDir?: string;
}

export const BACULA_DIR_FILE = 'bacula-dir.conf';
export const CRON_FILE = 'vmbackup.cron';
/** The cron.d file a `runs_on: hypervisor` hypervisor installs. */
export const hypervisorCronFile = (hypervisor: string): string => `vmbackup-${hypervisor}.cron`;

const hb = Handlebars.create();

/** Handlebars passes its options object last; drop it. */
function args(list: unknown[]): unknown[] {
  return list.slice(0, -1);
}

function str(v: unknown, helper: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  throw new TypeError(`{{${helper}}}: expected a string or number, got ${v === undefined ? 'undefined' : JSON.stringify(v)}`);
}

hb.registerHelper('bstr', (...a: unknown[]) => baculaQuote(str(args(a)[0], 'bstr')));
hb.registerHelper('bword', (...a: unknown[]) => baculaWord(str(args(a)[0], 'bword')));
hb.registerHelper('bcmd', (...a: unknown[]) => baculaQuote(baculaCommand(args(a).flat().map((x) => str(x, 'bcmd')))));
hb.registerHelper('secret', (...a: unknown[]) => secretPlaceholder(args(a)[0] as SecretRef));
hb.registerHelper('sh', (...a: unknown[]) => cronCommand(args(a).flat().map((x) => str(x, 'sh'))));
hb.registerHelper('comment', (...a: unknown[]) => commentText(str(args(a)[0], 'comment')));

const compiled = new Map<string, Handlebars.TemplateDelegate>();

function compile(source: string): Handlebars.TemplateDelegate {
  let t = compiled.get(source);
  if (!t) {
    t = hb.compile(source, { noEscape: true, strict: true });
    if (compiled.size > 64) compiled.clear();
    compiled.set(source, t);
  }
  return t;
}

function file(path: string, content: string): RenderedFile {
  return { path, content, mode: hasSecretPlaceholder(content) ? 0o600 : 0o644 };
}

/** bacula-dir.conf, with the jobs partial expanded inline. */
export function renderBacula(d: DesiredState, t: Templates, _opts: RenderOptions = {}): RenderedFile[] {
  const view = baculaView(d);
  const partials: Record<string, Handlebars.TemplateDelegate> = {};
  if (t.baculaJobs !== undefined) partials.jobs = compile(t.baculaJobs);
  const content = compile(t.baculaDir)(view, { partials });
  return [file(BACULA_DIR_FILE, content)];
}

/** cron.d files: the control host's vmbackup.cron first, then one per hypervisor-mode hypervisor, by name. */
export function renderCron(d: DesiredState, t: Templates, _opts: RenderOptions = {}): RenderedFile[] {
  const tpl = compile(t.cron);
  return [
    file(CRON_FILE, tpl(cronView(d))),
    ...hypervisorModeHosts(d).map((h) => file(hypervisorCronFile(h.name), tpl(cronView(d, h.name)))),
  ];
}

/** Both, sorted by path. */
export function renderAll(d: DesiredState, t: Templates, opts: RenderOptions = {}): RenderedFile[] {
  return [...renderBacula(d, t, opts), ...renderCron(d, t, opts)].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
