// `vmbackup prune` as a user runs it, over restore points laid out on a scratch storage exactly as
// the engine publishes them (no hypervisor needed: pruning touches only storage). Covers the
// arguments, dry-run, the mass-prune guard, the hold when the newest point is not good, VMs that
// left the repo, a busy VM, and that `plan` lists the same points `prune --dry-run` does.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { execa } from 'execa';
import { vmbackup } from '../helpers/cli.js';
import type { PolicyPlan } from '../../src/core/policy-diff.js';
import type { VmPruneResult } from '../../src/engine/prune.js';

interface PruneJson { dryRun: boolean; fleetRefused?: string; vms: VmPruneResult[] }

const IDS = ['2026-11-01-120000', '2026-11-08-120000', '2026-11-15-120000', '2026-11-22-120000'];
const isoOf = (id: string): string => `${id.slice(0, 10)}T${id.slice(11, 13)}:${id.slice(13, 15)}:${id.slice(15, 17)}Z`;

async function publish(storage: string, hv: string, vm: string, id: string, verify?: 'ok' | 'failed'): Promise<void> {
  const dir = join(storage, hv, vm, id);
  await mkdir(dir, { recursive: true });
  const img = Buffer.from(`disk of ${vm} at ${id}\n`);
  const xml = Buffer.from(`<domain><name>${vm}</name></domain>\n`);
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  await writeFile(join(dir, `${vm}-vda.qcow2`), img);
  await writeFile(join(dir, `${vm}.xml`), xml);
  const files = [{ path: `${vm}-vda.qcow2`, size_bytes: img.length, sha256: sha(img), target: 'vda', format: 'qcow2' }, { path: `${vm}.xml`, size_bytes: xml.length, sha256: sha(xml) }];
  await writeFile(join(dir, 'checksums.sha256'), files.map((f) => `${f.sha256}  ${f.path}`).join('\n') + '\n');
  await writeFile(join(dir, 'backup-metadata.json'), JSON.stringify({
    schema: 'vmbackup.manifest/v1', job_id: `backup-${vm}-${id}`, backup_id: id, vm_name: vm, vm_uuid: '00000000-0000-4000-8000-000000000001', hypervisor: hv,
    started: isoOf(id), finished: isoOf(id), snapshot: `vmbackup-${id}`, method: 'snapshot', consistency: 'crash', warnings: [], durations_ms: {},
    total_size_bytes: img.length + xml.length, files, policy: {}, vmbackup_version: 'test',
  }, null, 2));
  if (verify) await writeFile(join(dir, 'verification.json'), JSON.stringify({ result: verify, at: isoOf(id), problems: verify === 'failed' ? ['sha256 mismatch'] : [] }));
}

interface Scratch { root: string; repo: string; storage: string; state: string; cli: (...a: string[]) => ReturnType<typeof vmbackup>; points: (vm: string, hv?: string) => Promise<string[]> }

async function scratch(retention: Record<string, unknown>, settings: Record<string, unknown> = {}, vms: string[] = ['vm1']): Promise<Scratch> {
  const root = await mkdtemp(join(tmpdir(), 'vmb-prune-'));
  const repo = join(root, 'repo');
  const storage = join(root, 'storage');
  const state = join(root, 'state');
  await mkdir(repo, { recursive: true });
  await writePolicy(repo, storage, retention, settings, vms);
  return {
    root, repo, storage, state,
    cli: (...a: string[]) => vmbackup([...a, '--repo', repo, '--state-dir', state], { env: { VMBACKUP_STATE_DIR: state } }),
    points: async (vm: string, hv = 'hv1') => (await readdir(join(storage, hv, vm)).catch(() => [] as string[])).filter((n) => /^\d{4}-\d{2}-\d{2}-\d{6}$/.test(n)).sort(),
  };
}

async function writePolicy(repo: string, storage: string, retention: Record<string, unknown>, settings: Record<string, unknown> = {}, vms: string[] = ['vm1']): Promise<void> {
  await writeFile(join(repo, 'fleet.yaml'), stringify({
    settings: { storage_root: storage, scheduler: 'cron', time_zone: 'UTC', ...settings },
    hypervisors: [{ name: 'hv1', address: '127.0.0.1', transport: 'local' }],
    vms: vms.map((name) => ({ name, hypervisor: 'hv1', schedule: 'weekly', retention })),
  }));
}

const parse = (stdout: string): PruneJson => JSON.parse(stdout) as PruneJson;

describe('vmbackup prune (CLI)', () => {
  const roots: string[] = [];
  after(async () => { for (const r of roots) await rm(r, { recursive: true, force: true }); });
  const make = async (...a: Parameters<typeof scratch>): Promise<Scratch> => { const s = await scratch(...a); roots.push(s.root); return s; };

  test('arguments: a VM or --all, not both, not neither; an unknown VM with no backups is an error', async () => {
    const s = await make({ keep_last: 3 });
    assert.equal((await s.cli('prune')).code, 1);
    assert.match((await s.cli('prune')).stderr, /name a VM, or give --all/);
    assert.equal((await s.cli('prune', 'vm1', '--all')).code, 1);
    const r = await s.cli('prune', 'nosuch');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nosuch is not in the policy repo and has no backups/);
    const none = await s.cli('prune', 'vm1');
    assert.equal(none.code, 0, none.stderr);
    assert.match(none.stdout, /vm1: no backups on storage, nothing to prune/);
  });

  test('--dry-run lists what retention prunes and deletes nothing; then prune deletes exactly that', async () => {
    const s = await make({ keep_last: 3 });
    for (const id of IDS) await publish(s.storage, 'hv1', 'vm1', id);
    const dry = await s.cli('prune', 'vm1', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const plan = parse(dry.stdout);
    assert.equal(plan.dryRun, true);
    assert.deepEqual(plan.vms.map((v) => [v.vm, v.points, v.prune.map((p) => p.id)]), [['vm1', 4, [IDS[0]]]]);
    assert.deepEqual(plan.vms[0]!.prune[0]!.reasons, ['no keep rule matched']);
    assert.deepEqual(await s.points('vm1'), IDS, 'dry-run deleted nothing');
    const text = await s.cli('prune', 'vm1', '--dry-run');
    assert.match(text.stdout, new RegExp(`would prune ${IDS[0]} \\(no keep rule matched\\)`));

    const real = await s.cli('prune', 'vm1', '--json');
    assert.equal(real.code, 0, real.stderr);
    const done = parse(real.stdout).vms[0]!;
    assert.equal(done.status, 'pruned');
    assert.deepEqual(done.pruned, [IDS[0]]);
    assert.deepEqual(await s.points('vm1'), IDS.slice(1));
    assert.deepEqual((await readdir(join(s.storage, 'hv1', 'vm1'))).filter((n) => n.startsWith('.pruning-')), [], 'no half-deleted directory left');
    const again = await s.cli('prune', 'vm1');
    assert.equal(again.code, 0);
    assert.match(again.stdout, /vm1: 3 restore points, nothing to prune/);
  });

  test('the mass-prune guard refuses (exit 2, nothing deleted) until settings.allow_mass_prune', async () => {
    const s = await make({ keep_last: 1 });
    for (const id of IDS.slice(1)) await publish(s.storage, 'hv1', 'vm1', id);
    const r = await s.cli('prune', 'vm1', '--json');
    assert.equal(r.code, 2, r.stderr);
    const v = parse(r.stdout).vms[0]!;
    assert.equal(v.status, 'refused');
    assert.match(v.refused!, /would delete 2 of vm1's 3 backups \(more than 25%\); set settings.allow_mass_prune: true/);
    assert.deepEqual(v.prune.map((p) => p.id), IDS.slice(1, 3), 'it still says what retention would delete');
    assert.deepEqual(await s.points('vm1'), IDS.slice(1), 'nothing deleted');
    assert.equal((await s.cli('prune', 'vm1', '--dry-run')).code, 2, 'dry-run reports the refusal the same way');

    await writePolicy(s.repo, s.storage, { keep_last: 1 }, { allow_mass_prune: true });
    const ok = await s.cli('prune', 'vm1', '--json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(parse(ok.stdout).vms[0]!.pruned, IDS.slice(1, 3));
    assert.deepEqual(await s.points('vm1'), [IDS[3]]);
  });

  test('max_prune_percent raises the guard\'s threshold', async () => {
    const s = await make({ keep_last: 1 }, { max_prune_percent: 70 });
    for (const id of IDS.slice(1)) await publish(s.storage, 'hv1', 'vm1', id);
    const r = await s.cli('prune', 'vm1');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(await s.points('vm1'), [IDS[3]]);
  });

  test('a newest point that failed verification holds pruning: the last verified-good point is never deletable', async () => {
    const s = await make({ keep_last: 1 }, { allow_mass_prune: true });
    await publish(s.storage, 'hv1', 'vm1', IDS[0]!);
    await publish(s.storage, 'hv1', 'vm1', IDS[1]!, 'ok');
    await publish(s.storage, 'hv1', 'vm1', IDS[2]!, 'failed');
    const r = await s.cli('prune', 'vm1', '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(parse(r.stdout).vms[0]!.prune, [], 'newest backup not good: pruning held');
    assert.deepEqual(await s.points('vm1'), IDS.slice(0, 3));
  });

  test('--all: every VM on storage; a VM that left the repo keeps its backups (grace period)', async () => {
    const s = await make({ keep_last: 3 });
    for (const id of IDS) { await publish(s.storage, 'hv1', 'vm1', id); await publish(s.storage, 'hv1', 'gone', id); }
    const r = await s.cli('prune', '--all', '--json');
    assert.equal(r.code, 0, r.stderr);
    const out = parse(r.stdout);
    assert.deepEqual(out.vms.map((v) => [v.vm, v.status]), [['gone', 'held'], ['vm1', 'pruned']]);
    assert.match(out.vms[0]!.held!, /gone left the repo; its 4 backups are kept for 30 days/);
    assert.deepEqual(await s.points('gone'), IDS);
    assert.deepEqual(await s.points('vm1'), IDS.slice(1));
  });

  test('a VM whose lock is held: exit 75, nothing deleted', async () => {
    const s = await make({ keep_last: 3 });
    for (const id of IDS) await publish(s.storage, 'hv1', 'vm1', id);
    await mkdir(join(s.state, 'locks'), { recursive: true });
    await writeFile(join(s.state, 'locks', 'vm1.lock'), JSON.stringify({ pid: process.pid, host: hostname(), since: new Date().toISOString(), what: 'backup of vm1' }));
    const r = await s.cli('prune', 'vm1');
    assert.equal(r.code, 75, r.stdout + r.stderr);
    assert.match(r.stdout, /vm1 is busy: backup of vm1/);
    assert.deepEqual(await s.points('vm1'), IDS);
  });

  test('plan and prune --dry-run list the same restore points for the same repo state', async () => {
    const s = await make({ keep_last: 4 }, { allow_mass_prune: true });
    for (const id of IDS) await publish(s.storage, 'hv1', 'vm1', id);
    await publish(s.storage, 'hv1', 'vm1', '2026-11-29-120000', 'failed');
    await publish(s.storage, 'hv1', 'vm1', '2026-11-30-120000', 'ok');
    // The repo state: the committed policy, applied (pruned), and status/ as the daemon writes it back.
    const applied = await s.cli('prune', 'vm1', '--json');
    assert.deepEqual(parse(applied.stdout).vms[0]!.pruned, [IDS[0], '2026-11-29-120000'], 'the oldest good beyond keep_last 4 and the superseded failed one');
    const listed = await s.cli('backups', 'vm1', '--json');
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as { id: string; verified: string }[];
    await mkdir(join(s.repo, 'status', 'vms'), { recursive: true });
    await writeFile(join(s.repo, 'status', 'vms', 'vm1.yaml'), stringify({ vm: 'vm1', restore_points: rows.map((p) => ({ id: p.id, time: isoOf(p.id), status: 'ok', verify: p.verified === 'failed' ? 'failed' : 'ok' })) }));
    const git = (...a: string[]) => execa('git', ['-C', s.repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...a]);
    await git('init', '-q', '-b', 'main');
    await git('add', '-A');
    await git('commit', '-q', '-m', 'keep 4');
    // The change under review: keep 2.
    await writePolicy(s.repo, s.storage, { keep_last: 2 }, { allow_mass_prune: true });
    const p = await vmbackup(['plan', '--repo', s.repo, '--format', 'json']);
    assert.equal(p.code, 2, p.stderr);
    const planned = (JSON.parse(p.stdout) as PolicyPlan).retention.find((r) => r.vm === 'vm1')!.wouldPrune.map((x) => x.id);
    const dry = await s.cli('prune', 'vm1', '--dry-run', '--json');
    assert.equal(dry.code, 0, dry.stderr);
    const listedByPrune = parse(dry.stdout).vms[0]!.prune.map((x) => x.id);
    assert.deepEqual(listedByPrune, planned);
    assert.deepEqual(listedByPrune, IDS.slice(1, 3));
  });
});
