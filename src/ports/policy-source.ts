// The PolicySource port: "the policy at revision R", the one way every acting process (daemon,
// Bacula RunScripts, cron lines, CLI engine commands) gets policy, templates and settings, so
// nothing that acts reads a working tree that may hold a refused head.
import type { LoadResult } from '../core/load.js';
import type { Templates } from '../core/render.js';

export interface PolicySnapshot {
  /** The commit id, or undefined for a working tree (engineers' validate/plan only). */
  revision?: string;
  /** For messages: `working tree`, `main (0123456789ab)`. */
  label: string;
  load: LoadResult;
  /** Render templates: built-ins overlaid by the revision's `templates/`. */
  templates: Templates;
  /** The revision's raw `templates/<name>` overrides (notification templates are compiled from these). */
  templateFiles: ReadonlyMap<string, string>;
}

export interface PolicySource {
  /** The policy at `revision` (a commit id); cached per revision. */
  at(revision: string): Promise<PolicySnapshot>;
}

/** Where the revision in force is recorded for every process: the daemon writes it, the others read it. */
export interface AppliedRevision {
  /** The applied revision, or undefined when no daemon has applied one here. */
  read(): Promise<string | undefined>;
}
