// The console's API tokens file, parsed: one `<name> <role> sha256:<hex>` per line (the hash of
// the token, never the token). Pure: hashing and comparing happen in the adapter (console/auth.ts).
/** The same three roles as the console port (ports may import the core, not the other way). */
export type Role = 'viewer' | 'operator' | 'admin';

export interface TokenEntry { name: string; role: Role; /** lowercase hex sha256 of the token */ digest: string }

const ROLES: ReadonlySet<string> = new Set(['viewer', 'operator', 'admin']);
/** A token name shows in audit lines as `api:<name>`: a short plain word. */
export const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$/;
/** Minted tokens: `vmb_` and 43 base64url characters (256 bits). */
export const TOKEN_PREFIX = 'vmb_';

export const isRole = (s: string): s is Role => ROLES.has(s);

/** The line to add to the tokens file for a minted token. */
export const tokenLine = (name: string, role: Role, digestHex: string): string => `${name} ${role} sha256:${digestHex}`;

/** Parses the file; blank lines and `#` comments are skipped; each bad line is an error in words (the file is then refused). */
export function parseTokenFile(text: string): { tokens: TokenEntry[]; errors: string[] } {
  const tokens: TokenEntry[] = [];
  const errors: string[] = [];
  const names = new Set<string>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const parts = line.split(/\s+/);
    const where = `line ${i + 1}`;
    if (parts.length !== 3) { errors.push(`${where}: expected "<name> <role> sha256:<hex>"`); return; }
    const [name, role, hash] = parts as [string, string, string];
    if (!TOKEN_NAME.test(name)) { errors.push(`${where}: token name ${JSON.stringify(name)} must be letters, digits, _ . @ - (at most 64)`); return; }
    if (!isRole(role)) { errors.push(`${where}: role ${JSON.stringify(role)} must be viewer, operator or admin`); return; }
    const m = /^sha256:([0-9a-fA-F]{64})$/.exec(hash);
    if (!m) { errors.push(`${where}: the hash must be sha256:<64 hex digits> (the token itself does not belong in this file)`); return; }
    if (names.has(name)) { errors.push(`${where}: token name ${name} appears twice`); return; }
    names.add(name);
    tokens.push({ name, role, digest: m[1]!.toLowerCase() });
  });
  return { tokens, errors };
}

/** The token in an `Authorization` header value: `Bearer <token>` (scheme case-insensitive), else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ ]+([\x21-\x7e]{1,512})$/i.exec(header.trim());
  return m?.[1];
}
