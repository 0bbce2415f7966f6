// libvirt's backup API in push mode (QEMU writes each disk's qcow2 target on the hypervisor) and
// the checkpoints it creates. XML is built from an allow-list of checked values, never spliced
// unchecked; vmbackup only ever deletes checkpoints whose name starts with `vmbackup-`.
import { CommandError, type Transport } from '../transport/transport.js';
import { hostPathProblem } from '../../core/host-path.js';

export const CHECKPOINT_PREFIX = 'vmbackup-';
const CHECKPOINT_RE = /^vmbackup-\d{4}-\d{2}-\d{2}-\d{6}$/;
const TARGET_RE = /^[a-z][a-z0-9]{0,15}$/;

export const isOurCheckpoint = (name: string): boolean => CHECKPOINT_RE.test(name);

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/'/g, '&apos;').replace(/"/g, '&quot;');

function checkName(n: string): string {
  if (!CHECKPOINT_RE.test(n)) throw new Error(`refusing checkpoint name ${JSON.stringify(n)}: not vmbackup-<backup id>`);
  return n;
}
function checkTarget(t: string): string {
  if (!TARGET_RE.test(t)) throw new Error(`refusing disk target ${JSON.stringify(t)}`);
  return t;
}
function checkPath(p: string): string {
  const bad = hostPathProblem(p);
  if (bad) throw new Error(`refusing backup target path ${JSON.stringify(p)}: ${bad}`);
  return p;
}

export interface PushDisk { target: string; file: string }

/** `<domainbackup mode='push'>`: the listed disks into qcow2 files; every other disk backup='no'. */
export function pushBackupXml(disks: readonly PushDisk[], skipped: readonly string[], incremental?: string): string {
  const lines = ["<domainbackup mode='push'>"];
  if (incremental) lines.push(`  <incremental>${xmlEscape(checkName(incremental))}</incremental>`);
  lines.push('  <disks>');
  for (const d of disks) {
    lines.push(`    <disk name='${xmlEscape(checkTarget(d.target))}' backup='yes' type='file'>`,
      `      <target file='${xmlEscape(checkPath(d.file))}'/>`, "      <driver type='qcow2'/>", '    </disk>');
  }
  for (const t of skipped) lines.push(`    <disk name='${xmlEscape(checkTarget(t))}' backup='no'/>`);
  lines.push('  </disks>', '</domainbackup>', '');
  return lines.join('\n');
}

/** `<domaincheckpoint>` named `vmbackup-<id>` with a bitmap on each backed-up disk. */
export function checkpointXml(name: string, targets: readonly string[], skipped: readonly string[]): string {
  return ['<domaincheckpoint>', `  <name>${xmlEscape(checkName(name))}</name>`, '  <disks>',
    ...targets.map((t) => `    <disk name='${xmlEscape(checkTarget(t))}' checkpoint='bitmap'/>`),
    ...skipped.map((t) => `    <disk name='${xmlEscape(checkTarget(t))}' checkpoint='no'/>`),
    '  </disks>', '</domaincheckpoint>', ''].join('\n');
}

export type JobState = { state: 'none' } | { state: 'running'; operation: string } | { state: 'completed' } | { state: 'failed'; error: string };

/** `virsh domjobinfo` text → state. */
export function parseJobInfo(text: string): JobState {
  const type = /Job type:\s*(\S+)/.exec(text)?.[1] ?? 'None';
  const op = /Operation:\s*(.+)/.exec(text)?.[1]?.trim() ?? '';
  if (type === 'Unbounded' || type === 'Bounded') return { state: 'running', operation: op };
  if (type === 'Completed') return { state: 'completed' };
  if (type === 'Failed' || type === 'Cancelled') return { state: 'failed', error: (/Error message:\s*(.+)/.exec(text)?.[1] ?? type).trim() };
  return { state: 'none' };
}

/** libvirt's words for a checkpoint whose bitmap QEMU never saved (it was killed): unusable for an incremental, deletable only as metadata. */
export const BITMAP_LOST = /checkpoint inconsistent|missing or broken bitmap|not found in backing chain|bitmap .* (is )?inconsistent/i;

export class BackupApi {
  constructor(readonly transport: Transport, readonly uri?: string, private readonly quickMs = 30_000) {}

  private argv(...args: string[]): string[] {
    return this.uri ? ['virsh', '-q', '-c', this.uri, ...args] : ['virsh', '-q', ...args];
  }

  /** Does libvirt offer the backup API for this domain type (`<backup supported='yes'/>`)? */
  async supported(virtType: string): Promise<boolean> {
    if (!/^[a-z]+$/.test(virtType)) return false;
    const r = await this.transport.run(this.argv('domcapabilities', '--virttype', virtType), { timeoutMs: this.quickMs, allowFailure: true });
    return r.exitCode === 0 && /<backup supported='yes'\/>/.test(r.stdout);
  }

  /** Starts the push-mode backup and creates the checkpoint atomically with it. */
  async begin(vm: string, backupXml: string, cpXml: string, quiesce: boolean): Promise<void> {
    const dir = (await this.transport.run(['mktemp', '-d', '--tmpdir', 'vmbackup-backup.XXXXXXXX'], { timeoutMs: this.quickMs })).stdout.trim();
    if (!/^\/[\w./-]+$/.test(dir)) throw new Error(`${this.transport.host}: mktemp returned ${JSON.stringify(dir)}`);
    try {
      await this.transport.run(['tee', '--', `${dir}/backup.xml`], { input: backupXml, timeoutMs: this.quickMs });
      await this.transport.run(['tee', '--', `${dir}/checkpoint.xml`], { input: cpXml, timeoutMs: this.quickMs });
      await this.transport.run(this.argv('backup-begin', '--domain', vm, '--backupxml', `${dir}/backup.xml`, '--checkpointxml', `${dir}/checkpoint.xml`, ...(quiesce ? ['--quiesce'] : [])), { timeoutMs: 120_000 });
    } finally {
      await this.transport.run(['rm', '-rf', '--', dir], { timeoutMs: this.quickMs, allowFailure: true });
    }
  }

  async job(vm: string, completed = false): Promise<JobState> {
    const r = await this.transport.run(this.argv('domjobinfo', '--domain', vm, ...(completed ? ['--completed'] : [])), { timeoutMs: this.quickMs, allowFailure: true });
    return parseJobInfo(r.stdout);
  }

  /**
   * Polls until the backup job ends; aborts it on timeout. The interval starts at 25 ms and doubles
   * up to 1 s: a small incremental is done in well under a second (a fixed 200 ms poll cost it
   * ~100 ms on average in bench:incremental), a long full is not polled more than once a second.
   */
  async wait(vm: string, timeoutMs: number, maxIntervalMs = 1000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (let interval = 25; ; interval = Math.min(maxIntervalMs, interval * 2)) {
      const j = await this.job(vm);
      if (j.state !== 'running') break;
      if (Date.now() > until) { await this.abort(vm); throw new Error(`${vm}: backup job still running after ${Math.round(timeoutMs / 1000)} s; aborted`); }
      await new Promise((r) => setTimeout(r, interval));
    }
    const done = await this.job(vm, true);
    if (done.state === 'failed') throw new Error(`${vm}: backup job failed: ${done.error}`);
  }

  /** Target files of the running backup job (empty when none runs). */
  async jobTargets(vm: string): Promise<string[]> {
    const r = await this.transport.run(this.argv('backup-dumpxml', '--domain', vm), { timeoutMs: this.quickMs, allowFailure: true });
    if (r.exitCode !== 0) return [];
    return [...r.stdout.matchAll(/<target file='([^']*)'/g)].map((m) => m[1]!.replace(/&apos;/g, "'").replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&'));
  }

  async abort(vm: string): Promise<void> {
    await this.transport.run(this.argv('domjobabort', '--domain', vm), { timeoutMs: this.quickMs, allowFailure: true });
  }

  async checkpoints(vm: string): Promise<string[]> {
    const r = await this.transport.run(this.argv('checkpoint-list', '--domain', vm, '--name'), { timeoutMs: this.quickMs, allowFailure: true });
    return r.exitCode === 0 ? r.stdout.split('\n').map((s) => s.trim()).filter(Boolean) : [];
  }

  /**
   * Deletes one of OUR checkpoints (its bitmap is merged into its parent's by libvirt). A checkpoint
   * whose bitmap QEMU lost (killed before saving it) cannot be deleted that way: then only
   * libvirt's record of it goes (`--metadata`), there being no bitmap left to remove.
   */
  async deleteCheckpoint(vm: string, name: string): Promise<void> {
    const r = await this.transport.run(this.argv('checkpoint-delete', '--domain', vm, '--checkpointname', checkName(name)), { timeoutMs: this.quickMs, allowFailure: true });
    if (r.exitCode === 0) return;
    if (!BITMAP_LOST.test(r.stderr)) throw new CommandError(this.transport.host, r);
    await this.transport.run(this.argv('checkpoint-delete', '--domain', vm, '--checkpointname', checkName(name), '--metadata'), { timeoutMs: this.quickMs });
  }
}
