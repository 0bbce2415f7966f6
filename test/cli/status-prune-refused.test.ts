// `vmbackup status` shows a VM the mass-prune guard stalled (Ready True, Stalled PruneRefused)
// with the reason, and exits 1: a refused prune is not a healthy fleet.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { stringify } from 'yaml';
import { vmbackup } from '../helpers/cli.js';

const dirs: string[] = [];
after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }); });

async function repoWith(vms: Record<string, unknown>[]): Promise<{ repo: string; state: string }> {
  const root = await mkdtemp(join(tmpdir(), 'vmb-status-stalled-')); dirs.push(root);
  const repo = join(root, 'repo'); const state = join(root, 'state');
  await mkdir(join(repo, 'status', 'vms'), { recursive: true }); await mkdir(state);
  for (const v of vms) await writeFile(join(repo, 'status', 'vms', `${String(v.vm)}.yaml`), stringify(v));
  return { repo, state };
}

const ready = { type: 'Ready', status: 'True', reason: 'BackupSucceeded', message: 'ok', last_transition_time: '2026-01-01T00:00:00Z' };
const stalled = { type: 'Stalled', status: 'True', reason: 'PruneRefused', message: 'the mass-prune guard refused this pass; settings.allow_mass_prune allows it', last_transition_time: '2026-01-01T00:00:00Z' };

describe('vmbackup status and PruneRefused', () => {
  test('a Ready VM that is Stalled by the prune guard is shown with the reason and exits 1', async () => {
    const { repo, state } = await repoWith([{ vm: 'db', hypervisor: 'h', conditions: [ready, stalled] }, { vm: 'web', hypervisor: 'h', conditions: [ready] }]);
    const r = await vmbackup(['status', '--repo', repo, '--state-dir', state]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const dbLine = r.stdout.split('\n').find((l) => l.startsWith('db '));
    assert.ok(dbLine, r.stdout);
    assert.match(dbLine, /Stalled: PruneRefused/);
    const j = await vmbackup(['status', '--repo', repo, '--state-dir', state, '--json']);
    assert.equal(j.code, 1);
    const rows = (JSON.parse(j.stdout) as { vms: { vm: string; stalled?: string; stalled_message?: string }[] }).vms;
    assert.equal(rows.find((x) => x.vm === 'db')?.stalled, 'PruneRefused');
    assert.match(rows.find((x) => x.vm === 'db')?.stalled_message ?? '', /mass-prune guard/);
    assert.equal(rows.find((x) => x.vm === 'web')?.stalled, undefined);
  });

  test('all Ready and nothing Stalled exits 0', async () => {
    const { repo, state } = await repoWith([{ vm: 'web', hypervisor: 'h', conditions: [ready] }]);
    const r = await vmbackup(['status', '--repo', repo, '--state-dir', state]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
