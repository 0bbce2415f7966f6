// Where status files may live: only under the status directory, never anywhere else in the
// policy repo. Shared by the renderer (what it names) and the git writer (what it touches).

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/** A status directory is a plain relative path (`status`, `ops/status`): no `..`, no leading `/`. */
export function checkStatusDir(statusPath: string): string {
  const segs = statusPath.split('/');
  if (!statusPath || segs.some((s) => !SEGMENT_RE.test(s) || s === '..' || s === '.' || s === '.git')) {
    throw new Error(`invalid status path ${JSON.stringify(statusPath)}: must be a relative directory like "status"`);
  }
  return statusPath;
}

/** True when `path` is a file strictly inside `statusPath`, with safe segments only. */
export function isStatusFilePath(path: string, statusPath: string): boolean {
  if (!path.startsWith(`${statusPath}/`)) return false;
  const rest = path.slice(statusPath.length + 1).split('/');
  return rest.every((s) => SEGMENT_RE.test(s) && s !== '..' && s !== '.' && s !== '.git');
}

/** Throws unless every path is a status file: the writer refuses to touch anything else. */
export function assertStatusFilePaths(paths: Iterable<string>, statusPath: string): void {
  checkStatusDir(statusPath);
  for (const p of paths) {
    if (!isStatusFilePath(p, statusPath)) throw new Error(`refusing to write ${JSON.stringify(p)}: status files must be under ${statusPath}/`);
  }
}

/** `status/vms/<vm>.yaml`; the VM name is checked because it becomes a path. */
export function vmStatusPath(vm: string, statusPath: string): string {
  if (!NAME_RE.test(vm) || vm.includes('..')) throw new Error(`invalid VM name ${JSON.stringify(vm)}`);
  return `${statusPath}/vms/${vm}.yaml`;
}

/** The VM name of a `status/vms/<vm>.yaml` path, or undefined for any other path. */
export function vmOfStatusPath(path: string, statusPath: string): string | undefined {
  const prefix = `${statusPath}/vms/`;
  if (!path.startsWith(prefix) || !path.endsWith('.yaml')) return undefined;
  const name = path.slice(prefix.length, -'.yaml'.length);
  return NAME_RE.test(name) && !name.includes('..') ? name : undefined;
}
