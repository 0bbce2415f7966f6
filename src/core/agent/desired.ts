// What `vmbackup agent install` deploys on a runs_on: hypervisor host: a small explicit list (the
// program tree, the /usr/bin/vmbackup wrapper, bacula-fd.conf, the state directory). Pure.
import Handlebars from 'handlebars';
import { posix } from 'node:path';
import { baculaQuote, baculaWord, commentText, secretPlaceholder } from '../bacula-syntax.js';
import { clientNameOf } from '../hypervisor-mode/fields.js';
import { hostPath } from '../host-path.js';
import type { Hypervisor } from '../model.js';

export const PROGRAM_BASE = '/opt/vmbackup';
export const WRAPPER_PATH = '/usr/bin/vmbackup';
export const FD_CONFIG_PATH = '/etc/bacula/bacula-fd.conf';
export const MANIFEST_NAME = '.manifest';
export const OWNER = 'root:root';
/** RHEL's bacula-fd defaults (the seed's hypervisors run RHEL 10). */
export const FD_WORKING_DIR = '/var/spool/bacula';
export const FD_PID_DIR = '/var/run';

export interface FileItem { kind: 'file'; label: string; path: string; content: string; mode: number; owner: string; secret?: boolean; restart?: boolean }
export interface DirItem { kind: 'dir'; label: string; path: string; mode: number; owner: string }
/** A whole directory, compared by its manifest (sha256 and path per file), written last. */
export interface TreeItem { kind: 'tree'; label: string; path: string; manifest: string; files: number }
export type DesiredItem = FileItem | DirItem | TreeItem;

const VERSION_RE = /^\d{1,4}\.\d{1,4}\.\d{1,6}(?:-[0-9A-Za-z.]{1,32})?$/;

export class AgentInputError extends Error {
  readonly code = 'VMB_AGENT_REFUSED';
}

/** `/opt/vmbackup/<version>`, the version checked (it is the one value the wrapper script holds). */
export function programDir(version: string): string {
  if (!VERSION_RE.test(version)) throw new AgentInputError(`VMB_AGENT_REFUSED: version ${JSON.stringify(version)} is not a plain semver`);
  return `${PROGRAM_BASE}/${version}`;
}

/** The constant wrapper: only the validated version path varies. */
export function wrapperScript(version: string): string {
  return [
    '#!/bin/sh',
    '# Written by `vmbackup agent install`: runs the installed vmbackup with the Node.js on PATH (>= 20).',
    `exec node ${programDir(version)}/dist/src/main.js "$@"`,
    '',
  ].join('\n');
}

/** `sha256  path` lines sorted by path: what the program tree holds. */
export function manifestText(files: readonly { path: string; sha256: string }[]): string {
  const bad = files.find((f) => !/^[0-9a-f]{64}$/.test(f.sha256) || /[\n\r\0]/.test(f.path) || f.path.startsWith('/') || f.path.split('/').includes('..'));
  if (bad) throw new AgentInputError(`VMB_AGENT_REFUSED: program file ${JSON.stringify(bad.path)} cannot be listed in a manifest`);
  return [...files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)).map((f) => `${f.sha256}  ${f.path}\n`).join('');
}

const hb = Handlebars.create();
const arg = (a: unknown[]): string => String(a[0]);
hb.registerHelper('bstr', (...a: unknown[]) => baculaQuote(arg(a)));
hb.registerHelper('bword', (...a: unknown[]) => baculaWord(arg(a)));
hb.registerHelper('comment', (...a: unknown[]) => commentText(arg(a)));

/** bacula-fd.conf with the Director's password as a `@@secret:…@@` placeholder (filled by the shell, never here). */
export function renderFdConfig(template: string, hv: Hypervisor, directorName: string): string {
  return hb.compile(template, { noEscape: true, strict: true })({
    hypervisor: hv.name,
    director: directorName,
    name: clientNameOf(hv.name),
    port: hv.fdPort,
    password: secretPlaceholder(hv.fdPassword),
    workingDirectory: FD_WORKING_DIR,
    pidDirectory: FD_PID_DIR,
  });
}

/** `root` + `p` (both checked): where a destination lands with `--root`. */
export function underRoot(root: string, p: string): string {
  hostPath(p);
  return root === '/' ? p : posix.join(hostPath(root), p);
}

export interface DesiredInput {
  hv: Hypervisor;
  version: string;
  /** bacula-fd.conf as deployed (the password already filled in by the shell). */
  fdConfig: string;
  manifest: string;
  files: number;
  root: string;
}

/** The list, in the order it is applied: the program before the wrapper that runs it, the state dir before the fd that uses it. */
export function desiredItems(i: DesiredInput): DesiredItem[] {
  const r = (p: string): string => underRoot(i.root, p);
  return [
    { kind: 'tree', label: `vmbackup ${i.version}`, path: r(programDir(i.version)), manifest: i.manifest, files: i.files },
    { kind: 'file', label: 'vmbackup wrapper', path: r(WRAPPER_PATH), content: wrapperScript(i.version), mode: 0o755, owner: OWNER },
    { kind: 'dir', label: 'state directory', path: r(i.hv.stateDir), mode: 0o750, owner: OWNER },
    { kind: 'file', label: 'bacula-fd configuration', path: r(FD_CONFIG_PATH), content: i.fdConfig, mode: 0o640, owner: OWNER, secret: true, restart: true },
  ];
}
