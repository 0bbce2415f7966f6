// The daemon benchmark's policy repo: the lab's hypervisors, the lab's own VMs known but disabled
// (observed, never backed up), the bench's shut-off VMs enabled; a bare repo on disk as the remote,
// a working clone that commits one small policy change at a time, and a baseline clone.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { Lab } from '../test/lab/lab.js';
import { labPolicy } from '../test/lab/policy-repo.js';

const IDENTITY = ['-c', 'user.name=Bench Engineer', '-c', 'user.email=bench@example.invalid', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main'];

export const git = (cwd: string, args: string[]): string => execFileSync('git', [...IDENTITY, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();

export interface PolicyOptions { work: string; vms: string[]; hosts: 'local' | 'lab'; bacula?: Record<string, unknown> }

type Obj = Record<string, unknown>;

export function benchPolicy(lab: Lab, o: PolicyOptions): Obj {
  const lp = labPolicy(lab, {
    controlDir: join(o.work, 'ssh'), storageRoot: join(o.work, 'storage'),
    vmOverrides: Object.fromEntries(lab.vms.map((v) => [v.name, { enabled: false }])),
    extraVms: o.vms.map((name) => ({ name, hypervisor: 'local', method: 'snapshot', priority: 10, schedule: 'weekly', retention: { keep_last: 3 }, allow_offline: true })),
  });
  const keep = (hv: string): boolean => o.hosts === 'lab' || hv === 'local';
  const settings = lp.settings as Obj;
  return {
    settings: { ...settings, ...(o.bacula ? { scheduler: 'bacula', bacula: o.bacula } : { cron: { user: 'root', command: '/bin/true', repo_path: join(o.work, 'state', 'repo') } }) },
    hypervisors: (lp.hypervisors as Obj[]).filter((h) => keep(String(h.name))),
    vms: (lp.vms as Obj[]).filter((v) => keep(String(v.hypervisor))),
  };
}

export interface Change { kind: 'schedule' | 'retention'; vm: string; to: string }

const SCHEDULES = ['daily', 'weekly', 'biweekly', 'monthly', '30 2 * * *', '15 23 * * 1-5'];

/**
 * Commit i's change: even commits move one bench VM to another schedule (the rendered cron/Bacula
 * file changes), odd ones change its retention (only the policy changes). Never makes a VM due.
 */
export function mutate(policy: Obj, i: number, benchVms: readonly string[]): Change {
  const vm = (policy.vms as Obj[]).find((v) => v.name === benchVms[i % benchVms.length])!;
  if (i % 2 === 0) {
    const cur = SCHEDULES.indexOf(String(vm.schedule));
    vm.schedule = SCHEDULES[(cur + 1) % SCHEDULES.length];
    return { kind: 'schedule', vm: String(vm.name), to: String(vm.schedule) };
  }
  const keepLast = ((vm.retention as { keep_last: number }).keep_last % 4) + 1;
  vm.retention = { keep_last: keepLast };
  return { kind: 'retention', vm: String(vm.name), to: `keep_last ${keepLast}` };
}

export interface Repos { bare: string; work: string; baseline: string; origin: string }

/** A bare origin holding the first commit of `policy`, a working clone, and a baseline clone. */
export function makeRepos(root: string, policy: Obj): Repos {
  const r: Repos = { bare: join(root, 'origin.git'), work: join(root, 'work'), baseline: join(root, 'baseline'), origin: '' };
  r.origin = `file://${r.bare}`;
  git(root, ['init', '-q', '--bare', r.bare]);
  mkdirSync(r.work, { recursive: true });
  git(r.work, ['init', '-q']);
  git(r.work, ['remote', 'add', 'origin', r.bare]);
  writeFileSync(join(r.work, 'lab.yaml'), stringify(policy));
  git(r.work, ['add', '-A']);
  git(r.work, ['commit', '-q', '-m', 'bench: initial policy']);
  git(r.work, ['push', '-q', 'origin', 'main']);
  git(r.work, ['branch', '-q', '--set-upstream-to', 'origin/main']);
  git(root, ['clone', '-q', r.bare, r.baseline]);
  return r;
}

/** Pulls the daemon's status commits, writes the policy, commits and pushes; returns the commit and the push time. */
export function commitAndPush(r: Repos, policy: Obj, msg: string): { sha: string; pushMs: number } {
  git(r.work, ['pull', '-q', '--rebase', 'origin', 'main']);
  writeFileSync(join(r.work, 'lab.yaml'), stringify(policy));
  git(r.work, ['commit', '-q', '-am', msg]);
  const t0 = performance.now();
  git(r.work, ['push', '-q', 'origin', 'main']);
  return { sha: git(r.work, ['rev-parse', 'HEAD']), pushMs: performance.now() - t0 };
}
