// The throwaway copy's evidence devices: its first serial port becomes a pty whose output libvirt
// also logs to a file we name (the console probe reads that file; `virsh console` still works), and
// a VM without a video device gets a plain VGA one so that `virsh screenshot` has a screen. A VM
// that boots a kernel from host files gets them back only from the host's own live definition.
import { domainXmlNodes, type XmlNode } from './domain-xml.js';

type Node = XmlNode;
type Ordered = Node[];
// One XML setup for every domain rewrite (domain-xml.ts).
const { parser, builder, tagOf, kids } = domainXmlNodes;

export interface EvidenceDevices { xml: string; changes: string[] }

/** `consoleLog`: an absolute path on the copy's host, a file nobody else uses. */
export function withEvidenceDevices(xml: string, consoleLog: string): EvidenceDevices {
  if (!/^\/[\w./-]+$/.test(consoleLog) || consoleLog.includes('..')) throw new Error(`console log path ${JSON.stringify(consoleLog)} is not a plain absolute path`);
  const doc = parser.parse(xml) as Ordered;
  const dom = doc.find((n) => tagOf(n) === 'domain');
  if (!dom) throw new Error('not a libvirt domain XML: no <domain> element');
  const devices = kids(dom).find((n) => tagOf(n) === 'devices');
  if (!devices) throw new Error('domain XML has no <devices>');
  const dk = kids(devices);
  const changes: string[] = [];
  const log = { log: [], ':@': { '@_file': consoleLog, '@_append': 'off' } };
  // A <console> on serial 0 is libvirt's alias of the first serial port: drop it, libvirt adds it back.
  for (let i = dk.length - 1; i >= 0; i--) {
    const n = dk[i]!;
    const t = kids(n).find((c) => tagOf(c) === 'target');
    const targetType = (t?.[':@'] as Record<string, string> | undefined)?.['@_type'];
    if (tagOf(n) === 'console' && (targetType === undefined || targetType === 'serial')) dk.splice(i, 1);
  }
  const first = dk.find((n) => tagOf(n) === 'serial');
  if (first) {
    // Keep the target (its model and port); replace how the host side is connected.
    const target = kids(first).filter((c) => tagOf(c) === 'target');
    first[':@'] = { '@_type': 'pty' };
    first.serial = [...target, log];
    changes.push(`serial port logged to ${consoleLog}`);
  } else {
    const at = dk.findIndex((n) => ['console', 'channel', 'input', 'graphics', 'video', 'memballoon'].includes(tagOf(n)));
    const serial = { serial: [{ target: [], ':@': { '@_port': '0' } }, log], ':@': { '@_type': 'pty' } };
    dk.splice(at === -1 ? dk.length : at, 0, serial);
    changes.push(`serial port added, logged to ${consoleLog}`);
  }
  if (!dk.some((n) => tagOf(n) === 'video')) {
    const at = dk.findIndex((n) => tagOf(n) === 'memballoon');
    dk.splice(at === -1 ? dk.length : at, 0, { video: [{ model: [], ':@': { '@_type': 'vga' } }] });
    changes.push('VGA video device added for the screenshot');
  }
  return { xml: String(builder.build(doc)), changes };
}

const BOOT_TAGS = ['kernel', 'initrd', 'cmdline'];

/**
 * Direct kernel boot for the copy: the restore allow-list drops <kernel>/<initrd>/<cmdline> from
 * the backup's XML (host files named by storage are not trusted). When the target host itself
 * still defines the original VM with a direct kernel boot, the host vouches for those files:
 * the copy boots the same kernel, initrd and command line. `hostXml` is that live definition
 * (libvirt's, never the backup's); without one, or without a kernel in it, nothing changes.
 */
export function withHostDirectBoot(xml: string, hostXml: string | undefined): { xml: string; change?: string } {
  if (!hostXml) return { xml };
  const hostOs = osOf(parser.parse(hostXml) as Ordered);
  const boot = hostOs ? kids(hostOs).filter((n) => BOOT_TAGS.includes(tagOf(n))) : [];
  const file = (tag: string): string => {
    const n = boot.find((b) => tagOf(b) === tag);
    return n ? String(kids(n).find((c) => '#text' in c)?.['#text'] ?? '') : '';
  };
  if (!file('kernel')) return { xml };
  for (const tag of ['kernel', 'initrd']) {
    const f = file(tag);
    if (f && (!f.startsWith('/') || f.includes('/../'))) return { xml };
  }
  const doc = parser.parse(xml) as Ordered;
  const os = osOf(doc);
  if (!os) return { xml };
  const ok = kids(os);
  for (let i = ok.length - 1; i >= 0; i--) if ([...BOOT_TAGS, 'boot'].includes(tagOf(ok[i]!))) ok.splice(i, 1);
  const at = ok.findIndex((n) => tagOf(n) === 'type');
  ok.splice(at + 1, 0, ...boot);
  return { xml: String(builder.build(doc)), change: `direct kernel boot of ${file('kernel')} as the host defines the original VM` };
}

function osOf(doc: Ordered): Node | undefined {
  const dom = doc.find((n) => tagOf(n) === 'domain');
  return dom ? kids(dom).find((n) => tagOf(n) === 'os') : undefined;
}
