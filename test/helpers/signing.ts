// SSH signing keys for tests of the signature gate: an allowed key ("ops"), another key, and a
// commit helper that signs with either or leaves the commit unsigned.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';

export interface SigningKeys { dir: string; ops: string; other: string; allowedSigners: string }

export async function makeSigningKeys(root: string): Promise<SigningKeys> {
  const dir = join(root, 'keys');
  await mkdir(dir, { recursive: true });
  for (const k of ['ops', 'other']) await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', k, '-f', join(dir, k)], { stdin: 'ignore' });
  const allowedSigners = join(dir, 'allowed_signers');
  await writeFile(allowedSigners, `test@example.invalid ${(await readFile(join(dir, 'ops.pub'), 'utf8')).trim()}\n`);
  return { dir, ops: join(dir, 'ops'), other: join(dir, 'other'), allowedSigners };
}

/** git arguments that sign the commit with `key` (none: unsigned). */
export const signArgs = (key?: string): string[] => (key ? ['-c', 'gpg.format=ssh', '-c', `user.signingkey=${key}`] : []);
export const signFlag = (key?: string): string[] => (key ? ['-S'] : []);
