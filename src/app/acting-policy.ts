// Which policy an acting CLI command (backup, verify, restore, cleanup, notify) runs with: the
// revision the daemon applied, read from the git object store through the PolicySource port, when
// a daemon has applied one in this state directory, or (on a `runs_on: hypervisor` host) the
// revision the control host's daemon published into it; a working tree only where neither is.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { PolicySnapshot } from '../ports/policy-source.js';
import type { StateStore } from '../adapters/store/state-store.js';
import { localPublishedRevision } from '../adapters/git/publish-revision.js';
import { readDaemonState } from '../daemon/daemon-state.js';
import { loadSnapshot } from './policy-source.js';
import { repoRevision } from './repo-revision.js';

export interface ActingPolicy {
  snapshot: PolicySnapshot;
  /** `applied`: the daemon's applied revision; `published`: the one the control host sent this hypervisor; `working-tree`: `--repo`, neither here. */
  source: 'applied' | 'published' | 'working-tree';
  /** The directory the policy came from (the daemon's checkout, or `--repo`). */
  repoDir: string;
  /** A note for stderr (e.g. `--repo` ignored in favour of the applied revision). */
  note?: string;
}

/** The daemon's checkout inside its state directory. */
export const daemonRepoDir = (stateDir: string): string => join(stateDir, 'repo');

/** The state directory whose daemon checkout `repo` is (`<stateDir>/repo` beside `<stateDir>/state.json`), if it is one. */
export function daemonStateDirOf(repo: string): string | undefined {
  const dir = resolve(repo);
  return basename(dir) === 'repo' && existsSync(join(dirname(dir), 'state.json')) ? dirname(dir) : undefined;
}

export function appliedRevisionIn(store: StateStore): string | undefined {
  return readDaemonState(store).lastAppliedRevision;
}

/** The source actingPolicy takes in `stateDir`, without loading the policy (e.g. whether the control host's published pauses apply). */
export async function actingSourceIn(stateDir: string, store: StateStore): Promise<ActingPolicy['source']> {
  if (appliedRevisionIn(store)) return 'applied';
  return (await localPublishedRevision(stateDir)) ? 'published' : 'working-tree';
}

export async function actingPolicy(o: { repo?: string; stateDir: string; store: StateStore }): Promise<ActingPolicy> {
  const applied = appliedRevisionIn(o.store);
  if (applied) {
    const dir = daemonRepoDir(o.stateDir);
    if (!existsSync(join(dir, '.git'))) throw new Error(`the state directory ${o.stateDir} records the applied revision ${applied.slice(0, 12)}, but the daemon's checkout ${dir} is missing; nothing done`);
    const { GitPolicySource } = await import('../adapters/git/git-policy-source.js');
    const snapshot = await new GitPolicySource(dir).at(applied);
    const other = o.repo !== undefined && resolve(o.repo) !== resolve(dir);
    return { snapshot, source: 'applied', repoDir: dir, ...(other ? { note: `--repo ${o.repo} ignored: the daemon's applied revision ${applied.slice(0, 12)} is in force in ${o.stateDir}` } : {}) };
  }
  const published = await localPublishedRevision(o.stateDir);
  if (published) {
    const dir = daemonRepoDir(o.stateDir);
    const { GitPolicySource } = await import('../adapters/git/git-policy-source.js');
    const snapshot = await new GitPolicySource(dir).at(published);
    const other = o.repo !== undefined && resolve(o.repo) !== resolve(dir);
    return { snapshot, source: 'published', repoDir: dir, ...(other ? { note: `--repo ${o.repo} ignored: the revision ${published.slice(0, 12)} published by the control host is in force in ${o.stateDir}` } : {}) };
  }
  const repoDir = o.repo ?? '.';
  const [snapshot, revision] = await Promise.all([loadSnapshot(repoDir), repoRevision(repoDir)]);
  return { snapshot: { ...snapshot, ...(revision ? { revision } : {}) }, source: 'working-tree', repoDir };
}
