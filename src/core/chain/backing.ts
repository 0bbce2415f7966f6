// The one backing file vmbackup accepts: an incremental image's recorded parent image, named
// `../<parent_backup_id>/<file>` where <file> is the same disk's image in the parent's manifest.
import type { Manifest, ManifestFile } from '../manifest.js';

type Files = Pick<Manifest, 'backup_id' | 'files'> & Partial<Pick<Manifest, 'kind' | 'parent_backup_id'>>;

/** The backing reference an incremental's image of `target` must carry, if the parent has that disk. */
export function expectedBacking(parent: Files, target: string): string | undefined {
  const f = parent.files.find((x: ManifestFile) => x.target === target && x.kind === undefined);
  return f === undefined ? undefined : `../${parent.backup_id}/${f.path}`;
}

/**
 * Why a point's images do not hang off its parent as recorded (empty when they do, or for a full):
 * the parent must be the one named, and each image's `backing` exactly the parent's image of that disk.
 * `actual` (optional): the backing file qemu-img reports per image path, to compare with the manifest.
 */
export function backingProblems(point: Files, parent: Files | undefined, actual?: ReadonlyMap<string, string | undefined>): string[] {
  const images = point.files.filter((f) => f.target !== undefined && f.kind === undefined);
  if (point.kind !== 'incremental') {
    return images.filter((f) => f.backing !== undefined || (actual?.get(f.path) ?? undefined) !== undefined).map((f) => `${f.path}: a full point's image has a backing file`);
  }
  if (parent === undefined || parent.backup_id !== point.parent_backup_id) return [`parent ${String(point.parent_backup_id)} of ${point.backup_id} is not on storage`];
  const problems: string[] = [];
  for (const f of images) {
    const want = expectedBacking(parent, f.target!);
    if (want === undefined) { problems.push(`${f.path}: the parent ${parent.backup_id} has no image of disk ${f.target}`); continue; }
    if (f.backing !== want) problems.push(`${f.path}: backing ${JSON.stringify(f.backing)} is not the parent's image ${want}`);
    if (actual !== undefined && actual.get(f.path) !== want) problems.push(`${f.path}: the image's backing file ${JSON.stringify(actual.get(f.path))} is not ${want}`);
  }
  return problems;
}
