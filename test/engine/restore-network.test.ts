// restore and test-restore and the network, against the lab's real libvirt. lab-net has two NICs
// with fixed MACs on lab-prod (a stand-in production network). A copy under a new name gets new
// MACs (--network keep), no NIC (none) or its NICs on the isolated network (isolated); a
// test-restore copy never touches lab-prod and is removed; an in-place restore keeps the MACs;
// and a copy never changes the original.
import { describe, test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { vmbackup } from '../helpers/cli.js';
import { labEnv, labOrSkip, type LabEnv } from '../helpers/lab.js';
import { sh, virsh } from '../helpers/faults.js';
import { domains, domstate, domuuid, dumpxml, isFreshMac, lvirsh, masterOf, nics, portsOf, removeCopy, watchDomain, type Nic } from '../helpers/net.js';
import { labHost, labNetwork, loadLab, type Lab, type LabNetwork, type LabNic, type LabVm } from '../lab/lab.js';
import { freshMacs, parseDomainXml, rewriteDomainXml } from '../../src/core/domain-xml.js';

interface NetLab { lab: Lab; vm: LabVm; vmNics: LabNic[]; prod: LabNetwork; iso: LabNetwork }
interface RestoreJson { name: string; host: string; disks: string[]; defined: boolean; run: { status: string; error?: string } }
interface Evidence { test_name: string; network: string; result: string; checks: { name: string; ok: boolean }[]; cleanup: string[] }

function netLabOrSkip(t: TestContext): NetLab | undefined {
  const lab = labOrSkip(t);
  if (!lab) return undefined;
  const vm = lab.vms.find((v) => v.name === lab.roles.net);
  const prod = labNetwork(lab, 'prod');
  const iso = labNetwork(lab, 'isolated');
  if (vm?.nics?.length && prod && iso) return { lab, vm, vmNics: vm.nics, prod, iso };
  const why = 'the lab has no VM with NICs or no networks (re-run: sudo test/lab/up.sh)';
  if (process.env.CI === 'true') throw new Error(`CI=true and ${why}`);
  t.skip(why);
  return undefined;
}

/** The bridges libvirt recorded for a running domain's NICs (`<source network=… bridge=…/>`). */
const liveBridges = (xml: string): string[][] => [...xml.matchAll(/<source network='([^']+)'[^>]*bridge='([^']+)'/g)].map((m) => [m[1]!, m[2]!]);

describe('restore and test-restore with the network, on the lab (lab-net)', { timeout: 900_000 }, () => {
  const tag = process.pid.toString(36);
  let env: LabEnv | undefined;
  let id = '';
  let uuid = '';
  const copies: string[] = [];
  const VM = (): string => env!.lab.roles.net!;
  const cli = (...args: string[]) => vmbackup([...args, '--repo', env!.repo, '--state-dir', env!.stateDir, '--json']);

  before(async () => {
    const l = loadLab();
    if (l?.roles.net) env = await labEnv(l, { isolate: true });
  });
  after(async () => {
    if (!env) return;
    for (const c of copies) await removeCopy(env.lab, c);
    if ((await lvirsh(['domstate', '--domain', VM()])).stdout.trim() !== 'running') await lvirsh(['start', '--domain', VM()]);
    await env.cleanup();
  });

  /** lab-net as the lab describes it: running, same UUID, its MACs on lab-prod, its taps on lab-prod's bridge. */
  async function assertOriginal(n: NetLab): Promise<void> {
    assert.equal(await domstate(n.vm.name), 'running', `${n.vm.name} must still run`);
    assert.equal(await domuuid(n.vm.name), uuid);
    const want = n.vmNics.map((x) => ['network', x.network, x.mac]);
    assert.deepEqual((await nics(n.vm.name, true)).map((x) => [x.type, x.source, x.mac]), want, 'original definition');
    const live = await nics(n.vm.name, false);
    assert.deepEqual(live.map((x) => x.mac), n.vmNics.map((x) => x.mac), 'original running NICs');
    live.forEach((x, i) => { if (n.vmNics[i]!.tap) assert.equal(x.tap, n.vmNics[i]!.tap, 'its fixed tap name'); });
    for (const x of live) assert.equal(await masterOf(x.tap), n.prod.bridge, `${n.vm.name} ${x.tap} left ${n.prod.bridge}`);
  }

  async function restoreCopy(n: NetLab, mode: 'keep' | 'none' | 'isolated'): Promise<{ name: string; def: Nic[]; live: Nic[]; xml: string }> {
    assert.ok(id, 'no backup of lab-net (the backup test failed)');
    const name = `${n.vm.name}-${mode}-${tag}`;
    copies.push(name);
    const r = await cli('restore', n.vm.name, '--backup', id, '--as', name, '--network', mode, '--start');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const out = JSON.parse(r.stdout) as RestoreJson;
    assert.equal(out.name, name);
    assert.equal(out.defined, true);
    assert.equal(await domstate(name), 'running');
    assert.notEqual(await domuuid(name), uuid, 'a copy has a UUID of its own');
    return { name, def: await nics(name, true), live: await nics(name, false), xml: await dumpxml(name, true) };
  }

  function assertFreshMacs(n: NetLab, got: Nic[]): void {
    const orig = n.vmNics.map((x) => x.mac);
    for (const x of got) assert.ok(isFreshMac(x.mac, orig), `${x.mac} is not a new MAC (original: ${orig.join(', ')})`);
    assert.equal(new Set(got.map((x) => x.mac)).size, got.length, 'MACs are distinct');
  }

  test('backup lab-net: the stored definition has both NICs, their MACs, on lab-prod', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    uuid = await domuuid(n.vm.name);
    await assertOriginal(n);
    const r = await cli('backup', n.vm.name);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    id = (JSON.parse(r.stdout) as { backupId: string }).backupId;
    const xml = await readFile(join(env!.storageDir, n.vm.host, n.vm.name, id, `${n.vm.name}.xml`), 'utf8');
    assert.deepEqual(parseDomainXml(xml).interfaces, n.vmNics.map((x) => ({ type: 'network', mac: x.mac, source: x.network })));
    await assertOriginal(n);
  });

  test('--network keep under a new name, started: NICs stay on lab-prod with new MACs; original untouched', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    const c = await restoreCopy(n, 'keep');
    try {
      assert.deepEqual(c.def.map((x) => [x.type, x.source]), n.vmNics.map((x) => ['network', x.network]));
      assertFreshMacs(n, c.def);
      assert.deepEqual(c.live.map((x) => x.mac), c.def.map((x) => x.mac), 'runs with the MACs it was defined with');
      const fixed = n.vmNics.map((x) => x.tap).filter(Boolean);
      for (const x of c.live) assert.ok(!fixed.includes(x.tap), `the copy took the original's tap name ${x.tap}`);
      for (const x of c.live) assert.equal(await masterOf(x.tap), n.prod.bridge);
      await assertOriginal(n);
    } finally { await removeCopy(n.lab, c.name); }
  });

  test('--network none under a new name, started: no NIC at all; original untouched', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    const c = await restoreCopy(n, 'none');
    try {
      assert.deepEqual(c.def, []);
      assert.deepEqual(c.live, []);
      assert.doesNotMatch(c.xml, /<interface/);
      await assertOriginal(n);
    } finally { await removeCopy(n.lab, c.name); }
  });

  test('--network isolated under a new name, started: NICs on the isolated network with new MACs, off lab-prod', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    const c = await restoreCopy(n, 'isolated');
    try {
      assert.deepEqual(c.def.map((x) => [x.type, x.source]), n.vmNics.map(() => ['network', n.iso.name]));
      assertFreshMacs(n, c.def);
      const prodPorts = await portsOf(n.prod.bridge);
      for (const x of c.live) {
        assert.equal(await masterOf(x.tap), n.iso.bridge);
        assert.ok(!prodPorts.includes(x.tap), `${x.tap} is on ${n.prod.bridge}`);
      }
      await assertOriginal(n);
    } finally { await removeCopy(n.lab, c.name); }
  });

  test('--network isolated onto a host without that network: refused before any disk is copied', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    assert.ok(id, 'no backup of lab-net');
    const name = `${n.vm.name}-noiso-${tag}`;
    const hv2 = labHost(n.lab, 'hv2');
    const leftovers = async (): Promise<string[]> => (await readdir(hv2.labImagesDir)).filter((f) => f.startsWith(`${name}-`));
    try {
      const r = await cli('restore', n.vm.name, '--backup', id, '--as', name, '--host', 'hv2', '--network', 'isolated');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as RestoreJson;
      assert.match(out.run.error ?? '', /isolated network \S+ is not active on hv2/);
      assert.equal(out.defined, false);
      assert.deepEqual(out.disks, []);
      assert.deepEqual(await leftovers(), [], 'no disk copied to hv2');
      assert.doesNotMatch((await virsh(n.lab, 'hv2', ['list', '--all', '--name'])).stdout, new RegExp(`^${name}$`, 'm'));
    } finally {
      await virsh(n.lab, 'hv2', ['undefine', '--domain', name]);
      for (const f of await leftovers()) await rm(join(hv2.labImagesDir, f), { force: true });
    }
  });

  test('isolated, real libvirt: a copy of NICs with production switch settings (VLAN, OVS port, SR-IOV VF, fixed tap) starts', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    assert.ok(id, 'no backup of lab-net');
    const name = `${n.vm.name}-switch-${tag}`;
    copies.push(name);
    // lab-net's stored definition plus NICs as production hosts have them (none of them could run here).
    const stored = await readFile(join(env!.storageDir, n.vm.host, n.vm.name, id, `${n.vm.name}.xml`), 'utf8');
    const xml = stored.replace('</devices>', [
      "<interface type='bridge'><mac address='52:54:00:1a:b0:11'/><source bridge='br-prod'/><vlan><tag id='42'/></vlan><model type='virtio'/><rom enabled='no'/></interface>",
      "<interface type='bridge'><mac address='52:54:00:1a:b0:12'/><source bridge='ovsbr0'/><virtualport type='openvswitch'/><target dev='prod-ovs0'/><model type='virtio'/><rom enabled='no'/></interface>",
      "<interface type='hostdev' managed='yes'><mac address='52:54:00:1a:b0:13'/><driver name='vfio'/><source><address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x1'/></source><rom enabled='no'/></interface>",
      '</devices>'].join('\n'));
    const orig = parseDomainXml(xml).interfaces.map((i) => i.mac!);
    const disk = join(labHost(n.lab, n.vm.host).labImagesDir, `${name}-vda.qcow2`);
    assert.equal((await sh(['qemu-img', 'create', '-q', '-f', 'qcow2', disk, '16M'])).code, 0);
    const out = rewriteDomainXml(xml, { name, uuid: randomUUID(), disks: { vda: { path: disk, format: 'qcow2' } }, network: { mode: 'isolated', network: n.iso.name }, macs: freshMacs(orig.length, orig, () => randomBytes(3)) });
    await writeFile(join(env!.root, `${name}.xml`), out);
    try {
      const def = await lvirsh(['define', '--file', join(env!.root, `${name}.xml`)]);
      assert.equal(def.code, 0, def.stderr);
      const start = await lvirsh(['start', '--domain', name]);
      assert.equal(start.code, 0, start.stderr);
      const live = await nics(name, false);
      assert.equal(live.length, orig.length);
      for (const x of live) {
        assert.equal(x.source, n.iso.name);
        assert.equal(await masterOf(x.tap), n.iso.bridge);
        assert.ok(isFreshMac(x.mac, orig), x.mac);
      }
      await assertOriginal(n);
    } finally { await removeCopy(n.lab, name); }
  });

  for (const mode of ['none', 'isolated'] as const) {
    test(`test-restore --network ${mode}: the throwaway copy ${mode === 'none' ? 'has no NIC' : 'is only on the isolated network'}, and is removed`, async (t) => {
      const n = netLabOrSkip(t);
      if (!n) return;
      assert.ok(id, 'no backup of lab-net');
      // lab-net has no OS: its copy runs but shows no console prompt (the default probe), so the test fails.
      const { result: r, seen } = await watchDomain(`${n.vm.name}-restoretest-`, cli('test-restore', n.vm.name, '--backup', id, '--network', mode, '--boot-timeout', '10'));
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const ev = (JSON.parse(r.stdout) as { evidence: Evidence }).evidence;
      assert.equal(ev.network, mode);
      assert.equal(ev.result, 'failed');
      assert.deepEqual(ev.checks.map((c) => [c.name, c.ok]), [['restore', true], ['evidence-devices', true], ['start', true], ['running', true], ['probe', false]]);
      assert.ok(seen, 'the throwaway domain was never seen running');
      assert.equal(seen.name, ev.test_name);
      assert.doesNotMatch(seen.xml, new RegExp(`'${n.prod.name}'|'${n.prod.bridge}'`), `the copy touched ${n.prod.name}`);
      if (mode === 'none') {
        assert.deepEqual(seen.nics, []);
        assert.doesNotMatch(seen.xml, /<interface/);
      } else {
        assert.deepEqual(seen.nics.map((x) => x.source), n.vmNics.map(() => n.iso.name));
        assert.deepEqual(liveBridges(seen.xml), n.vmNics.map(() => [n.iso.name, n.iso.bridge]));
        assertFreshMacs(n, seen.nics);
      }
      assert.ok(!(await domains()).includes(ev.test_name), `${ev.test_name} is still defined`);
      assert.deepEqual((await readdir(labHost(n.lab, n.vm.host).labImagesDir)).filter((f) => f.startsWith(ev.test_name)), []);
      assert.ok(ev.cleanup.includes(`destroyed ${ev.test_name}`) && ev.cleanup.includes(`undefined ${ev.test_name}`), ev.cleanup.join('; '));
      await assertOriginal(n);
    });
  }

  test('in place (same name, --force, VM shut off): same UUID and MACs on lab-prod, running again', async (t) => {
    const n = netLabOrSkip(t);
    if (!n) return;
    assert.ok(id, 'no backup of lab-net');
    const busy = await cli('restore', n.vm.name, '--backup', id, '--force');
    assert.equal(busy.code, 1, busy.stdout);
    assert.match((JSON.parse(busy.stdout) as RestoreJson).run.error ?? '', /is running on local; shut it off/);
    await assertOriginal(n);
    assert.equal((await lvirsh(['destroy', '--domain', n.vm.name])).code, 0);
    try {
      const r = await cli('restore', n.vm.name, '--backup', id, '--force', '--start');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const out = JSON.parse(r.stdout) as RestoreJson;
      assert.deepEqual([out.name, out.disks], [n.vm.name, n.vm.disks.map((d) => d.path)]);
      await assertOriginal(n);
    } finally {
      if ((await lvirsh(['domstate', '--domain', n.vm.name])).stdout.trim() !== 'running') await lvirsh(['start', '--domain', n.vm.name]);
    }
  });
});
