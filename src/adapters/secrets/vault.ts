// The one redaction point: every secret vmbackup fills in is resolved here, and the vault remembers
// it with the forms it takes in text (escaped, encoded, split) so scrub() can take them all out.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { baculaEscape } from '../../core/bacula-syntax.js';
import type { SecretRef } from '../../core/model.js';

export class SecretError extends Error {
  override readonly name = 'SecretError';
}

export type ReadSecretFile = (path: string) => string;

export const REDACTED = '[redacted]';
/** Forms shorter than this are not scrubbed (they would blank out ordinary words). */
export const MIN_SCRUB_LENGTH = 4;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CREDENTIAL_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.@-]*$/;
/** C0, DEL, C1 and the Unicode line/paragraph separators: none belongs in a password or URL. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const CONTROL_RUN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/;

/** `env SLACK_FAILURE_WEBHOOK` / `credential slack-digest-webhook`, for messages. */
export function describeSecret(ref: SecretRef): string {
  return 'env' in ref ? `env ${ref.env}` : `credential ${ref.credential}`;
}

const jsonInner = (s: string): string => JSON.stringify(s).slice(1, -1);

/** The texts a value may show up as: itself, Bacula/JSON/URL-escaped, a URL's path+query, its pieces between control characters. */
export function derivedForms(value: string): string[] {
  const forms = new Set<string>([value]);
  try { forms.add(baculaEscape(value)); } catch { forms.add(value.replace(/[\\"]/g, (c) => `\\${c}`)); }
  for (const f of [...forms]) { forms.add(jsonInner(f)); forms.add(jsonInner(jsonInner(f))); }
  forms.add(encodeURIComponent(value));
  try { forms.add(encodeURI(value)); } catch { /* lone surrogate */ }
  try {
    const u = new URL(value);
    const tail = u.pathname + u.search;
    if (tail.length > MIN_SCRUB_LENGTH) { forms.add(tail); forms.add(jsonInner(tail)); }
    if (u.password) forms.add(u.password);
  } catch { /* not a URL */ }
  for (const piece of value.split(CONTROL_RUN)) forms.add(piece);
  return [...forms].filter((f) => f.length >= MIN_SCRUB_LENGTH);
}

export class SecretVault {
  private readonly forms = new Set<string>();
  private pattern: RegExp | null | undefined;

  /** Bound, so it can be handed around as a plain function. */
  readonly scrub = (text: string): string => {
    if (!text || this.forms.size === 0) return text;
    this.pattern ??= this.build();
    return this.pattern ? text.replace(this.pattern, REDACTED) : text;
  };

  /** Remember a value (and its derived forms) that did not come through resolve(). */
  remember(value: string): void {
    let added = false;
    for (const f of derivedForms(value)) if (!this.forms.has(f)) { this.forms.add(f); added = true; }
    if (added) this.pattern = undefined;
  }

  /** How many texts are scrubbed (tests, diagnostics); never the texts. */
  get size(): number { return this.forms.size; }

  /**
   * The secret's value; remembered before it is returned. A credential file loses one trailing
   * newline and surrounding blanks. A value with a control character is refused (SecretError
   * naming the reference), and remembered all the same so no echo of it can leave the process.
   */
  resolve(ref: SecretRef, env: NodeJS.ProcessEnv = process.env, readFile: ReadSecretFile = (p) => readFileSync(p, 'utf8')): string {
    const v = this.read(ref, env, readFile);
    if (v === undefined) throw this.missing(ref, env);
    return v;
  }

  /** Like resolve, but a secret that is simply not there is undefined (a control character still throws). */
  lookup(env: NodeJS.ProcessEnv = process.env, readFile?: ReadSecretFile): (ref: SecretRef) => string | undefined {
    return (ref) => {
      try { return this.resolve(ref, env, readFile); } catch (e) {
        if (e instanceof SecretError && !/control character/.test(e.message)) return undefined;
        throw e;
      }
    };
  }

  private read(ref: SecretRef, env: NodeJS.ProcessEnv, readFile: ReadSecretFile): string | undefined {
    let v: string;
    if ('env' in ref) {
      if (!ENV_NAME.test(ref.env)) throw new SecretError(`secret env ${JSON.stringify(ref.env)}: not a valid environment variable name`);
      const raw = env[ref.env];
      if (raw === undefined) return undefined;
      v = raw;
    } else {
      const name = ref.credential;
      if (!CREDENTIAL_NAME.test(name) || name.includes('..')) {
        throw new SecretError(`secret credential ${JSON.stringify(name)}: not a valid credential name (letters, digits, _ . @ -)`);
      }
      const dir = env.CREDENTIALS_DIRECTORY;
      if (!dir) return undefined;
      let raw: string;
      try { raw = readFile(join(dir, name)); } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? 'read error';
        if (code === 'ENOENT') return undefined;
        throw new SecretError(`secret credential ${name}: cannot read $CREDENTIALS_DIRECTORY/${name} (${code})`);
      }
      v = raw.replace(/\r?\n$/, '').replace(/^ +| +$/g, '');
    }
    if (v.trim() === '') this.empty(ref);
    if (CONTROL.test(v)) {
      this.remember(v);
      throw new SecretError(`secret ${describeSecret(ref)}: the value contains a control character (newline, NUL, ESC, …); refused`);
    }
    this.remember(v);
    return v;
  }

  private empty(ref: SecretRef): never {
    throw new SecretError('env' in ref
      ? `secret env ${ref.env}: environment variable ${ref.env} is empty`
      : `secret credential ${ref.credential}: $CREDENTIALS_DIRECTORY/${ref.credential} is empty`);
  }

  private missing(ref: SecretRef, env: NodeJS.ProcessEnv): SecretError {
    if ('env' in ref) return new SecretError(`secret env ${ref.env}: environment variable ${ref.env} is not set`);
    const name = ref.credential;
    if (!env.CREDENTIALS_DIRECTORY) return new SecretError(`secret credential ${name}: $CREDENTIALS_DIRECTORY is not set (add LoadCredential=${name}:/path/to/file to the systemd unit)`);
    return new SecretError(`secret credential ${name}: cannot read $CREDENTIALS_DIRECTORY/${name} (ENOENT)`);
  }

  private build(): RegExp | null {
    const all = [...this.forms].sort((a, b) => b.length - a.length);
    if (!all.length) return null;
    return new RegExp(all.map((f) => f.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|'), 'g');
  }
}
