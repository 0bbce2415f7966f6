// The work behind `vmbackup pause` and `vmbackup resume`: hold a VM's scheduled and catch-up
// backups until a time (state store, key `pauses`), end that early, list what is in force; every
// change is appended to the audit log as the CLI user.
import { userInfo } from 'node:os';
import { activePause, activePauses, checkReason, parseUntil, type Pause } from '../core/pause/pause.js';
import { localTime } from '../core/plan-format.js';
import { escapeTerminal } from '../core/terminal-text.js';
import { AuditLog } from '../adapters/store/audit-log.js';
import { clearPause, readPauses, setPause } from '../adapters/store/pauses.js';
import { StateStore } from '../adapters/store/state-store.js';
import { actingPolicy, daemonStateDirOf } from './acting-policy.js';
import { DEFAULT_STATE_DIR } from './engine-setup.js';
import { EXIT } from './exit-codes.js';

export interface PauseOpts { repo?: string; stateDir?: string; until?: string; reason?: string; list?: boolean; json?: boolean }

/** An error with a stable code for `--json` (docs/errors.md). */
const fail = (code: string, message: string): Error => Object.assign(new Error(message), { code });

const stateDirOf = (o: PauseOpts): string => o.stateDir ?? process.env.VMBACKUP_STATE_DIR ?? (o.repo !== undefined ? daemonStateDirOf(o.repo) : undefined) ?? DEFAULT_STATE_DIR;

/** The policy in force here must know the VM (the daemon's applied revision where one runs). */
async function policyOf(o: PauseOpts, stateDir: string, store: StateStore): Promise<{ vms: Set<string>; timeZone: string; revision?: string }> {
  const policy = await actingPolicy({ ...(o.repo !== undefined ? { repo: o.repo } : {}), stateDir, store });
  const { load, revision } = policy.snapshot;
  if (!load.ok) throw fail('INVALID_POLICY', `the policy (${policy.source}${revision ? ` revision ${revision.slice(0, 12)}` : ` ${policy.repoDir}`}) is invalid; nothing done`);
  return { vms: new Set(load.desired.vms.map((v) => v.name)), timeZone: load.desired.settings.timeZone, ...(revision ? { revision } : {}) };
}

function knownVm(vm: string, vms: Set<string>): void {
  if (!vms.has(vm)) throw fail('UNKNOWN_VM', `VM ${vm} is not in the policy in force; nothing paused or resumed`);
}

const who = (): string => `cli:${userInfo().username}`;
const pauseText = (p: Pause, tz: string): string => `${p.vm} paused until ${p.until} (${localTime(p.until, tz)}) by ${p.by}: ${p.reason}`;
const print = (o: PauseOpts, json: unknown, text: string): void => { process.stdout.write(o.json ? JSON.stringify(json, null, 2) + '\n' : escapeTerminal(text) + '\n'); };

export async function pauseAction(vm: string | undefined, o: PauseOpts, now: Date = new Date()): Promise<void> {
  const stateDir = stateDirOf(o);
  const store = await StateStore.open(stateDir);
  const at = now.toISOString();
  if (o.list) {
    if (vm !== undefined || o.until !== undefined || o.reason !== undefined) throw fail('USAGE', '--list takes no VM, --until or --reason');
    const { timeZone } = await policyOf(o, stateDir, store);
    const list = Object.values(activePauses(await readPauses(store), at)).sort((a, b) => a.vm.localeCompare(b.vm));
    print(o, { pauses: list }, list.length ? list.map((p) => pauseText(p, timeZone)).join('\n') : 'no VM is paused');
    process.exitCode = EXIT.OK;
    return;
  }
  if (vm === undefined) throw fail('USAGE', 'name a VM to pause (or --list)');
  if (o.until === undefined || o.reason === undefined) throw fail('USAGE', 'pause needs --until <30m|6h|2d|1w|ISO time> and --reason <text>');
  const until = parseUntil(o.until, at);
  if ('error' in until) throw fail('USAGE', until.error);
  const bad = checkReason(o.reason);
  if (bad) throw fail('USAGE', bad);
  const { vms, timeZone, revision } = await policyOf(o, stateDir, store);
  knownVm(vm, vms);
  const p: Pause = { vm, until: until.until, reason: o.reason.trim(), by: who(), at };
  await setPause(store, p, at);
  await new AuditLog(stateDir).append({ at, by: p.by, role: 'cli', act: 'pause', vm, result: 'ok', detail: `until ${p.until}: ${p.reason}`, ...(revision ? { revision } : {}) });
  print(o, { pause: p }, `${pauseText(p, timeZone)}\nscheduled and catch-up backups of ${vm} are held until then (verify, test-restore and prune go on); vmbackup resume ${vm} ends it early`);
  process.exitCode = EXIT.OK;
}

export async function resumeAction(vm: string, o: PauseOpts, now: Date = new Date()): Promise<void> {
  const stateDir = stateDirOf(o);
  const store = await StateStore.open(stateDir);
  const at = now.toISOString();
  const { vms, revision } = await policyOf(o, stateDir, store);
  knownVm(vm, vms);
  const cleared = await clearPause(store, vm);
  const was = cleared ? activePause({ [vm]: cleared }, vm, at) : undefined;
  await new AuditLog(stateDir).append({ at, by: who(), role: 'cli', act: 'resume', vm, result: 'ok', detail: was ? `was paused until ${was.until} by ${was.by}: ${was.reason}` : 'was not paused', ...(revision ? { revision } : {}) });
  print(o, { vm, ...(was ? { was } : {}) }, was ? `${vm} resumed (was paused until ${was.until} by ${was.by}: ${was.reason})` : `${vm} was not paused; nothing to resume`);
  process.exitCode = EXIT.OK;
}
