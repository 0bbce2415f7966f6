// Table tests for the engine's pure parts: disk selection, pre-checks, layout, manifest, domain XML.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backupDir, backupIdAt, diskFileName, isOurOverlay, overlayPath, under } from '../../src/core/backup-layout.js';
import { macFromBytes, parseDomainXml, rewriteDomainXml } from '../../src/core/domain-xml.js';
import { checksumsText, parseChecksums } from '../../src/core/manifest.js';
import { evaluatePrechecks, selectDisks, type PrecheckInput } from '../../src/core/prechecks.js';
import type { Vm } from '../../src/core/model.js';

const disk = (target: string, extra: Record<string, unknown> = {}) => ({ target, device: 'disk', type: 'file', source: `/img/${target}.qcow2`, format: 'qcow2', readonly: false, backing: [] as string[], ...extra });
const vm = (extra: Partial<Vm> = {}): Vm => ({ name: 'db1', hypervisor: 'hv1', enabled: true, method: 'quiesce', priority: 1, schedule: { spec: 'weekly', cron: '0 12 * * 6' }, retention: { keepLast: 1 }, incremental: { fullEvery: 1 }, preBackupCommands: [], labels: {}, disks: { include: [], exclude: [] }, allowOffline: false, verify: { everyDays: 30 }, testRestore: { everyDays: 0, network: 'none' }, compression: 'none', source: { file: 'x', line: 1, col: 1 }, ...extra });

describe('selectDisks', () => {
  const all = [disk('vda'), disk('vdb'), disk('sda', { device: 'cdrom' }), disk('vdc', { readonly: true })];
  const table: [string, Vm['disks'], string[], string[]][] = [
    ['default: every writable disk', { include: [], exclude: [] }, ['vda', 'vdb'], ['sda', 'vdc']],
    ['exclude', { include: [], exclude: ['vdb'] }, ['vda'], ['vdb', 'sda', 'vdc']],
    ['include', { include: ['vdb'], exclude: [] }, ['vdb'], ['vda', 'sda', 'vdc']],
    ['include never brings back a cdrom', { include: ['sda'], exclude: [] }, [], ['vda', 'vdb', 'sda', 'vdc']],
  ];
  for (const [name, rule, copy, skipped] of table) {
    test(name, () => {
      const r = selectDisks(all, rule);
      assert.deepEqual(r.copy.map((d) => d.target), copy);
      assert.deepEqual(r.skipped.map((d) => d.target).sort(), [...skipped].sort());
    });
  }
});

describe('evaluatePrechecks', () => {
  const base = (o: Partial<PrecheckInput> = {}): PrecheckInput => ({
    vm: vm(), state: 'running', disks: { copy: [disk('vda')], skipped: [] }, images: [{ target: 'vda', format: 'qcow2', allocatedBytes: 1000 }],
    agentAnswers: true, snapshotNames: [], storage: { writable: true, availBytes: 10_000 }, hypervisorFree: { availBytes: 100 * 1024 ** 3, path: '/', minFreeGiB: 50 }, marginPercent: 10, ...o,
  });
  const table: [string, Partial<PrecheckInput>, RegExp | null, RegExp | null][] = [
    ['all good', {}, null, null],
    ['VM missing', { state: undefined }, /does not exist/, null],
    ['VM shut off, offline not allowed', { state: 'shut off' }, /is shut off \(set allow_offline/, null],
    ['VM shut off, offline allowed', { state: 'shut off', vm: vm({ allowOffline: true }) }, null, null],
    ['paused VM', { state: 'paused' }, /is paused/, null],
    ['agent silent: fallback warning', { agentAnswers: false }, null, /falling back to a crash-consistent/],
    ['foreign snapshot metadata', { snapshotNames: ['pre-upgrade'] }, /foreign snapshots exist: pre-upgrade/, null],
    ['foreign backing chain', { disks: { copy: [disk('vda', { backing: ['/img/old.qcow2'] })], skipped: [] } }, /foreign snapshot\/backing chain/, null],
    ['our leftover overlay', { disks: { copy: [disk('vda', { source: '/img/db1-vda.vmbackup-2026-01-01-000000.overlay.qcow2' })], skipped: [] } }, /run vmbackup cleanup db1/, null],
    ['image with a backing file', { images: [{ target: 'vda', format: 'qcow2', allocatedBytes: 1, backing: '/etc/shadow' }] }, /backing file \/etc\/shadow; refusing/, null],
    ['image with an external data file', { images: [{ target: 'vda', format: 'qcow2', allocatedBytes: 1, dataFile: '/dev/sda' }] }, /external data file/, null],
    ['storage too small', { storage: { writable: true, availBytes: 1050 } }, /needs 1\.1 KiB|needs 1100 B/, null],
    ['storage not writable', { storage: { writable: false, availBytes: 1e9 } }, /not writable/, null],
    ['storage unmounted', { storage: { writable: false, availBytes: 0, error: '/mnt/backup: ENOENT' } }, /backup storage: \/mnt\/backup: ENOENT/, null],
    ['hypervisor short of space', { hypervisorFree: { availBytes: 10 * 1024 ** 3, path: '/var', minFreeGiB: 50 } }, /at least 50 GiB required/, null],
    ['network disk', { disks: { copy: [disk('vda', { type: 'network', source: undefined })], skipped: [] } }, /network disks are not supported/, null],
  ];
  for (const [name, o, fail, warn] of table) {
    test(name, () => {
      const r = evaluatePrechecks(base(o));
      if (fail) assert.ok(r.failures.some((f) => fail.test(f)), r.failures.join('\n'));
      else assert.deepEqual(r.failures, []);
      if (warn) assert.ok(r.warnings.some((w) => warn.test(w)));
      assert.equal(r.ok, !fail);
    });
  }
  test('quiesce only when the method asks and the agent answers', () => {
    assert.equal(evaluatePrechecks(base()).quiesce, true);
    assert.equal(evaluatePrechecks(base({ agentAnswers: false })).quiesce, false);
    assert.equal(evaluatePrechecks(base({ vm: vm({ method: 'snapshot' }) })).quiesce, false);
  });
});

describe('backup layout', () => {
  test('ids are UTC and sortable', () => assert.equal(backupIdAt('2026-02-01T22:00:15.123+01:00'), '2026-02-01-210015'));
  test('seed 002 layout', () => {
    assert.equal(backupDir('/mnt/backup', 'hypervisor-01', 'prod-db-01', '2026-02-01-220015'), '/mnt/backup/hypervisor-01/prod-db-01/2026-02-01-220015');
    assert.equal(backupDir('/mnt/backup/', 'h', 'v', '2026-02-01-220015', true), '/mnt/backup/h/v/2026-02-01-220015.partial');
    assert.equal(diskFileName('prod-db-01', 'vda'), 'prod-db-01-vda.qcow2');
  });
  for (const bad of ['..', '.', 'a/b', '', 'x\0y']) test(`refuses path component ${JSON.stringify(bad)}`, () => assert.throws(() => under('/mnt/backup', bad)));
  test('refuses a bad id', () => assert.throws(() => backupDir('/r', 'h', 'v', '../../etc')));
  test('overlay names are recognisable', () => {
    const o = overlayPath('/var/lib/libvirt/images/db.qcow2', 'db', 'vda', '2026-02-01-220015');
    assert.equal(o, '/var/lib/libvirt/images/db-vda.vmbackup-2026-02-01-220015.overlay.qcow2');
    assert.equal(isOurOverlay(o), true);
    assert.equal(isOurOverlay('/var/lib/libvirt/images/db.qcow2'), false);
  });
});

describe('checksums.sha256', () => {
  test('round trip in sha256sum -c format', () => {
    const files = [{ path: 'b.qcow2', sha256: 'b'.repeat(64) }, { path: 'a.xml', sha256: 'a'.repeat(64) }];
    const text = checksumsText(files);
    assert.equal(text, `${'a'.repeat(64)}  a.xml\n${'b'.repeat(64)}  b.qcow2\n`);
    assert.deepEqual([...parseChecksums(text).entries], [['a.xml', 'a'.repeat(64)], ['b.qcow2', 'b'.repeat(64)]]);
  });
  test('rejects paths and junk', () => assert.deepEqual(parseChecksums(`${'a'.repeat(64)}  ../x\nnonsense\n`).bad.length, 2));
});

describe('domain XML', () => {
  const xml = `<domain type='kvm'><name>db1</name><uuid>11111111-2222-3333-4444-555555555555</uuid><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/db1.qcow2'/><backingStore/><target dev='vda' bus='virtio'/></disk>
<disk type='file' device='cdrom'><source file='/iso/x.iso'/><target dev='sda' bus='sata'/><readonly/></disk>
<interface type='bridge'><mac address='52:54:00:aa:bb:cc'/><source bridge='br0'/><model type='virtio'/></interface>
<serial type='file'><source path='/var/log/db1.log'/><target port='0'/></serial>
<channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/db1.agent'/><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
</devices></domain>`;
  test('parse', () => {
    const d = parseDomainXml(xml);
    assert.equal(d.name, 'db1');
    assert.deepEqual(d.disks.map((x) => [x.target, x.device, x.source, x.readonly]), [['vda', 'disk', '/img/db1.qcow2', false], ['sda', 'cdrom', '/iso/x.iso', true]]);
    assert.deepEqual(d.interfaces, [{ type: 'bridge', mac: '52:54:00:aa:bb:cc', source: 'br0' }]);
    assert.equal(d.hasAgentChannel, true);
  });
  test('rewrite for a copy: name, uuid, disks, macs, isolated network, host files detached', () => {
    const out = rewriteDomainXml(xml, { name: 'db1-copy', uuid: '99999999-2222-3333-4444-555555555555', disks: { vda: { path: '/img/db1-copy-vda.qcow2', format: 'qcow2' } }, network: { mode: 'isolated', network: 'vmbackup-isolated' }, macs: ['52:54:00:01:02:03'] });
    const d = parseDomainXml(out);
    assert.equal(d.name, 'db1-copy');
    assert.equal(d.uuid, '99999999-2222-3333-4444-555555555555');
    assert.equal(d.disks[0]!.source, '/img/db1-copy-vda.qcow2');
    assert.equal(d.disks[1]!.source, '/iso/x.iso', 'the cdrom is untouched');
    assert.deepEqual(d.interfaces, [{ type: 'network', mac: '52:54:00:01:02:03', source: 'vmbackup-isolated' }]);
    assert.doesNotMatch(out, /\/var\/log\/db1\.log/);
    assert.doesNotMatch(out, /db1\.agent/);
  });
  test('rewrite with no network removes every NIC; in place keeps identity', () => {
    const none = parseDomainXml(rewriteDomainXml(xml, { name: 'db1', disks: {}, network: { mode: 'none' } }));
    assert.deepEqual(none.interfaces, []);
    assert.equal(none.uuid, '11111111-2222-3333-4444-555555555555');
  });
  test('MACs are locally administered, libvirt range', () => assert.equal(macFromBytes(new Uint8Array([1, 0xab, 255])), '52:54:00:01:ab:ff'));
});
