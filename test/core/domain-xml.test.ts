// The network side of rewriteDomainXml and the MACs a copy gets. Each case mirrors a refusal seen
// on real libvirt 9.0 (test/engine/restore-network.test.ts starts the results there).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { freshMacs, parseDomainXml, rewriteDomainXml, type RewriteSpec } from '../../src/core/domain-xml.js';

const xml = `<domain type='kvm'><name>web1</name><uuid>11111111-2222-3333-4444-555555555555</uuid><devices>
<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/img/web1.qcow2'/><target dev='vda' bus='virtio'/></disk>
<interface type='network'><mac address='52:54:00:00:00:01'/><source network='prod'/><target dev='web1-eth0'/><model type='virtio'/><driver name='vhost' queues='2'/></interface>
<interface type='bridge'><mac address='52:54:00:00:00:02'/><source bridge='br-dmz'/><vlan><tag id='42'/></vlan><model type='virtio'/></interface>
<interface type='bridge'><mac address='52:54:00:00:00:03'/><source bridge='ovsbr0'/><virtualport type='openvswitch'><parameters interfaceid='09b11c53-8b5c-4eeb-8f00-d84eaa0aaa4f'/></virtualport><model type='virtio'/></interface>
<interface type='hostdev' managed='yes'><mac address='52:54:00:00:00:04'/><driver name='vfio'/><source><address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x1'/></source></interface>
</devices></domain>`;

const copy = (network: RewriteSpec['network']): string => rewriteDomainXml(xml, {
  name: 'web1-copy', uuid: '99999999-2222-3333-4444-555555555555', disks: {}, network,
  macs: ['52:54:00:10:00:01', '52:54:00:10:00:02', '52:54:00:10:00:03', '52:54:00:10:00:04'],
});
/** The child element names of each <interface>, in order. */
const nicTags = (out: string): string[][] => [...out.matchAll(/<interface[^>]*>([\s\S]*?)<\/interface>/g)].map((m) => [...m[1]!.matchAll(/<([a-z]+)[\s/>]/g)].map((t) => t[1]!));

describe('rewriteDomainXml: NICs', () => {
  test('a copy drops fixed tap names (the original holds them), keeps the rest with new MACs', () => {
    const out = copy({ mode: 'keep' });
    assert.doesNotMatch(out, /web1-eth0/);
    assert.deepEqual(parseDomainXml(out).interfaces.map((i) => [i.type, i.source, i.mac]), [
      ['network', 'prod', '52:54:00:10:00:01'], ['bridge', 'br-dmz', '52:54:00:10:00:02'], ['bridge', 'ovsbr0', '52:54:00:10:00:03'], ['hostdev', undefined, '52:54:00:10:00:04'],
    ]);
    assert.match(out, /<tag id="42"/, 'keep leaves the VLAN');
    assert.match(out, /<virtualport type="openvswitch"/, 'keep leaves the port profile');
  });

  test('in place keeps the tap names and the MACs', () => {
    const out = rewriteDomainXml(xml, { name: 'web1', disks: {}, network: { mode: 'keep' } });
    assert.match(out, /<target dev="web1-eth0"/);
    assert.deepEqual(parseDomainXml(out).interfaces.map((i) => i.mac), ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:00:00:03', '52:54:00:00:00:04']);
  });

  test('isolated: every NIC on the isolated network, without VLAN, port profile, VF driver or tap name', () => {
    const out = copy({ mode: 'isolated', network: 'lab-isolated' });
    assert.deepEqual(parseDomainXml(out).interfaces.map((i) => [i.type, i.source]), Array(4).fill(['network', 'lab-isolated']));
    assert.deepEqual(nicTags(out), [['mac', 'model', 'driver', 'source'], ['mac', 'model', 'source'], ['mac', 'model', 'source'], ['mac', 'source']]);
    assert.match(out, /<driver name="vhost" queues="2"/, 'a virtio NIC keeps its driver tuning');
    assert.doesNotMatch(out, /managed=/);
  });

  test('none removes them all', () => {
    assert.deepEqual(parseDomainXml(copy({ mode: 'none' })).interfaces, []);
  });
});

describe('freshMacs', () => {
  test('never one of the originals, never twice', () => {
    const seq = [[0, 0, 1], [0, 0, 1], [0, 0, 2], [0, 0, 3]].map((b) => new Uint8Array(b));
    let i = 0;
    assert.deepEqual(freshMacs(2, ['52:54:00:00:00:02'], () => seq[i++]!), ['52:54:00:00:00:01', '52:54:00:00:00:03']);
  });
  test('case-insensitive against the originals', () => {
    const seq = [[0xab, 0, 0], [0xab, 0, 1]].map((b) => new Uint8Array(b));
    let i = 0;
    assert.deepEqual(freshMacs(1, ['52:54:00:AB:00:00'], () => seq[i++]!), ['52:54:00:ab:00:01']);
  });
});
