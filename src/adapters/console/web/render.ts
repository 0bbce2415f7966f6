// Compiles templates/console/*.hbs once (partials: head, foot, calendar) and renders pages; serves
// the two static files (CSS, progress.js) from a fixed list, read once. Everything is escaped by
// handlebars' {{ }}; only the core's SVG charts (escaped there) go through {{{ }}}.
import Handlebars from 'handlebars';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const STATIC_FILES: Record<string, string> = { 'console.css': 'text/css; charset=utf-8', 'progress.js': 'text/javascript; charset=utf-8' };
const PARTIALS = ['head', 'foot', 'calendar'];

export interface Renderer {
  page: (name: string, ctx: Record<string, unknown>) => string;
  static: (name: string) => { body: string; type: string } | undefined;
}

/** `templatesDir` is the package's templates/ (or templates/console itself). */
export function consoleDir(templatesDir: string): string {
  return existsSync(join(templatesDir, 'console', 'head.hbs')) ? join(templatesDir, 'console') : templatesDir;
}

export function loadRenderer(templatesDir: string): Renderer {
  const dir = consoleDir(templatesDir);
  const hb = Handlebars.create();
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  for (const p of PARTIALS) hb.registerPartial(p, readFileSync(join(dir, `${p}.hbs`), 'utf8'));
  const pages = new Map<string, HandlebarsTemplateDelegate>();
  for (const f of readdirSync(dir)) {
    const name = f.replace(/\.hbs$/, '');
    if (f.endsWith('.hbs') && !PARTIALS.includes(name)) pages.set(name, hb.compile(readFileSync(join(dir, f), 'utf8'), { strict: false }));
  }
  const statics = new Map<string, { body: string; type: string }>();
  for (const [f, type] of Object.entries(STATIC_FILES)) statics.set(f, { body: readFileSync(join(dir, 'static', f), 'utf8'), type });
  return {
    page: (name, ctx) => {
      const t = pages.get(name);
      if (!t) throw new Error(`console template ${name}.hbs is missing`);
      return t(ctx);
    },
    static: (name) => statics.get(name),
  };
}
