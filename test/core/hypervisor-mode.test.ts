// hypervisors[].runs_on / fd_port / fd_password / max_concurrent_jobs: defaults, and every problem
// located at file:line:col.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';

const load = (hv: string, settings = '') => loadPolicyRepo([
  { path: 'hypervisors.yaml', text: `hypervisors:\n${hv}` },
  ...(settings ? [{ path: 'settings.yaml', text: `settings:\n${settings}` }] : []),
]);
const lines = (r: ReturnType<typeof load>) => r.diagnostics.map(formatDiagnostic);

describe('hypervisor mode fields', () => {
  it('default to control mode: port 9102, {env: BACULA_FD_PASSWORD}, one job at a time, /var/lib/vmbackup; the Director one job too', () => {
    const r = load('  - name: hv1\n    address: 10.0.0.1\n');
    assert.deepEqual(lines(r), []);
    const h = r.desired.hypervisors[0]!;
    assert.deepEqual([h.runsOn, h.fdPort, h.fdPassword, h.maxConcurrentJobs, h.stateDir], ['control', 9102, { env: 'BACULA_FD_PASSWORD' }, 1, '/var/lib/vmbackup']);
    assert.equal(r.desired.settings.bacula.maxConcurrentJobs, 1);
  });

  it('are read as written', () => {
    const r = load([
      '  - name: hv1',
      '    address: 10.0.0.1',
      '    runs_on: hypervisor',
      '    fd_port: 19102',
      '    fd_password: { credential: hv1-fd }',
      '    max_concurrent_jobs: 2',
      '    state_dir: /srv/vmbackup/',
      '',
    ].join('\n'), '  bacula:\n    max_concurrent_jobs: 3\n');
    assert.deepEqual(lines(r), []);
    const h = r.desired.hypervisors[0]!;
    assert.deepEqual([h.runsOn, h.fdPort, h.fdPassword, h.maxConcurrentJobs, h.stateDir], ['hypervisor', 19102, { credential: 'hv1-fd' }, 2, '/srv/vmbackup']);
    assert.equal(r.desired.settings.bacula.maxConcurrentJobs, 3);
  });

  it('runs_on: hypervisor needs an explicit address (the Director connects to its bacula-fd)', () => {
    const r = load('  - name: hv1\n    runs_on: hypervisor\n');
    assert.equal(r.ok, false);
    assert.deepEqual(lines(r), [
      'hypervisors.yaml:3:14: error: hypervisor "hv1": runs_on: hypervisor needs an address (the Director connects to its bacula-fd there): set address [VMB_HYPERVISOR_MODE]',
    ]);
  });

  it('fd_password written as a literal is refused at its position, and never printed', () => {
    const r = load('  - name: hv1\n    address: 10.0.0.1\n    runs_on: hypervisor\n    fd_password: "S3cr3t-Passw0rd!x"\n');
    assert.equal(r.ok, false);
    const out = lines(r);
    assert.deepEqual(out, ['hypervisors.yaml:5:18: error: hypervisors[0].fd_password: secrets are never written in the repo: use {env: NAME} or {credential: NAME} [VMB_SCHEMA]']);
    assert.ok(!out.join('\n').includes('S3cr3t'), out.join('\n'));
  });

  it('bad values are schema errors at the value: runs_on not in the enum, fd_port out of range, max_concurrent_jobs 0', () => {
    const r = load('  - name: hv1\n    address: 10.0.0.1\n    runs_on: hypervsor\n    fd_port: 70000\n    max_concurrent_jobs: 0\n');
    assert.equal(r.ok, false);
    const out = lines(r).join('\n');
    assert.match(out, /^hypervisors\.yaml:4:14: error: .*runs_on.*\[VMB_SCHEMA\]$/m);
    assert.match(out, /^hypervisors\.yaml:5:14: error: .*fd_port.*\[VMB_SCHEMA\]$/m);
    assert.match(out, /^hypervisors\.yaml:6:26: error: .*max_concurrent_jobs.*\[VMB_SCHEMA\]$/m);
    assert.equal(r.desired.hypervisors[0]!.runsOn, 'control');
  });

  it("fd_password may not be the daemon's own secret nor another setting's; the placeholder Client's may be shared", () => {
    const reserved = load('  - name: hv1\n    address: 10.0.0.1\n    runs_on: hypervisor\n    fd_password: { env: VMBACKUP_WEBHOOK_SECRET }\n');
    assert.match(lines(reserved).join('\n'), /^hypervisors\.yaml:5:18: error: hypervisors\[hv1\]\.fd_password: env VMBACKUP_WEBHOOK_SECRET may not be referenced .*\[VMB_SECRET_RESERVED\]$/m);
    const reused = load('  - name: hv1\n    address: 10.0.0.1\n    runs_on: hypervisor\n    fd_password: { env: BACULA_DIR_PASSWORD }\n');
    assert.deepEqual(lines(reused), [
      'hypervisors.yaml:5:18: error: hypervisors[hv1].fd_password: env BACULA_DIR_PASSWORD is already the secret of settings.bacula.password; a secret may serve one setting only: give each its own [VMB_SECRET_REUSED]',
    ]);
    const byDefault = load('  - name: hv1\n    address: 10.0.0.1\n    runs_on: hypervisor\n', '  bacula:\n    storage:\n      password: { env: BACULA_FD_PASSWORD }\n');
    assert.match(lines(byDefault).join('\n'), /^hypervisors\.yaml:4:14: error: hypervisors\[hv1\]\.fd_password: env BACULA_FD_PASSWORD \(its default\) is already the secret of settings\.bacula\.storage\.password/m);
    const shared = load('  - { name: hv1, address: 10.0.0.1, runs_on: hypervisor }\n  - { name: hv2, address: 10.0.0.2, runs_on: hypervisor, fd_password: { env: BACULA_FD_PASSWORD } }\n');
    assert.deepEqual(lines(shared), []);
  });

  it("a hypervisor whose Client name is the placeholder Client's is refused", () => {
    const r = load('  - name: vmbackup\n    address: 10.0.0.1\n    runs_on: hypervisor\n');
    assert.deepEqual(lines(r), [
      'hypervisors.yaml:4:14: error: hypervisor "vmbackup": its Client "vmbackup-fd" has the name of settings.bacula.client.name: rename one [VMB_HYPERVISOR_MODE]',
    ]);
  });
});
