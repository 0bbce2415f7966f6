// Pauses live on the control host, but a `runs_on: hypervisor` host's scheduled job runs on the host:
// each publish writes the pauses in force for its VMs to <state_dir>/pauses.json there (constant
// script, content on stdin, temp file + rename: a planted symlink is replaced, never followed), and
// vmbackup on the host reads it back as untrusted input (regular file, size cap, strict parse).
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Pause } from '../../core/pause/pause.js';
import { parsePublishedPauses, publishedPausesText, type PublishedPause } from '../../core/pause/published.js';
import type { Transport } from '../transport/transport.js';

export const PAUSES_FILE = 'pauses.json';
/** A published pauses file larger than this is not read (ignored with a warning). */
export const PAUSES_READ_LIMIT = 1024 * 1024;

// $1: the state directory. mktemp creates exclusively (never an existing file or a symlink); mv -T
// renames over the name itself (a symlink there is replaced, a directory there is an error).
const WRITE = `set -eu
umask 022
d=$1
mkdir -p -- "$d"
tmp=$(mktemp -- "$d/.pauses.json.XXXXXXXXXX")
trap 'rm -f -- "$tmp"' EXIT
cat > "$tmp"
chmod 0644 -- "$tmp"
sync -- "$tmp"
mv -f -T -- "$tmp" "$d/${PAUSES_FILE}"
trap - EXIT
sync -- "$d"
`;

/** Writes `pauses` (`{}` when none) to <stateDir>/pauses.json on the host, atomically. */
export async function publishPauses(t: Transport, stateDir: string, pauses: Readonly<Record<string, PublishedPause>>): Promise<void> {
  // The same state_dir the revision goes to (policy: an absolute path); the script puts `--` before it everywhere.
  if (!stateDir.startsWith('/')) throw new Error(`${t.host}: state_dir ${JSON.stringify(stateDir)} is not an absolute path`);
  await t.run(['sh', '-c', WRITE, 'sh', stateDir], { input: publishedPausesText(pauses), timeoutMs: 30_000 });
}

/**
 * On the hypervisor itself: the pauses the control host published into `stateDir`. Missing: none.
 * Anything but a small regular file of the expected shape: none, and a warning (never a throw).
 */
export async function readPublishedPauses(stateDir: string): Promise<{ pauses: Record<string, Pause>; warning?: string }> {
  const path = join(stateDir, PAUSES_FILE);
  const ignored = (why: string) => ({ pauses: {}, warning: `${path} ignored (${why}): the control host's pauses do not hold this run` });
  let fh;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { pauses: {} };
    return ignored(code === 'ELOOP' ? 'a symbolic link, not a regular file' : `cannot open: ${code ?? (e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) return ignored('not a regular file');
    if (st.size > PAUSES_READ_LIMIT) return ignored(`larger than ${PAUSES_READ_LIMIT} bytes`);
    const buf = Buffer.alloc(PAUSES_READ_LIMIT + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > PAUSES_READ_LIMIT) return ignored(`larger than ${PAUSES_READ_LIMIT} bytes`);
    const r = parsePublishedPauses(buf.subarray(0, bytesRead).toString('utf8'));
    return 'error' in r ? ignored(r.error) : { pauses: r.pauses };
  } catch (e) {
    return ignored(`cannot read: ${(e as Error).message}`);
  } finally {
    await fh.close();
  }
}
