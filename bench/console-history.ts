// 30 days of history for the console benchmark's synthetic fleet, written where the daemon finds
// it: run records and storage samples in <state-dir>/state.json (the state store's shape, capped
// like the store caps it) and two older restore points per VM beside the one writeSoakFleet made.
import { copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_RUNS } from '../src/adapters/store/state-store.js';
import { MANIFEST_FILE, VERIFY_FILE } from '../src/core/backup-layout.js';
import { SAMPLES_KEY, type Sample } from '../src/core/console/api-storage.js';
import type { Manifest } from '../src/core/manifest.js';
import type { RunRecord, RunStep } from '../src/core/run-record.js';

const DAY = 86_400_000;
const GiB = 1_073_741_824;
/** The soak fleet's schedule is weekly: a backup 1, 8, 15, 22 and 29 days ago, each followed by a verify (or a test restore). */
const AGES = [1, 8, 15, 22, 29];
/** keep_last 3: the three newest backups are still on storage (the newest one is writeSoakFleet's). */
const KEPT = 3;

const backupId = (d: Date): string => d.toISOString().slice(0, 19).replace('T', '-').replace(/:/g, '');

function backupSteps(vm: string, i: number, failed: boolean): RunStep[] {
  const s: RunStep[] = [
    { name: 'recover-leftovers', ok: true, ms: 12 }, { name: 'pre-checks', ok: true, ms: 180 + (i % 50) },
    { name: 'snapshot', ok: true, ms: 900 + (i % 300), detail: 'guest filesystems frozen for 0.8 s' },
  ];
  if (failed) return [...s, { name: 'copy-vda', ok: false, ms: 41_000, detail: `${vm}-vda.qcow2: No space left on device` }];
  return [...s, { name: 'copy-vda', ok: true, ms: 95_000 + (i % 40) * 1000, detail: '1.0 GiB at 11 MB/s' }, { name: 'blockcommit', ok: true, ms: 2_400 },
    { name: 'post-checks', ok: true, ms: 300 }, { name: 'publish', ok: true, ms: 40 }];
}

export interface History { runs: number; extraPoints: number; samples: number }

/**
 * `vms`: name and hypervisor of every VM (the policy's list); `storageRoot/<hv>/<vm>/<id>` already
 * holds writeSoakFleet's point from `now` - 1 day, which is copied for the older kept points.
 */
export function writeHistory(stateDir: string, storageRoot: string, vms: { name: string; hypervisor: string }[], now: Date): History {
  const runs: RunRecord[] = [];
  let extraPoints = 0;
  vms.forEach(({ name: vm, hypervisor }, i) => {
    AGES.forEach((age, k) => {
      const started = new Date(now.getTime() - age * DAY);
      const id = backupId(started);
      const failed = k >= KEPT && (i + k) % 17 === 0; // some old failures: red cells, never a kept point
      const warned = !failed && (i + k) % 9 === 0;
      const steps = backupSteps(vm, i, failed);
      const ms = steps.reduce((n, s) => n + s.ms, 0);
      runs.push({
        id: `backup-${id}-${vm}`, kind: 'backup', vm, hypervisor, ...(failed ? {} : { backupId: id }), started: started.toISOString(),
        finished: new Date(started.getTime() + ms).toISOString(), status: failed ? 'failed' : 'ok', warnings: warned ? ['guest agent did not answer: crash-consistent snapshot'] : [],
        ...(failed ? { error: 'VMB_COPY_FAILED: No space left on device' } : {}), pid: 4242, steps, ...(failed ? {} : { sizeBytes: GiB }), method: 'snapshot',
        consistency: warned ? 'crash' : 'filesystem', revision: '0'.repeat(40),
      });
      if (failed) return;
      const vStart = new Date(started.getTime() + ms + 60_000);
      const test = k === 1;
      runs.push({
        id: `${test ? 'test-restore' : 'verify'}-${id}-${vm}`, kind: test ? 'test-restore' : 'verify', vm, hypervisor, backupId: id, started: vStart.toISOString(),
        finished: new Date(vStart.getTime() + (test ? 48_000 : 21_000)).toISOString(), status: 'ok', warnings: [], pid: 4242,
        steps: test
          ? [{ name: 'define', ok: true, ms: 800 }, { name: 'start', ok: true, ms: 1_200 }, { name: 'boot', ok: true, ms: 40_000, detail: 'guest agent answered after 38 s' }, { name: 'probe', ok: true, ms: 6_000 }]
          : [{ name: 'verify-vda', ok: true, ms: 21_000, detail: 'sha256 matches' }],
        revision: '0'.repeat(40),
      });
      if (k === 0 || k >= KEPT) return;
      // An older kept point: writeSoakFleet's newest one, re-dated.
      const src = join(storageRoot, hypervisor, vm, backupId(new Date(now.getTime() - DAY)));
      const dir = join(storageRoot, hypervisor, vm, id);
      mkdirSync(dir, { recursive: true });
      const m = JSON.parse(readFileSync(join(src, MANIFEST_FILE), 'utf8')) as Manifest;
      writeFileSync(join(dir, MANIFEST_FILE), JSON.stringify({ ...m, backup_id: id, job_id: `run-${id}-${vm}`, snapshot: `vmbackup-${id}`, started: started.toISOString(), finished: new Date(started.getTime() + ms).toISOString() }, null, 2) + '\n');
      writeFileSync(join(dir, `${vm}-vda.qcow2`), '');
      truncateSync(join(dir, `${vm}-vda.qcow2`), GiB);
      copyFileSync(join(src, VERIFY_FILE), join(dir, VERIFY_FILE));
      extraPoints++;
    });
  });
  runs.sort((a, b) => (a.started < b.started ? -1 : a.started > b.started ? 1 : 0));
  const kept = runs.slice(-MAX_RUNS);
  // One storage sample a day (the daemon writes one after each reconcile): the fleet grew from 2 to 3 points per VM.
  const samples: Sample[] = [];
  for (let d = 30; d >= 1; d--) {
    const per = (2 + (30 - d) / 30) * GiB;
    const by_vm = Object.fromEntries(vms.map((v) => [v.name, Math.round(per)]));
    const by_hypervisor: Record<string, number> = {};
    for (const v of vms) by_hypervisor[v.hypervisor] = (by_hypervisor[v.hypervisor] ?? 0) + Math.round(per);
    samples.push({ day: new Date(now.getTime() - d * DAY).toISOString().slice(0, 10), used_bytes: Math.round(per * vms.length), total_bytes: 2 * 1024 * GiB, by_hypervisor, by_vm });
  }
  mkdirSync(stateDir, { recursive: true, mode: 0o750 });
  writeFileSync(join(stateDir, 'state.json'), JSON.stringify({ version: 1, runs: kept, [SAMPLES_KEY]: samples }), { mode: 0o600 });
  return { runs: kept.length, extraPoints, samples: samples.length };
}
