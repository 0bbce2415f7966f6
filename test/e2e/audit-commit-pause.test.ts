// Issue 13 "a pause shows in status and metrics", end to end: a pause in the state store (as
// `vmbackup pause` or the API leaves it) and its audit line; the real daemon's first status commit
// carries `paused:` in status/vms/<vm>.yaml, the README row, and status/audit/; its /metrics says
// vmbackup_vm_paused 1 with the end time. The hypervisor cannot be reached (no lab needed).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parse } from 'yaml';
import { type TestRepo } from '../helpers/git-repo.js';
import { offlineFleetRepo } from '../helpers/offline-fleet.js';
import { startDaemon, waitFor, type DaemonProc } from '../helpers/daemon.js';
import { AuditLog } from '../../src/adapters/store/audit-log.js';
import { setPause } from '../../src/adapters/store/pauses.js';
import { StateStore } from '../../src/adapters/store/state-store.js';

describe('a pause in the status commit and the metrics of a real daemon', () => {
  let root = '';
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  const bare = async (...a: string[]): Promise<string> => (await execa('git', ['--git-dir', repo!.bare, ...a])).stdout;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'vmb-pause-status-'));
    ({ repo } = await offlineFleetRepo(root, { settings: ['  time_zone: UTC'], vms: ['app-01', 'db-01'] }));
  });
  after(async () => { await d?.stop().catch(() => undefined); await repo?.cleanup(); await rm(root, { recursive: true, force: true }); });

  test('paused: in the VM file and README, the audit line beside it, vm_paused 1 on /metrics', async () => {
    const stateDir = join(root, 'state');
    const now = new Date();
    const until = new Date(now.getTime() + 2 * 86_400_000).toISOString();
    await setPause(await StateStore.open(stateDir), { vm: 'app-01', until, reason: 'disk migration', by: 'cli:alice', at: now.toISOString() }, now.toISOString());
    await new AuditLog(stateDir).append({ at: now.toISOString(), by: 'cli:alice', role: 'cli', act: 'pause', vm: 'app-01', result: 'ok', detail: `until ${until}: disk migration` });
    d = await startDaemon(repo!.bare, stateDir);
    await waitFor('a status commit', async () => (await bare('log', '--format=%s', 'main')).includes('status:'), 60_000).catch((e: Error) => { throw new Error(`${e.message}\n${d!.logs().slice(-3000)}`); });
    const vm = parse(await bare('show', 'main:status/vms/app-01.yaml')) as Record<string, unknown>;
    assert.deepEqual(vm.paused, { until, reason: 'disk migration', by: 'cli:alice' });
    assert.equal((parse(await bare('show', 'main:status/vms/db-01.yaml')) as Record<string, unknown>).paused, undefined);
    // The calendar row (the "Needs attention" table above it has one for app-01 too: the host is down).
    const row = (await bare('show', 'main:status/README.md')).split('\n').filter((l) => l.startsWith('| app-01 |')).at(-1)!;
    assert.match(row, /⏸ paused until \d{4}-\d{2}-\d{2} \d{2}:\d{2} \(disk migration, by cli:alice\)/);
    const month = now.toISOString().slice(0, 7);
    assert.match(await bare('show', `main:status/audit/${month}.jsonl`), /"act":"pause","vm":"app-01","result":"ok"/);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    assert.match(metrics, /^vmbackup_vm_paused\{hypervisor="hv-gone",vm="app-01"\} 1$/m);
    assert.match(metrics, /^vmbackup_vm_paused\{hypervisor="hv-gone",vm="db-01"\} 0$/m);
    assert.match(metrics, new RegExp(`^vmbackup_vm_paused_until_timestamp_seconds\\{vm="app-01"\\} ${Date.parse(until) / 1000}$`, 'm'));
  });
});
