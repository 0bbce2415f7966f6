// Where `verify` hashes a backup's files: on the hypervisor that wrote it (the VM's own, named in
// the backup's storage path) when that is an ssh host, so verifying moves no backup data through
// the control host; in this process when the hypervisor is local (the same machine) — and, with a
// warning, when the ssh hypervisor is unreachable or has no openssl. Storage rules are the same
// on both sides: no symlinks, only regular files, never more than the manifest size + 1 byte read.
import { relative, sep } from 'node:path';
import { backupDir } from '../core/backup-layout.js';
import { sha256Regular } from '../adapters/storage/read-untrusted.js';
import { remoteSha256 } from '../adapters/transport/remote-hash.js';
import { UnreachableError } from '../adapters/transport/transport.js';
import type { EngineContext } from './context.js';

export interface FileHash { sha256: string; bytes: number; truncatedRead: boolean }
export interface Hasher { where: string; hash(name: string, expectedBytes: number): Promise<FileHash>; warnings: string[] }

const local = (dir: string, warnings: string[] = []): Hasher => ({
  where: 'control host', warnings,
  hash: (name, expected) => sha256Regular(`${dir}/${name}`, expected),
});

/** The hasher for a backup directory `dir` as the control host sees it. */
export function hasherFor(ctx: EngineContext, dir: string, id: string): Hasher {
  const parts = relative(ctx.storage.root, dir).split(sep);
  const hv = parts.length === 3 && parts[2] === id ? ctx.desired.hypervisors.find((h) => h.name === parts[0]) : undefined;
  if (!hv || hv.transport !== 'ssh') return local(dir);
  const host = ctx.hosts.get(hv.name);
  const dirHv = backupDir(hv.storageRoot, hv.name, parts[1]!, id);
  const warnings: string[] = [];
  let fallback: Hasher | undefined;
  const timeoutMs = ctx.desired.settings.backup.copyTimeoutHours * 3_600_000;
  return {
    where: hv.name, warnings,
    async hash(name, expected) {
      if (fallback) return fallback.hash(name, expected);
      try {
        const h = await remoteSha256(host.transport, `${dirHv}/${name}`, { maxBytes: expected, timeoutMs });
        if (h.kind === 'ok') return { sha256: h.sha256, bytes: h.bytes, truncatedRead: false };
        if (h.kind === 'too-large') return { sha256: '', bytes: h.bytes, truncatedRead: true };
        warnings.push(`${hv.name} has no openssl: verified by reading the files on the control host`);
      } catch (e) {
        if (!(e instanceof UnreachableError)) throw e;
        warnings.push(`${hv.name} is unreachable (${e.message}): verified by reading the files on the control host`);
      }
      fallback = local(dir);
      return fallback.hash(name, expected);
    },
  };
}
