// `vmbackup daemon token --name N --role R`: mints a console API token, prints it once with the
// line for the daemon's tokens file (only the hash goes there; the token is never stored).
import { mintToken } from '../adapters/console/auth.js';
import { isRole, TOKEN_NAME, tokenLine } from '../core/console/tokens.js';
import { EXIT } from './exit-codes.js';

export async function tokenAction(o: { name: string; role: string; json?: boolean }): Promise<void> {
  if (!TOKEN_NAME.test(o.name)) throw Object.assign(new Error(`--name ${JSON.stringify(o.name)}: letters, digits, _ . @ - (at most 64)`), { code: 'USAGE' });
  if (!isRole(o.role)) throw Object.assign(new Error(`--role ${JSON.stringify(o.role)}: viewer, operator or admin`), { code: 'USAGE' });
  const { token, digest } = mintToken();
  const line = tokenLine(o.name, o.role, digest);
  if (o.json) process.stdout.write(`${JSON.stringify({ name: o.name, role: o.role, token, line })}\n`);
  else process.stdout.write(`token (shown once; give it to ${o.name}): ${token}\nadd this line to the daemon's tokens file (systemd credential console-tokens, or --api-tokens FILE), then restart the daemon:\n${line}\n`);
  process.exitCode = EXIT.OK;
}
