// test-restore's evidence, the pure parts: a screendump (PPM) becomes a valid PNG, and the copy's
// XML gets a logged serial console and a screen.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { inflateSync } from 'node:zlib';
import { encodePng, PNG_SIGNATURE, pngSize, ppmToPng, screenshotToPng } from '../../src/adapters/libvirt/screenshot-png.js';
import { withEvidenceDevices, withHostDirectBoot } from '../../src/core/probe-xml.js';

/** A 3x2 P6 image: red, green, blue / white, black, grey. */
const RGB = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 128, 128, 128]);
const PPM = Buffer.concat([Buffer.from('P6\n# qemu screendump\n3 2\n255\n', 'latin1'), RGB]);

function chunks(png: Buffer): { type: string; data: Buffer }[] {
  const out: { type: string; data: Buffer }[] = [];
  for (let i = 8; i < png.length;) {
    const len = png.readUInt32BE(i);
    out.push({ type: png.toString('latin1', i + 4, i + 8), data: png.subarray(i + 8, i + 8 + len) });
    i += 12 + len;
  }
  return out;
}

describe('screenshot PNG', () => {
  test('a PPM becomes a PNG: signature, IHDR size, and the same pixels', () => {
    const { png, width, height } = ppmToPng(PPM);
    assert.deepEqual([width, height], [3, 2]);
    assert.ok(png.subarray(0, 8).equals(PNG_SIGNATURE));
    assert.deepEqual(pngSize(png), { width: 3, height: 2 });
    const cs = chunks(png);
    assert.deepEqual(cs.map((c) => c.type), ['IHDR', 'IDAT', 'IEND']);
    const raw = inflateSync(cs[1]!.data);
    const rows = [raw.subarray(1, 10), raw.subarray(11, 20)];
    assert.deepEqual([raw[0], raw[10]], [0, 0], 'filter type none');
    assert.ok(Buffer.concat(rows).equals(RGB));
  });
  test('a PNG is kept as it is; anything else is refused', () => {
    const png = encodePng(1, 1, Buffer.from([1, 2, 3]));
    assert.equal(screenshotToPng(png).png, png);
    assert.throws(() => screenshotToPng(Buffer.from('GIF89a....')), /neither PNG nor a binary PPM/);
    assert.throws(() => ppmToPng(PPM.subarray(0, PPM.length - 1)), /truncated/);
    assert.throws(() => ppmToPng(Buffer.from('P6\n99999 99999\n255\n')), /larger than any console/);
    assert.throws(() => ppmToPng(Buffer.from('P6\n2 2\n65535\n')), /16-bit/);
  });
  test('maxval below 255 is scaled', () => {
    const { png } = ppmToPng(Buffer.concat([Buffer.from('P6 1 1 15\n'), Buffer.from([15, 0, 7])]));
    const raw = inflateSync(chunks(png)[1]!.data);
    assert.deepEqual([...raw.subarray(1)], [255, 0, 119]);
  });
});

const DOMAIN = `<domain type='qemu'><name>web-restoretest-1</name><devices>
<disk type='file' device='disk'><source file='/img/a.qcow2'/><target dev='vda' bus='virtio'/></disk>
<serial type='file'><source path='/var/log/web-console.log'/><target type='isa-serial' port='0'><model name='isa-serial'/></target></serial>
<console type='file'><source path='/var/log/web-console.log'/><target type='serial' port='0'/></console>
<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
<memballoon model='none'/></devices></domain>`;

describe('evidence devices of the throwaway copy', () => {
  test('the first serial becomes a pty logged to our file; its console alias goes; a VGA screen is added', () => {
    const { xml, changes } = withEvidenceDevices(DOMAIN, '/img/web-restoretest-1-console.log');
    assert.match(xml, /<serial type="pty">\s*<target type="isa-serial" port="0">\s*<model name="isa-serial"\/?>(<\/model>)?\s*<\/target>\s*<log file="\/img\/web-restoretest-1-console.log" append="off"\/?>/);
    assert.doesNotMatch(xml, /web-console\.log/, 'the original console log is never written');
    assert.doesNotMatch(xml, /<console/);
    assert.match(xml, /<video>\s*<model type="vga"\/?>/);
    assert.ok(xml.indexOf('<video') < xml.indexOf('<memballoon'));
    assert.match(xml, /org\.qemu\.guest_agent\.0/);
    assert.equal(changes.length, 2);
  });
  test('a VM without a serial port gets one; an existing video device is kept', () => {
    const { xml, changes } = withEvidenceDevices("<domain><name>x</name><devices><video><model type='qxl'/></video></devices></domain>", '/img/x-console.log');
    assert.match(xml, /<serial type="pty">\s*<target port="0"\/?>(<\/target>)?\s*<log file="\/img\/x-console.log"/);
    assert.match(xml, /qxl/);
    assert.doesNotMatch(xml, /vga/);
    assert.deepEqual(changes, ['serial port added, logged to /img/x-console.log']);
  });
  test('the log path must be a plain absolute path', () => {
    for (const p of ['relative.log', '/img/../etc/passwd', "/img/a'b.log", '-x']) assert.throws(() => withEvidenceDevices(DOMAIN, p), /plain absolute path/);
  });
});

describe('direct kernel boot of the copy comes from the host, never from the backup', () => {
  const COPY = "<domain><name>c</name><os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os><devices/></domain>";
  const HOST = "<domain><name>o</name><os><type arch='x86_64' machine='pc'>hvm</type><kernel>/boot/vmlinuz</kernel><initrd>/boot/initrd.gz</initrd><cmdline>console=ttyS0</cmdline></os><devices/></domain>";
  test("the host's live definition of the original lends its kernel, initrd and command line", () => {
    const r = withHostDirectBoot(COPY, HOST);
    assert.match(r.xml, /<type arch="x86_64" machine="pc">hvm<\/type>\s*<kernel>\/boot\/vmlinuz<\/kernel>\s*<initrd>\/boot\/initrd.gz<\/initrd>\s*<cmdline>console=ttyS0<\/cmdline>/);
    assert.doesNotMatch(r.xml, /<boot /);
    assert.equal(r.change, 'direct kernel boot of /boot/vmlinuz as the host defines the original VM');
  });
  test('no live original, no kernel in it, or a relative path: the copy is left as it is', () => {
    assert.deepEqual(withHostDirectBoot(COPY, undefined), { xml: COPY });
    assert.deepEqual(withHostDirectBoot(COPY, COPY), { xml: COPY });
    assert.deepEqual(withHostDirectBoot(COPY, HOST.replace('/boot/initrd.gz', 'initrd.gz')), { xml: COPY });
  });
});
