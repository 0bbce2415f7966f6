// Reads and rewrites libvirt domain XML as data. Pure: new UUIDs and MACs are passed in by the
// caller (the core takes no randomness), so a restore's XML is reproducible in tests.
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

export interface DomainDisk {
  /** Target device name: vda, sdb … */
  target: string;
  /** disk | cdrom | floppy | lun */
  device: string;
  /** file | block | network | volume */
  type: string;
  source?: string;
  /** The driver format: qcow2, raw … */
  format?: string;
  readonly: boolean;
  /** libvirt's view of the backing chain of the active image, top first. */
  backing: string[];
}

export interface DomainInterface { mac?: string; type: string; source?: string }

export interface DomainInfo {
  name: string;
  uuid: string;
  disks: DomainDisk[];
  interfaces: DomainInterface[];
  hasAgentChannel: boolean;
  /** UEFI: the NVRAM (variable store) file libvirt keeps for this VM ('' while libvirt has not named it yet) and its template. */
  nvram?: { path: string; template?: string };
  /** A TPM device: its model and backend (`emulator` = swtpm, state kept by libvirt per UUID; `passthrough` = a host TPM). */
  tpm?: { model: string; backend: string; version?: string };
}

type Node = Record<string, unknown>;
type Ordered = Node[];

const OPTS = { ignoreAttributes: false, preserveOrder: true, attributeNamePrefix: '@_', parseTagValue: false, parseAttributeValue: false, trimValues: true, processEntities: true } as const;
const parser = new XMLParser(OPTS);
const builder = new XMLBuilder({ ...OPTS, format: true, suppressEmptyNode: true, indentBy: '  ' });

const tagOf = (n: Node): string => Object.keys(n).find((k) => k !== ':@') ?? '';
const kids = (n: Node): Ordered => (n[tagOf(n)] as Ordered) ?? [];
const attr = (n: Node, a: string): string | undefined => (n[':@'] as Record<string, string> | undefined)?.[`@_${a}`];
const setAttr = (n: Node, a: string, v: string): void => { n[':@'] = { ...(n[':@'] as object | undefined), [`@_${a}`]: v }; };
const child = (n: Node, tag: string): Node | undefined => kids(n).find((c) => tagOf(c) === tag);
const children = (n: Node, tag: string): Node[] => kids(n).filter((c) => tagOf(c) === tag);
const text = (n: Node | undefined): string => {
  if (!n) return '';
  const t = kids(n).find((c) => '#text' in c);
  return t ? String(t['#text']) : '';
};

function root(doc: Ordered): Node {
  const d = doc.find((n) => tagOf(n) === 'domain');
  if (!d) throw new Error('not a libvirt domain XML: no <domain> element');
  return d;
}

function sourceOf(n: Node): string | undefined {
  const s = child(n, 'source');
  return s ? attr(s, 'file') ?? attr(s, 'dev') ?? attr(s, 'volume') ?? attr(s, 'name') : undefined;
}

function backingChain(disk: Node): string[] {
  const out: string[] = [];
  let b = child(disk, 'backingStore');
  while (b && kids(b).length) {
    const s = sourceOf(b);
    if (s) out.push(s);
    b = child(b, 'backingStore');
  }
  return out;
}

export function parseDomainXml(xml: string): DomainInfo {
  const dom = root(parser.parse(xml) as Ordered);
  const devices = child(dom, 'devices') ?? {};
  const disks = children(devices, 'disk').map((d) => ({
    target: attr(child(d, 'target') ?? {}, 'dev') ?? '',
    device: attr(d, 'device') ?? 'disk',
    type: attr(d, 'type') ?? 'file',
    ...(sourceOf(d) ? { source: sourceOf(d)! } : {}),
    ...(attr(child(d, 'driver') ?? {}, 'type') ? { format: attr(child(d, 'driver')!, 'type')! } : {}),
    readonly: Boolean(child(d, 'readonly')),
    backing: backingChain(d),
  }));
  const interfaces = children(devices, 'interface').map((i) => {
    const src = child(i, 'source');
    const mac = attr(child(i, 'mac') ?? {}, 'address');
    const source = src ? attr(src, 'network') ?? attr(src, 'bridge') ?? attr(src, 'dev') : undefined;
    return { type: attr(i, 'type') ?? '', ...(mac ? { mac } : {}), ...(source ? { source } : {}) };
  });
  const hasAgentChannel = children(devices, 'channel').some((c) => attr(child(c, 'target') ?? {}, 'name') === 'org.qemu.guest_agent.0');
  const nv = child(child(dom, 'os') ?? {}, 'nvram');
  const nvram = nv ? { path: text(nv).trim(), ...(attr(nv, 'template') ? { template: attr(nv, 'template')! } : {}) } : undefined;
  const tpmNode = children(devices, 'tpm')[0];
  const backend = tpmNode ? child(tpmNode, 'backend') : undefined;
  const tpm = tpmNode ? { model: attr(tpmNode, 'model') ?? 'tpm-tis', backend: attr(backend ?? {}, 'type') ?? 'passthrough', ...(attr(backend ?? {}, 'version') ? { version: attr(backend!, 'version')! } : {}) } : undefined;
  return { name: text(child(dom, 'name')), uuid: text(child(dom, 'uuid')), disks, interfaces, hasAgentChannel, ...(nvram ? { nvram } : {}), ...(tpm ? { tpm } : {}) };
}

export interface RewriteSpec {
  name: string;
  /** Omit to keep the UUID (in-place restore). */
  uuid?: string;
  /** target dev → new source file path (and format of the restored image). */
  disks: Record<string, { path: string; format: string }>;
  /**
   * keep: leave NICs; none: remove every NIC; isolated: attach every NIC to this network, without
   * the production switch settings (VLAN tags, Open vSwitch port profiles, VF passthrough) that
   * libvirt refuses on a plain bridge network.
   */
  network: { mode: 'keep' } | { mode: 'none' } | { mode: 'isolated'; network: string };
  /** New MACs in NIC order; omit to keep (in-place restore). */
  macs?: string[];
}

/** The XML to define for a restore: renamed, re-identified, pointed at the restored disks. */
export function rewriteDomainXml(xml: string, spec: RewriteSpec): string {
  const doc = parser.parse(xml) as Ordered;
  const dom = root(doc);
  const body = kids(dom);
  const setText = (tag: string, v: string): void => {
    const n = child(dom, tag);
    if (n) n[tag] = [{ '#text': v }];
    else body.unshift({ [tag]: [{ '#text': v }] });
  };
  setText('name', spec.name);
  if (spec.uuid) setText('uuid', spec.uuid);
  else if (child(dom, 'uuid') === undefined) throw new Error('in-place restore needs the original UUID');
  const devices = child(dom, 'devices');
  if (!devices) throw new Error('domain XML has no <devices>');
  const devKids = kids(devices);
  for (const d of children(devices, 'disk')) {
    const target = attr(child(d, 'target') ?? {}, 'dev') ?? '';
    const repl = spec.disks[target];
    if (!repl) continue;
    const dk = kids(d);
    const src = child(d, 'source');
    if (src) src[':@'] = { '@_file': repl.path };
    else dk.push({ source: [], ':@': { '@_file': repl.path } });
    setAttr(d, 'type', 'file');
    const drv = child(d, 'driver');
    if (drv) setAttr(drv, 'type', repl.format);
    // A restored image is standalone: drop libvirt's recorded backing chain.
    for (let i = dk.length - 1; i >= 0; i--) if (tagOf(dk[i]!) === 'backingStore') dk.splice(i, 1);
  }
  if (spec.uuid) detachHostResources(devices);
  const nics = children(devices, 'interface');
  if (spec.network.mode === 'none') {
    for (let i = devKids.length - 1; i >= 0; i--) if (tagOf(devKids[i]!) === 'interface') devKids.splice(i, 1);
  } else {
    nics.forEach((nic, i) => {
      if (spec.macs?.[i]) {
        const m = child(nic, 'mac');
        if (m) setAttr(m, 'address', spec.macs[i]!);
        else kids(nic).unshift({ mac: [], ':@': { '@_address': spec.macs[i]! } });
      }
      if (spec.network.mode === 'isolated') {
        // A VF's <driver name='vfio'/> is invalid on any other interface type.
        const drop = ['source', 'target', 'alias', 'address', 'vlan', 'virtualport', ...(attr(nic, 'type') === 'hostdev' ? ['driver'] : [])];
        nic[':@'] = { '@_type': 'network' };
        const nk = kids(nic);
        for (let j = nk.length - 1; j >= 0; j--) if (drop.includes(tagOf(nk[j]!))) nk.splice(j, 1);
        nk.push({ source: [], ':@': { '@_network': spec.network.network } });
      }
    });
  }
  return String(builder.build(doc));
}

/**
 * A copy under a new identity must not fight the original for host files, ports and devices:
 * console log files, file-backed serial ports, fixed agent socket paths, fixed graphics ports and
 * fixed tap device names (`<interface><target dev=…/>`: libvirt refuses to start a second
 * domain with "The … interface already exists"; without it, libvirt names the tap itself).
 */
function detachHostResources(devices: Node): void {
  for (const tag of ['serial', 'console', 'channel']) {
    for (const dev of children(devices, tag)) {
      const dk = kids(dev);
      for (let i = dk.length - 1; i >= 0; i--) if (tagOf(dk[i]!) === 'log') dk.splice(i, 1);
      if (attr(dev, 'type') === 'file') {
        setAttr(dev, 'type', 'pty');
        for (let i = dk.length - 1; i >= 0; i--) if (tagOf(dk[i]!) === 'source') dk.splice(i, 1);
      }
      const src = child(dev, 'source');
      if (attr(dev, 'type') === 'unix' && src && attr(src, 'path')) {
        const a = { ...(src[':@'] as Record<string, string>) };
        delete a['@_path'];
        src[':@'] = a;
      }
    }
  }
  for (const nic of children(devices, 'interface')) {
    const nk = kids(nic);
    for (let i = nk.length - 1; i >= 0; i--) if (tagOf(nk[i]!) === 'target') nk.splice(i, 1);
  }
  for (const g of children(devices, 'graphics')) {
    if (attr(g, 'port') && attr(g, 'port') !== '-1') { setAttr(g, 'port', '-1'); setAttr(g, 'autoport', 'yes'); }
  }
}

/**
 * `count` MACs in libvirt's range from `random` (3 bytes a call), distinct from each other and
 * from `avoid` (the original's), so a copy never shares a MAC with the VM it was made from.
 */
export function freshMacs(count: number, avoid: readonly string[], random: () => Uint8Array): string[] {
  const taken = new Set(avoid.map((m) => m.toLowerCase()));
  const out: string[] = [];
  while (out.length < count) {
    const m = macFromBytes(random());
    if (!taken.has(m)) { taken.add(m); out.push(m); }
  }
  return out;
}

/** A locally administered unicast MAC in libvirt's 52:54:00 range from 3 random bytes. */
export function macFromBytes(b: Uint8Array): string {
  return ['52', '54', '00', ...[...b.slice(0, 3)].map((x) => x.toString(16).padStart(2, '0'))].join(':');
}

/** The parser, builder and node helpers above, for the restore allow-list (src/core/restore-xml.ts). */
export const domainXmlNodes = { parser, builder, tagOf, kids, attr, setAttr, child, children, text, root } as const;
export type XmlNode = Node;
