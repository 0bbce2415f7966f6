// The audit trail's copy in git (`<status>/audit/YYYY-MM.jsonl`) may only grow, like the file in the
// state dir: a copy that is not a byte prefix of the new text was edited (or the state file lost
// lines), and is kept as evidence rather than overwritten. Pure.

/** Where a state-dir month file (`2026-12.jsonl`) goes in the repository. */
export const auditStatusPath = (statusPath: string, fileName: string): string => `${statusPath}/audit/${fileName}`;

/** A month file's name: `YYYY-MM.jsonl`. */
export const AUDIT_FILE_RE = /^\d{4}-\d{2}\.jsonl$/;

/**
 * `same`: nothing to write; `write`: absent, or the repository's bytes are a prefix of `next`
 * (only appended to); `diverged`: anything else — keep the repository's copy and report it.
 */
export function appendOnlyCheck(repo: Uint8Array | undefined, next: Uint8Array): 'same' | 'write' | 'diverged' {
  if (!repo) return 'write';
  if (repo.length > next.length) return 'diverged';
  for (let i = 0; i < repo.length; i++) if (repo[i] !== next[i]) return 'diverged';
  return repo.length === next.length ? 'same' : 'write';
}
