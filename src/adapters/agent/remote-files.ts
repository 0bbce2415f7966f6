// The installer's file operations on a hypervisor, over the Transport (argv only, `--` before
// paths where the program takes it). Deployed content is untrusted: lstat first (never follow a
// symlink), read with O_NOFOLLOW and a size limit, write `<path>.vmbackup-new` (O_EXCL) and rename.
import { posix } from 'node:path';
import type { Transport } from '../transport/transport.js';
import { hostPath, kindOf } from '../../core/host-path.js';
import { MANIFEST_NAME, type DesiredItem } from '../../core/agent/desired.js';
import type { Observed } from '../../core/agent/plan.js';

/** Deployed config files and manifests larger than this are not read (shown as "too large"). */
export const READ_LIMIT = 4 * 1024 * 1024;
const T = { timeoutMs: 60_000 };
const NEW = '.vmbackup-new';
const OLD = '.vmbackup-old';

interface Stat { kind: string; size: number; mode: number; owner: string }

async function lstat(t: Transport, p: string): Promise<Stat | undefined> {
  const r = await t.run(['stat', '-c', '%f:%s:%U:%G', '--', hostPath(p)], { ...T, allowFailure: true });
  if (r.exitCode !== 0) {
    if (/No such file or directory/.test(r.stderr)) return undefined;
    throw new Error(`${t.host}: cannot stat ${p}: ${r.stderr.trim().split('\n').at(-1) ?? `exit ${r.exitCode}`}`);
  }
  const m = /^([0-9a-f]+):(\d+):([^:\n]*):([^:\n]*)\n?$/.exec(r.stdout);
  if (!m) throw new Error(`${t.host}: unexpected stat output for ${p}`);
  const raw = parseInt(m[1]!, 16);
  return { kind: kindOf(raw), size: Number(m[2]), mode: raw & 0o7777, owner: `${m[3]}:${m[4]}` };
}

/** At most READ_LIMIT bytes of a regular file, opened with O_NOFOLLOW; undefined when larger. */
async function readLimited(t: Transport, p: string): Promise<string | undefined> {
  const r = await t.run(['dd', `if=${hostPath(p)}`, 'iflag=nofollow,count_bytes', `count=${READ_LIMIT + 1}`, 'bs=64K', 'status=none'], T);
  return Buffer.byteLength(r.stdout) > READ_LIMIT ? undefined : r.stdout;
}

export async function observe(t: Transport, item: DesiredItem): Promise<Observed> {
  const parent = posix.dirname(hostPath(item.path));
  if ((await lstat(t, parent))?.kind === 'symbolic link') return { kind: 'symlink', at: parent };
  const s = await lstat(t, item.path);
  if (!s) return { kind: 'absent' };
  if (s.kind === 'symbolic link') return { kind: 'symlink' };
  if (s.kind === 'directory') {
    if (item.kind !== 'tree') return { kind: 'dir', mode: s.mode, owner: s.owner };
    const mp = `${item.path}/${MANIFEST_NAME}`;
    const m = await lstat(t, mp);
    const manifest = m?.kind === 'regular file' ? await readLimited(t, mp) : null;
    return { kind: 'dir', mode: s.mode, owner: s.owner, manifest };
  }
  if (s.kind === 'regular file') return { kind: 'file', mode: s.mode, owner: s.owner, ...(s.size <= READ_LIMIT && item.kind === 'file' ? { content: await readLimited(t, item.path) } : {}) };
  return { kind: 'other', type: s.kind };
}

async function writeNew(t: Transport, path: string, content: string | Uint8Array, mode: number, owner: string): Promise<string> {
  const tmp = hostPath(path + NEW);
  await t.run(['mkdir', '-p', '--', posix.dirname(hostPath(path))], T);
  await t.run(['rm', '-f', '--', tmp], T);
  // conv=excl: O_CREAT|O_EXCL, so nothing planted at the temporary name between rm and dd is written through.
  await t.run(['dd', `of=${tmp}`, 'oflag=nofollow', 'conv=excl,fsync', 'bs=64K', 'status=none'], { ...T, input: content });
  await t.run(['chown', owner, '--', tmp], T);
  await t.run(['chmod', (mode & 0o7777).toString(8).padStart(4, '0'), '--', tmp], T);
  return tmp;
}

/** Replaces `path` in one rename (a symlink at `path` was refused by the plan; rename would replace the link, never its target). */
export async function writeFileAtomic(t: Transport, path: string, content: string, mode: number, owner: string): Promise<void> {
  const tmp = await writeNew(t, path, content, mode, owner);
  await t.run(['mv', '-f', '-T', '--', tmp, hostPath(path)], T);
}

export async function ensureDir(t: Transport, path: string, mode: number, owner: string): Promise<void> {
  await t.run(['mkdir', '-p', '--', hostPath(path)], T);
  await t.run(['chown', owner, '--', path], T);
  await t.run(['chmod', (mode & 0o7777).toString(8).padStart(4, '0'), '--', path], T);
}

/** Unpacks the program tarball into `<dir>.vmbackup-new`, writes its manifest last, then swaps it in. */
export async function installTree(t: Transport, dir: string, tarGz: Uint8Array, manifest: string, owner: string): Promise<void> {
  const fresh = hostPath(dir + NEW);
  const old = hostPath(dir + OLD);
  await t.run(['rm', '-rf', '--one-file-system', '--', fresh, old], { timeoutMs: 300_000 });
  await t.run(['mkdir', '-p', '--', fresh], T);
  await t.run(['tar', '-x', '-z', '-f', '-', '--no-same-owner', '--no-overwrite-dir', '-C', fresh], { timeoutMs: 600_000, input: tarGz });
  await t.run(['chown', '-R', '-P', owner, '--', fresh], { timeoutMs: 300_000 });
  await t.run(['chmod', '0755', '--', fresh], T);
  await writeFileAtomic(t, `${fresh}/${MANIFEST_NAME}`, manifest, 0o644, owner);
  const had = await lstat(t, dir);
  if (had) await t.run(['mv', '-T', '--', hostPath(dir), old], T);
  await t.run(['mv', '-T', '--', fresh, hostPath(dir)], T);
  if (had) await t.run(['rm', '-rf', '--one-file-system', '--', old], { timeoutMs: 300_000 });
}
