// Applies core/chain/backing-rule.ts to a point's images as they are on storage: first each
// image's qcow2 header, read here without following links (nothing it names is opened), then —
// for an incremental chain, only when every header passed — qemu-img's own view of the backing
// chain on the host that will read the images. Used by verify (so by restore and test-restore).
import { join } from 'node:path';
import { diskChains, headerProblems, qemuChainProblems } from '../core/chain/backing-rule.js';
import { parseQcow2Header, QCOW2_HEADER_READ } from '../core/chain/qcow2-header.js';
import type { StoredBackup } from '../adapters/storage/backup-store.js';
import { readHead } from '../adapters/storage/read-untrusted.js';
import { UnreachableError } from '../adapters/transport/transport.js';
import type { Host } from './hosts.js';

async function readHeader(path: string): Promise<ReturnType<typeof parseQcow2Header>> {
  return parseQcow2Header(await readHead(path, QCOW2_HEADER_READ));
}

/** Problems of the images of `chain` (oldest first, the point last); `warnings` gets what could not be checked. */
export async function chainImageProblems(chain: readonly StoredBackup[], where: { host: Host; vmDirOnHost: string }, warnings: string[]): Promise<string[]> {
  if (chain.some((b) => !b.manifest)) return ['a point of the chain has no readable manifest'];
  const { disks, problems } = diskChains(chain.map((b) => ({ ...b.manifest!, backup_id: b.id })));
  if (problems.length) return problems;
  const dirOf = new Map(chain.map((b) => [b.id, b.dir]));
  for (const links of disks.values()) {
    const headers: (Awaited<ReturnType<typeof readHeader>> | { problem: string; unread: true })[] = [];
    for (const l of links) headers.push(await readHeader(join(dirOf.get(l.backupId)!, l.file)).catch((e: Error) => ({ problem: `: header not read: ${e.message}`, unread: true })));
    // A full point's image that is not qcow2 or not readable is left to the checksums and the file checks
    // (restore's convert refuses it); for a full, nothing here is ever opened by qemu.
    if (links.length === 1 && 'problem' in headers[0]! && ('unread' in headers[0] || /bad magic/.test(headers[0].problem))) continue;
    problems.push(...headerProblems(links, headers));
  }
  if (problems.length || chain.length < 2) return problems;
  for (const links of disks.values()) {
    const top = links.at(-1)!;
    try {
      const info = await where.host.qemuImg.infoChainJson(`${where.vmDirOnHost}/${top.backupId}/${top.file}`);
      problems.push(...qemuChainProblems(links, where.vmDirOnHost, info));
    } catch (e) {
      if (!(e instanceof UnreachableError)) throw e;
      warnings.push(`${where.host.hv.name} is unreachable: the backing chain was checked on the image headers only`);
    }
  }
  return problems;
}
