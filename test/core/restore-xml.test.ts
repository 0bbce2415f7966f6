// The restored domain XML comes from an allow-list (buildRestoreXml): a table of backup XMLs and
// specs, what the definition must and must not hold, and the warnings naming each dropped part.
// The fixtures are test/fixtures/domain-*.xml; the real virt-xml-validate (libvirt's RNG schema)
// checks every fixture and every result.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRestoreXml, isFirmwarePath, type RestoreXmlSpec } from '../../src/core/restore-xml.js';
import { parseDomainXml } from '../../src/core/domain-xml.js';
import { ROOT } from '../helpers/paths.js';

const fixture = (name: string): string => readFileSync(join(ROOT, 'test', 'fixtures', `domain-${name}.xml`), 'utf8');
const NEW_UUID = '99999999-0000-4000-8000-000000000001';
const macs = (n: number): string[] => Array.from({ length: n }, (_, i) => `52:54:00:10:00:${String(i + 1).padStart(2, '0')}`);

interface Case {
  name: string;
  xml: string;
  spec: RestoreXmlSpec;
  /** Must appear in the definition. */
  has?: RegExp[];
  /** Must not appear anywhere in the definition. */
  hasNot?: RegExp[];
  /** Each must match one warning; with `exactWarnings`, no other warning may exist. */
  warns?: RegExp[];
  exactWarnings?: boolean;
}

/** The fixtures with the specs restore and test-restore give them (shared with the validate test). */
const FIXTURE_SPECS: [string, RestoreXmlSpec][] = [
  ['bios', { name: 'web1-copy', uuid: NEW_UUID, disks: { vda: { path: '/img/web1-copy-vda.qcow2', format: 'qcow2' }, vdb: { path: '/img/web1-copy-vdb.qcow2', format: 'qcow2' } }, network: { mode: 'keep' }, macs: macs(2) }],
  ['uefi', { name: 'rhel9-copy', uuid: NEW_UUID, disks: { vda: { path: '/img/rhel9-copy-vda.qcow2', format: 'qcow2' } }, network: { mode: 'none' }, nvram: { path: '/var/lib/libvirt/qemu/nvram/rhel9-copy_VARS.fd' } }],
  ['vtpm', { name: 'win11', disks: { sda: { path: '/var/lib/libvirt/images/win11.qcow2', format: 'qcow2' } }, network: { mode: 'keep' }, nvram: { path: '/var/lib/vmbackup/nvram/win11_VARS.fd' }, tpm: true }],
  ['hostile', { name: 'xa-copy', uuid: NEW_UUID, disks: { vda: { path: '/img/xa-copy-vda.qcow2', format: 'qcow2' } }, network: { mode: 'keep' }, macs: macs(5) }],
  ['hostile', { name: 'victim', disks: { vda: { path: '/var/lib/libvirt/images/victim.qcow2', format: 'qcow2' } }, network: { mode: 'keep' }, keepHostDevices: true }],
  ['hostile', { name: 'xa-iso', uuid: NEW_UUID, disks: { vda: { path: '/img/xa-iso-vda.qcow2', format: 'qcow2' } }, network: { mode: 'isolated', network: 'lab-isolated' }, macs: macs(5) }],
];

/** What a tampered backup XML brings, and the warning that must name each. */
const HOSTILE: [RegExp, RegExp][] = [
  [/<emulator>/, /dropped <emulator>\/usr\/bin\/evil<\/emulator> \(the target host's default emulator is used\)/],
  [/qemu:|commandline|vfio-pci/, /dropped <qemu:commandline><qemu:arg value='-device'\/>/],
  [/evil:|xmlns|run me/, /dropped <evil:config>x<\/evil:config>/],
  [/\/dev\/sda|\/dev\/sdb|type="block"|device="lun"|rawio|sgio/, /dropped <disk type='block' device='disk'>.*<source dev='\/dev\/sda'\/>.*\(a host block device/],
  [/<filesystem|dir="\/"/, /dropped <filesystem type='mount' accessmode='passthrough'>.*<source dir='\/'\/>.*host filesystem passthrough/],
  [/<hostdev|0x03/, /dropped <hostdev mode='subsystem' type='pci'/],
  [/\/etc\/shadow|\/etc\/passwd/, /ejected the medium of cdrom sdc \(<source file='\/etc\/shadow'>\)/],
  [/evil-firmware|prod_VARS|evil_VARS/, /dropped <loader readonly='yes' type='pflash'>\/tmp\/evil-firmware.fd<\/loader>/],
  [/<kernel|<initrd|<cmdline|<table/, /dropped <kernel>\/boot\/vmlinuz<\/kernel>/],
  [/<seclabel/, /dropped <seclabel type='none' model='dac'\/> \(security label overrides/],
  [/<sysinfo|fwcfg|<smbios/, /dropped <sysinfo type='fwcfg'>/],
  [/<memoryBacking|<cputune|<blkiotune|<resource|cpuset/, /dropped <memoryBacking>/],
  [/type="direct"|eth0|type="ethernet"|evil\.sh|type="vhostuser"|vhost\.sock|evil-tun|evil\.rom/, /dropped <interface type='direct'>/],
  [/<parallel|<shmem|<redirdev|<smartcard|<hub|egl-headless|renderD128|evdev|egd|\/dev\/tpm0|type="passthrough"/, /dropped <shmem name='evil-shm'>/],
  [/evil\.sock|other\.sock|libguestfs/, /the guest agent channel's fixed socket path '\/etc\/evil.sock' was dropped/],
  [/5900|secret|0\.0\.0\.0|4555/, /vnc graphics: port 5900 → autoport; its password dropped; listen 0\.0\.0\.0 → 127\.0\.0\.1/],
  [/cron\.d|type="file"[^>]*path/, /audio backend <audio id='1' type='file' path='\/etc\/cron.d\/evil'> became type='none'/],
];

const CASES: Case[] = [
  {
    name: 'a plain BIOS VM as a copy: everything kept, new identity and disks, no warning (the standard emulator goes silently)',
    xml: fixture('bios'), spec: FIXTURE_SPECS[0]![1],
    has: [/<name>web1-copy<\/name>/, new RegExp(`<uuid>${NEW_UUID}</uuid>`), /<source file="\/img\/web1-copy-vda.qcow2"\/>/, /<source file="\/img\/web1-copy-vdb.qcow2"\/>/, /<driver name="qemu" type="qcow2" cache="none" discard="unmap"\/>/,
      /<disk type="file" device="cdrom">/, /<mac address="52:54:00:10:00:01"\/>/, /<source bridge="br0"\/>/, /<serial type="pty">/, /name="org.qemu.guest_agent.0"/, /<rng model="virtio">\s*<backend model="random">\/dev\/urandom<\/backend>/,
      /<watchdog model="i6300esb"/, /<panic model="isa"\/>/, /<memballoon model="virtio">/, /<video>/, /<input type="tablet" bus="usb">/, /<description>Front end &amp; cache<\/description>/, /<timer name="rtc" tickpolicy="catchup"\/>/],
    hasNot: [/<emulator/, /backingStore/, /web1.qcow2|web1-data.img/, /52:54:00:00:00:0[12]/],
    warns: [], exactWarnings: true,
  },
  {
    name: 'UEFI as a copy: the standard loader stays, the NVRAM is the copy\'s own file, genid regenerated; file consoles and fixed graphics are named',
    xml: fixture('uefi'), spec: FIXTURE_SPECS[1]![1],
    has: [/<loader readonly="yes" type="pflash" secure="yes">\/usr\/share\/OVMF\/OVMF_CODE_4M.ms.fd<\/loader>\s*<nvram template="\/usr\/share\/OVMF\/OVMF_VARS_4M.ms.fd">\/var\/lib\/libvirt\/qemu\/nvram\/rhel9-copy_VARS.fd<\/nvram>/, /<genid\/>/, /<smm state="on"\/>/, /<graphics type="spice" autoport="yes" listen="127.0.0.1">/, /<channel type="spicevmc">/, /<console type="pty">/],
    hasNot: [/rhel9_VARS/, /43dc0cf8/, /5901|hunter2|0\.0\.0\.0/, /\.log/, /<interface/],
    warns: [/serial <serial type='file'> \(<source path='\/var\/log\/libvirt\/qemu\/rhel9-serial.log'>\) became a pty/, /dropped <log file=/, /console <console type='file'>/, /spice graphics: port 5901 → autoport; its password dropped; listen 0\.0\.0\.0 → 127\.0\.0\.1/],
    exactWarnings: true,
  },
  {
    name: 'vTPM in place: emulated TPM kept, UUID kept, firmware autoselection and SMBIOS strings kept, NVRAM at our path',
    xml: fixture('vtpm'), spec: FIXTURE_SPECS[2]![1],
    has: [/<uuid>33333333-4444-5555-6666-777777777777<\/uuid>/, /<tpm model="tpm-crb">\s*<backend type="emulator" version="2.0"\/>\s*<\/tpm>/, /<os firmware="efi">/, /<feature enabled="yes" name="secure-boot"\/>/, /<nvram template="\/usr\/share\/edk2\/ovmf\/OVMF_VARS.secboot.fd">\/var\/lib\/vmbackup\/nvram\/win11_VARS.fd<\/nvram>/, /<entry name="serial">ABC-123<\/entry>/, /<smbios mode="sysinfo"\/>/, /<mac address="52:54:00:aa:bb:cc"\/>/, /<hyperv mode="custom">/, /<sound model="ich9"\/>/],
    hasNot: [/qemu-kvm/, /win11_VARS.fd<\/nvram>.*win11_VARS/s],
    warns: [], exactWarnings: true,
  },
  {
    name: 'vTPM without spec.tpm: the TPM goes, with a warning (its state is not restored)',
    xml: fixture('vtpm'), spec: { ...FIXTURE_SPECS[2]![1], tpm: false },
    hasNot: [/<tpm/], warns: [/dropped <tpm model='tpm-crb'><backend type='emulator' version='2.0'\/><\/tpm> \(the emulated TPM state is not restored/], exactWarnings: true,
  },
  {
    name: 'UEFI without spec.nvram: the backup\'s NVRAM path is never used',
    xml: fixture('uefi'), spec: { ...FIXTURE_SPECS[1]![1], nvram: undefined },
    hasNot: [/<nvram/], warns: [/dropped <nvram template='\/usr\/share\/OVMF\/OVMF_VARS_4M.ms.fd'>\/var\/lib\/libvirt\/qemu\/nvram\/rhel9_VARS.fd<\/nvram> \(a restored VM never uses the NVRAM file the backup names/],
  },
  {
    name: 'spec.nvram on a backup without <nvram>: the new VM\'s file goes right after the loader',
    xml: fixture('uefi').replace(/<nvram[^]*?<\/nvram>/, ''), spec: { ...FIXTURE_SPECS[1]![1], nvram: { path: '/var/lib/vmbackup/nvram/x_VARS.fd', template: '/usr/share/OVMF/OVMF_VARS_4M.fd' } },
    has: [/<\/loader>\s*<nvram template="\/usr\/share\/OVMF\/OVMF_VARS_4M.fd">\/var\/lib\/vmbackup\/nvram\/x_VARS.fd<\/nvram>\s*<boot/],
  },
  {
    name: 'hostile XML as a copy: none of its host resources, namespaces or overrides survive, and a warning names each',
    xml: fixture('hostile'), spec: FIXTURE_SPECS[3]![1],
    has: [/<source file="\/img\/xa-copy-vda.qcow2"\/>/, /<source network="prod"\/>/, /<mac address="52:54:00:10:00:05"\/>/, /<channel type="unix">\s*<target type="virtio" name="org.qemu.guest_agent.0"\/>/, /<graphics type="vnc" autoport="yes" listen="127.0.0.1">/, /<disk type="file" device="cdrom">/],
    hasNot: [...HOSTILE.map(([x]) => x), /prod-tap0/, /victim\.qcow2/],
    warns: HOSTILE.map(([, w]) => w),
  },
  {
    name: 'hostile XML in place with keepHostDevices: hostdev, filesystem and host block disks stay; emulator, qemu args, passthrough TPM still go',
    xml: fixture('hostile'), spec: FIXTURE_SPECS[4]![1],
    has: [/<uuid>44444444-5555-6666-7777-888888888888<\/uuid>/, /<hostdev mode="subsystem" type="pci" managed="yes">/, /<filesystem type="mount" accessmode="passthrough">/, /<source dev="\/dev\/sda"\/>/, /<interface type="direct">/, /<interface type="hostdev"/, /<target dev="prod-tap0"\/>/],
    hasNot: [/<emulator/, /qemu:/, /\/dev\/tpm0/, /evil\.sh/, /type="vhostuser"/, /type="ethernet"/],
    warns: [/dropped <emulator>\/usr\/bin\/evil/, /dropped <qemu:commandline>/, /dropped <tpm model='tpm-tis'><backend type='passthrough'>/],
  },
  {
    name: 'hostile XML --network isolated: every NIC (VF, macvtap, vhost-user too) on the isolated network, no host paths',
    xml: fixture('hostile'), spec: FIXTURE_SPECS[5]![1],
    has: [/<interface type="network">\s*<mac address="52:54:00:10:00:01"\/>\s*<source network="lab-isolated"\/>/],
    hasNot: [/network="prod"/, /evil\.sh|evil-tun|evil\.rom|vhost\.sock|eth0|prod-tap0|tap-evil/, /type="(direct|hostdev|ethernet|vhostuser)"/],
  },
  {
    name: 'network none: no NIC and no NIC warning',
    xml: fixture('bios'), spec: { ...FIXTURE_SPECS[0]![1], network: { mode: 'none' } },
    hasNot: [/<interface/], warns: [], exactWarnings: true,
  },
  {
    name: 'a disk not in the backup (an excluded one) is left out with a warning; the other is restored',
    xml: fixture('bios'), spec: { ...FIXTURE_SPECS[0]![1], disks: { vda: { path: '/img/only-vda.qcow2', format: 'qcow2' } } },
    has: [/only-vda/], hasNot: [/web1-data|target dev="vdb"/],
    warns: [/dropped <disk type='file' device='disk'>.*web1-data.img.* \(only the disks of this backup are restored\)/], exactWarnings: true,
  },
  {
    name: 'warnings carry no terminal controls and stay short, whatever the backup holds',
    xml: fixture('bios').replace('<devices>', `<devices><emulator>/tmp/\u001b[2J${'x'.repeat(500)}</emulator>`), spec: FIXTURE_SPECS[0]![1],
    warns: [/^dropped <emulator>\/tmp\/\?\[2Jx+… \(the target host's default emulator is used\)$/],
  },
];

describe('buildRestoreXml: the allow-list', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const { xml, dropped } = buildRestoreXml(c.xml, c.spec);
      for (const r of c.has ?? []) assert.match(xml, r);
      for (const r of c.hasNot ?? []) assert.doesNotMatch(xml, r);
      for (const w of c.warns ?? []) assert.ok(dropped.some((d) => w.test(d)), `no warning matches ${w}:\n${dropped.join('\n')}`);
      if (c.exactWarnings) assert.equal(dropped.length, c.warns!.length, dropped.join('\n'));
      for (const d of dropped) assert.ok(d.length <= 420 && !/[\u0000-\u001f]/.test(d), d);
      // Whatever went, the result is a domain XML vmbackup itself can read back.
      assert.equal(parseDomainXml(xml).name, c.spec.name);
    });
  }

  test('the restored disks are exactly spec.disks, as standalone files', () => {
    const info = parseDomainXml(buildRestoreXml(fixture('hostile'), FIXTURE_SPECS[3]![1]).xml);
    assert.deepEqual(info.disks.filter((d) => d.device === 'disk').map((d) => [d.target, d.type, d.source, d.format, d.backing]), [['vda', 'file', '/img/xa-copy-vda.qcow2', 'qcow2', []]]);
    assert.deepEqual(info.disks.filter((d) => d.device === 'cdrom').map((d) => d.source), [undefined]);
  });

  test('refusals: host devices kept only in place; a restored image without its disk; no <devices>; a relative NVRAM path', () => {
    assert.throws(() => buildRestoreXml(fixture('hostile'), { ...FIXTURE_SPECS[3]![1], keepHostDevices: true }), /only by an in-place restore/);
    assert.throws(() => buildRestoreXml(fixture('bios'), { ...FIXTURE_SPECS[0]![1], disks: { vdz: { path: '/img/z.qcow2', format: 'qcow2' } } }), /no disk vdz/);
    assert.throws(() => buildRestoreXml("<domain type='kvm'><name>a</name><uuid>u</uuid></domain>", { name: 'a', disks: {}, network: { mode: 'none' } }), /no <devices>/);
    assert.throws(() => buildRestoreXml(fixture('uefi'), { ...FIXTURE_SPECS[1]![1], nvram: { path: 'nvram/x.fd' } }), /not absolute/);
    assert.throws(() => buildRestoreXml('<notadomain/>', { name: 'a', disks: {}, network: { mode: 'none' } }), /no <domain>/);
  });

  test('firmware paths: absolute, normalised, in a firmware directory', () => {
    for (const p of ['/usr/share/OVMF/OVMF_CODE.fd', '/usr/share/edk2/ovmf/OVMF_CODE.secboot.fd', '/usr/share/qemu/edk2-x86_64-code.fd', '/usr/share/AAVMF/AAVMF_CODE.fd']) assert.ok(isFirmwarePath(p), p);
    for (const p of ['/tmp/OVMF_CODE.fd', '/usr/share/OVMF/../../../etc/shadow', '/usr/share/OVMF//x.fd', 'usr/share/OVMF/x.fd', '/usr/share/OVMF/', '-/usr/share/OVMF/x', '/usr/share/OVMF/x\n.fd', '/usr/share/OVMFX/x.fd']) assert.ok(!isFirmwarePath(p), p);
  });
});

/** Runs virt-xml-validate on `xml`; undefined when the tool (or its xmllint) is missing. */
async function validate(dir: string, name: string, xml: string): Promise<{ ok: boolean; out: string } | undefined> {
  const file = join(dir, `${name}.xml`);
  await writeFile(file, xml);
  return new Promise((res) => execFile('virt-xml-validate', [file, 'domain'], (e, stdout, stderr) => {
    const out = `${stdout}${stderr}`;
    if (e && ((e as NodeJS.ErrnoException).code === 'ENOENT' || /xmllint: not found|command not found/.test(out))) res(undefined);
    else res({ ok: !e, out });
  }));
}

describe('buildRestoreXml: libvirt accepts every result (real virt-xml-validate)', () => {
  const inputs: [string, string][] = [['bios', fixture('bios')], ['uefi', fixture('uefi')], ['vtpm', fixture('vtpm')]];
  test('the fixtures themselves are valid libvirt XML (but for the hostile one, which need not be), and so is every restored definition', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'vmb-xa-'));
    try {
      const probe = await validate(dir, 'probe', fixture('bios'));
      if (!probe) {
        const why = 'virt-xml-validate (Debian: libvirt-clients, with xmllint from libxml2-utils) is not installed (test/setup.sh installs it)';
        if (process.env.CI === 'true') assert.fail(`CI=true and ${why}`);
        t.skip(why);
        return;
      }
      for (const [name, xml] of inputs) {
        const r = (await validate(dir, `in-${name}`, xml))!;
        assert.ok(r.ok, `fixture ${name}: ${r.out}`);
      }
      let n = 0;
      for (const c of CASES) {
        const r = (await validate(dir, `case-${n++}`, buildRestoreXml(c.xml, c.spec).xml))!;
        assert.ok(r.ok, `${c.name}: ${r.out}`);
      }
      for (const [name, spec] of FIXTURE_SPECS) {
        const r = (await validate(dir, `out-${n++}`, buildRestoreXml(fixture(name), spec).xml))!;
        assert.ok(r.ok, `${name} restored as ${spec.name}: ${r.out}`);
      }
    } finally { await rm(dir, { recursive: true, force: true }); }
  });
});
