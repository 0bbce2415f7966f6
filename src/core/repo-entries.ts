// One rule, for the working tree and for a git revision alike, for which repo entries vmbackup
// reads and which it refuses (symlinks, submodules, FIFOs, devices): both give the same verdict.
import type { Diagnostic } from './model.js';

/** Why an entry is refused; the readers never follow or open it for its content. */
export type RefusedKind = 'symlink' | 'submodule' | 'fifo' | 'socket' | 'device' | 'not-a-file';

/**
 * Paths vmbackup may read from a policy repo: policy YAML, `templates/`, `status/`, and any folder
 * that could hold them, i.e. everything outside hidden folders (`.git`, `.github`) and node_modules.
 * A symlink or special file at such a path is refused wherever it points.
 */
export function inReadScope(path: string): boolean {
  const parts = path.split('/');
  return parts.length > 0 && parts.every((p) => p !== '' && !p.startsWith('.') && p !== 'node_modules');
}

const WHAT: Record<RefusedKind, string> = {
  symlink: 'is a symbolic link',
  submodule: 'is a git submodule',
  fifo: 'is a FIFO',
  socket: 'is a socket',
  device: 'is a device file',
  'not-a-file': 'is not a regular file',
};

/** The located diagnostic for a refused entry: `path:1:1: error: ... [VMB_SYMLINK|VMB_NOT_REGULAR_FILE]`. */
export function refusedEntryDiagnostic(path: string, kind: RefusedKind): Diagnostic {
  const code = kind === 'symlink' ? 'VMB_SYMLINK' : 'VMB_NOT_REGULAR_FILE';
  const why = kind === 'symlink'
    ? 'vmbackup never follows links in the policy repository: commit the file itself'
    : 'the policy repository may hold only regular files and folders';
  return { code, severity: 'error', file: path, line: 1, col: 1, message: `${path} ${WHAT[kind]}; refused: ${why}` };
}
