// API token authentication: the tokens file (hashes only; a systemd credential `console-tokens`
// or --api-tokens FILE) is read at start and on SIGHUP, refused when world-readable or a symlink; a presented bearer
// token is hashed and compared to every entry with timingSafeEqual. A good token goes to the vault.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTokenFile, TOKEN_PREFIX, type TokenEntry } from '../../core/console/tokens.js';
import type { Principal } from '../../ports/console.js';
import { defaultVault } from '../secrets/default-vault.js';

export const TOKENS_CREDENTIAL = 'console-tokens';

export class TokenFileError extends Error { override readonly name = 'TokenFileError'; }

export const sha256Hex = (s: string): string => createHash('sha256').update(s, 'utf8').digest('hex');

/** A new token (shown once) and its digest for the tokens file. */
export function mintToken(): { token: string; digest: string } {
  const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  return { token, digest: sha256Hex(token) };
}

/** Where the tokens file is: the flag, else the systemd credential if present, else none (the API answers 401). */
export function tokensPath(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  if (flag) return flag;
  const dir = env.CREDENTIALS_DIRECTORY;
  if (!dir) return undefined;
  const p = join(dir, TOKENS_CREDENTIAL);
  try { lstatSync(p); return p; } catch { return undefined; }
}

/** Reads and checks the file: a regular file (not a symlink), not readable by others, every line well-formed. */
export function loadTokenFile(path: string): TokenEntry[] {
  let st;
  try { st = lstatSync(path); } catch (e) { throw new TokenFileError(`API tokens file ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`); }
  if (st.isSymbolicLink()) throw new TokenFileError(`API tokens file ${path} is a symlink; refused (point at the file itself)`);
  if (!st.isFile()) throw new TokenFileError(`API tokens file ${path} is not a regular file`);
  if (st.mode & 0o007) throw new TokenFileError(`API tokens file ${path} is readable or writable by others (mode ${(st.mode & 0o777).toString(8)}); chmod o= it`);
  const parsed = parseTokenFile(readFileSync(path, 'utf8'));
  if (parsed.errors.length) throw new TokenFileError(`API tokens file ${path}: ${parsed.errors.join('; ')}`);
  return parsed.tokens;
}

/** token → principal, or undefined. Every entry is compared (no early exit on a match). */
export function authenticator(entries: readonly TokenEntry[], vault: { remember(v: string): void } = defaultVault): (token: string) => Principal | undefined {
  const digests = entries.map((e) => ({ e, d: Buffer.from(e.digest, 'hex') }));
  const remembered = new Set<string>();
  return (token: string) => {
    if (!token || token.length > 512) return undefined;
    const hex = sha256Hex(token);
    const got = Buffer.from(hex, 'hex');
    let found: TokenEntry | undefined;
    for (const { e, d } of digests) if (timingSafeEqual(got, d) && !found) found = e;
    if (!found) return undefined;
    if (!remembered.has(hex)) { remembered.add(hex); vault.remember(token); }
    return { name: found.name, role: found.role };
  };
}
