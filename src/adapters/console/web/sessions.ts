// Web sessions: a random id in an HttpOnly SameSite=Strict cookie maps to the principal and a
// per-session CSRF token, in memory, with an expiry and a cap. The API token is never kept.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../../../ports/console.js';

export const SESSION_COOKIE = 'vmb_session';
export const SESSION_TTL_MS = 12 * 3_600_000;
export const SESSION_CAP = 1000;

export interface Session { id: string; principal: Principal; csrf: string; expires: number }

export class SessionStore {
  private readonly map = new Map<string, Session>();
  constructor(private readonly clock: () => number = Date.now, private readonly ttlMs = SESSION_TTL_MS, private readonly cap = SESSION_CAP) {}

  create(principal: Principal): Session {
    this.sweep();
    while (this.map.size >= this.cap) this.map.delete(this.map.keys().next().value!); // oldest first (insertion order)
    const s: Session = { id: randomBytes(32).toString('base64url'), principal: { name: principal.name, role: principal.role }, csrf: randomBytes(24).toString('base64url'), expires: this.clock() + this.ttlMs };
    this.map.set(s.id, s);
    return s;
  }

  get(id: string | undefined): Session | undefined {
    if (!id) return undefined;
    const s = this.map.get(id);
    if (!s) return undefined;
    if (s.expires <= this.clock()) { this.map.delete(id); return undefined; }
    return s;
  }

  delete(id: string | undefined): void { if (id) this.map.delete(id); }

  /** Ends every session whose principal `keep` refuses (a token removed from the tokens file); returns how many. */
  retain(keep: (p: Principal) => boolean): number {
    let n = 0;
    for (const [id, s] of this.map) if (!keep(s.principal)) { this.map.delete(id); n++; }
    return n;
  }
  get size(): number { return this.map.size; }

  private sweep(): void {
    const now = this.clock();
    for (const [id, s] of this.map) if (s.expires <= now) this.map.delete(id);
  }
}

/** Constant-time comparison of the form's CSRF token with the session's. */
export function csrfOk(s: Session, sent: unknown): boolean {
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent), b = Buffer.from(s.csrf);
  return a.length === b.length && timingSafeEqual(a, b);
}
