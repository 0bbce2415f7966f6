import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseBlockJobRaw, parseDf, parseFreezeStatus, parseQemuImgInfo, parseVirshList } from '../../src/adapters/libvirt/parse.js';

describe('virsh/qemu-img output parsers', () => {
  test('virsh list --all', () => {
    const m = parseVirshList(' Id   Name        State\n---------------------------\n 1    lab-noos    running\n -    hv2-vm2     shut off\n');
    assert.deepEqual([...m], [['lab-noos', 'running'], ['hv2-vm2', 'shut off']]);
  });
  test('qemu-img info with backing chain and data file', () => {
    const [top, base] = parseQemuImgInfo(JSON.stringify([
      { filename: '/o.qcow2', format: 'qcow2', 'virtual-size': 10, 'actual-size': 5, 'full-backing-filename': '/b.qcow2', 'backing-filename-format': 'qcow2', 'format-specific': { type: 'qcow2', data: { 'data-file': '/dev/x' } } },
      { filename: '/b.qcow2', format: 'qcow2', 'virtual-size': 10, 'actual-size': 7 },
    ]));
    assert.deepEqual(top, { filename: '/o.qcow2', format: 'qcow2', virtualSize: 10, actualSize: 5, backingFilename: '/b.qcow2', backingFormat: 'qcow2', dataFile: '/dev/x', dirty: false, encrypted: false });
    assert.equal(base!.backingFilename, undefined);
  });
  test('blockjob --info --raw', () => {
    assert.deepEqual(parseBlockJobRaw(' type=Active Block Commit\n bandwidth=0\n cur=1\n end=1\n'), { type: 'Active', cur: 1, end: 1, ready: true });
    assert.equal(parseBlockJobRaw('No current block job for vda'), null);
    assert.equal(parseBlockJobRaw(' type=Active Block Commit\n cur=5\n end=9\n')!.ready, false);
  });
  test('fsfreeze status', () => {
    assert.equal(parseFreezeStatus('{"return":"thawed"}'), 'thawed');
    assert.equal(parseFreezeStatus('{"return":"frozen"}'), 'frozen');
    assert.equal(parseFreezeStatus('garbage'), 'unknown');
  });
  test('df -P -B1', () => {
    assert.deepEqual(parseDf('Filesystem 1B-blocks Used Available Capacity Mounted on\ntmpfs 67108864 0 67108864 0% /mnt/backup small\n'), { totalBytes: 67108864, availBytes: 67108864, mount: '/mnt/backup small' });
  });
});
