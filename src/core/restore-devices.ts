// The <devices> of a restored VM, from an allow-list: the backup's disks at our paths, NICs as
// --network says, and ordinary emulated devices without host files, host devices or fixed ports.
import type { RestoreXmlSpec } from './restore-xml.js';
import { attr, attrs, child, clean, el, isForeign, isStandardEmulator, keepChildren, kids, pickAttrs, tagOf, text, textNode, type Dropper, type Node, type Ordered } from './restore-xml-kit.js';

interface Ctx { spec: RestoreXmlSpec; inPlace: boolean; d: Dropper; nic: number; targets: Set<string> }

const NOT_ALLOWED = 'not on the restore allow-list';
const HOST_DEVICES = 'host device passthrough is kept only by an in-place restore with --keep-host-devices';
/** Inert emulated devices copied as they are (minus foreign namespaces). */
const PLAIN = ['controller', 'memballoon', 'watchdog', 'panic', 'sound'];

export function allowDevices(devices: Node, spec: RestoreXmlSpec, inPlace: boolean, d: Dropper): Ordered {
  const c: Ctx = { spec, inPlace, d, nic: 0, targets: new Set() };
  const out: Ordered = [];
  for (const n of kids(devices)) {
    if (!('#text' in n)) { const k = device(n, c); if (k) out.push(k); }
  }
  const missing = Object.keys(spec.disks).filter((t) => !c.targets.has(t));
  if (missing.length) throw new Error(`the backup's domain XML has no disk ${missing.join(', ')} for the restored image(s)`);
  return out;
}

function device(n: Node, c: Ctx): Node | undefined {
  const tag = tagOf(n);
  const type = attr(n, 'type') ?? '';
  if (isForeign(tag)) return void c.d.drop(n, 'elements in another XML namespace are not restored');
  if (PLAIN.includes(tag)) return clean(n, c.d);
  switch (tag) {
    case 'emulator':
      if (!isStandardEmulator(text(n))) c.d.drop(n, "the target host's default emulator is used");
      return undefined;
    case 'disk': return disk(n, c);
    case 'interface': return nic(n, c);
    case 'serial': case 'console': return chardev(n, c);
    case 'channel': return channel(n, c);
    case 'graphics': return graphics(n, c);
    case 'video': return el(tag, attrs(n), keepChildren(n, ['model', 'address', 'alias'], c.d, NOT_ALLOWED));
    case 'input':
      if (['mouse', 'keyboard', 'tablet'].includes(type)) return el(tag, pickAttrs(n, ['type', 'bus']), keepChildren(n, ['address', 'alias'], c.d, NOT_ALLOWED));
      return void c.d.drop(n, 'only emulated mice, keyboards and tablets are restored');
    case 'rng': return rng(n, c);
    case 'audio':
      if (['none', 'spice'].includes(type)) return clean(n, c.d);
      c.d.note(`audio backend ${describeShort(n)} became type='none' (audio backends writing to host files or servers are not restored)`);
      return el('audio', { id: attr(n, 'id'), type: 'none' });
    case 'tpm': return tpm(n, c);
    case 'hostdev': case 'filesystem':
      if (c.spec.keepHostDevices) return clean(n, c.d);
      return void c.d.drop(n, tag === 'filesystem' ? `host filesystem passthrough: ${HOST_DEVICES}` : HOST_DEVICES);
    default: return void c.d.drop(n, NOT_ALLOWED);
  }
}

const describeShort = (n: Node): string => `<${tagOf(n)}${Object.entries(attrs(n)).map(([k, v]) => ` ${k}='${v}'`).join('')}>`.slice(0, 120);

const DISK_KIDS = ['target', 'address', 'boot', 'serial', 'wwn', 'vendor', 'product', 'readonly', 'shareable', 'blockio', 'geometry', 'iotune', 'alias'];
const DRIVER_ATTRS = ['cache', 'io', 'discard', 'detect_zeroes', 'iothread', 'queues', 'copy_on_read', 'error_policy', 'rerror_policy'];

function disk(n: Node, c: Ctx): Node | undefined {
  const target = attr(child(n, 'target') ?? {}, 'dev') ?? '';
  const device = attr(n, 'device') ?? 'disk';
  const repl = c.spec.disks[target];
  if (repl && !c.targets.has(target)) {
    c.targets.add(target);
    const body: Ordered = [];
    const drv = child(n, 'driver');
    body.push(el('driver', { name: 'qemu', type: repl.format, ...(drv ? pickAttrs(drv, DRIVER_ATTRS) : {}) }));
    body.push(el('source', { file: repl.path }));
    body.push(...keepChildren(n, DISK_KIDS, c.d, `not restored with disk ${target}`, ['driver', 'source', 'backingStore']));
    return el('disk', { type: 'file', device: device === 'lun' ? 'disk' : device }, body);
  }
  if (!repl && (device === 'cdrom' || device === 'floppy')) {
    // An empty drive is harmless; its medium is a host file the restore does not own.
    const src = child(n, 'source');
    if (src && Object.keys(attrs(src)).length) c.d.note(`ejected the medium of ${device} ${target} (${describeShort(src)}): removable media are not restored`);
    return el('disk', { type: 'file', device }, keepChildren(n, ['driver', ...DISK_KIDS], c.d, `not restored with ${device} ${target}`, ['source', 'backingStore']));
  }
  if (!repl && c.spec.keepHostDevices && attr(n, 'type') === 'block') return clean(n, c.d);
  const why = repl ? `a second disk with target ${target}` : attr(n, 'type') === 'block' ? `a host block device: only the disks of this backup are restored; ${HOST_DEVICES}` : 'only the disks of this backup are restored';
  return void c.d.drop(n, why);
}

const NIC_KIDS = ['model', 'driver', 'address', 'boot', 'mtu', 'link', 'vlan', 'virtualport', 'bandwidth', 'filterref', 'coalesce', 'tune', 'alias'];

function nic(n: Node, c: Ctx): Node | undefined {
  const i = c.nic++;
  const net = c.spec.network;
  if (net.mode === 'none') return undefined;
  const type = attr(n, 'type') ?? '';
  const mac = c.spec.macs?.[i] ?? attr(child(n, 'mac') ?? {}, 'address');
  const macEl = mac ? [el('mac', { address: mac })] : [];
  if (net.mode === 'isolated') {
    // Every NIC on the isolated network, without production switch settings (VLAN, OVS port
    // profile, VF driver) that libvirt refuses on a plain network.
    const keep = ['model', 'mtu', 'link', 'boot', 'alias', 'bandwidth', 'coalesce', 'rom', ...(type === 'hostdev' ? [] : ['driver'])];
    return el('interface', { type: 'network' }, [...macEl, el('source', { network: net.network }), ...keepChildren(n, keep, c.d, 'not restored on the isolated network', ['mac', 'source', 'target', 'address', 'vlan', 'virtualport', 'driver', 'script', 'downscript', 'backend', 'ip', 'route'])].flatMap((x) => (tagOf(x) === 'rom' ? romOf(x, c) : [x])));
  }
  const src = child(n, 'source') ?? {};
  if (type === 'network' || type === 'bridge') {
    const source = type === 'network' ? pickAttrs(src, ['network', 'portgroup']) : pickAttrs(src, ['bridge']);
    const body = keepChildren(n, [...NIC_KIDS, 'rom', ...(c.inPlace ? ['target'] : [])], c.d, `not restored with a ${type} NIC`, ['mac', 'source', 'target']);
    return el('interface', { type }, [...macEl, el('source', source), ...body.flatMap((x) => (tagOf(x) === 'rom' ? romOf(x, c) : tagOf(x) === 'target' ? [el('target', pickAttrs(x, ['dev']))] : [x]))]);
  }
  if (c.spec.keepHostDevices && (type === 'hostdev' || type === 'direct')) return clean(n, c.d);
  return void c.d.drop(n, `only network and bridge NICs are restored (--network isolated puts every NIC on the isolated network)${type === 'hostdev' || type === 'direct' ? `; ${HOST_DEVICES}` : ''}`);
}

/** A NIC's option ROM may be switched off or sized, never loaded from a host file. */
function romOf(r: Node, c: Ctx): Node[] {
  if (attr(r, 'file') !== undefined) c.d.note(`dropped the option ROM file ${describeShort(r)} of a NIC (host files are not restored)`);
  const a = pickAttrs(r, ['bar', 'enabled']);
  return Object.keys(a).length ? [el('rom', a)] : [];
}

/** Serial ports and consoles are ptys: file, device, pipe and socket backends name host resources. */
function chardev(n: Node, c: Ctx): Node {
  const tag = tagOf(n);
  const type = attr(n, 'type') ?? 'pty';
  if (type !== 'pty') c.d.note(`${tag} ${describeShort(n)}${child(n, 'source') ? ` (${describeShort(child(n, 'source')!)})` : ''} became a pty (serial and console backends other than a pty are not restored)`);
  for (const l of kids(n).filter((k) => tagOf(k) === 'log')) c.d.drop(l, 'console log files are not restored');
  return el(tag, { type: 'pty' }, keepChildren(n, ['target', 'address', 'alias'], c.d, `not restored with a ${tag}`, ['source', 'log', 'protocol']));
}

const AGENT = 'org.qemu.guest_agent.0';
function channel(n: Node, c: Ctx): Node | undefined {
  const type = attr(n, 'type');
  const name = attr(child(n, 'target') ?? {}, 'name');
  if (type === 'unix' && name === AGENT) {
    const src = child(n, 'source');
    if (src && attr(src, 'path')) c.d.note(`the guest agent channel's fixed socket path '${attr(src, 'path')}' was dropped (libvirt makes one of its own)`);
    return el('channel', { type: 'unix' }, keepChildren(n, ['target', 'address', 'alias'], c.d, 'not restored with the agent channel', ['source']));
  }
  if (type === 'spicevmc') return el('channel', { type }, keepChildren(n, ['target', 'address', 'alias'], c.d, 'not restored with a spicevmc channel'));
  return void c.d.drop(n, `only the guest agent channel (unix, ${AGENT}) and spicevmc channels are restored`);
}

/** VNC or SPICE on localhost, ports chosen by libvirt, no password from the backup. */
function graphics(n: Node, c: Ctx): Node | undefined {
  const type = attr(n, 'type') ?? '';
  if (type !== 'vnc' && type !== 'spice') return void c.d.drop(n, 'only VNC and SPICE graphics are restored');
  const a = attrs(n);
  const changed: string[] = [];
  if (a.port !== undefined && a.port !== '-1') changed.push(`port ${a.port} → autoport`);
  if (a.tlsPort !== undefined && a.tlsPort !== '-1') changed.push(`tlsPort ${a.tlsPort} → autoport`);
  if (a.passwd !== undefined) changed.push('its password dropped');
  const listens = kids(n).filter((k) => tagOf(k) === 'listen');
  const addrs = [a.listen, ...listens.map((l) => attr(l, 'address') ?? attr(l, 'socket') ?? attr(l, 'network'))].filter((x): x is string => x !== undefined);
  if (addrs.some((x) => x !== '127.0.0.1')) changed.push(`listen ${[...new Set(addrs)].join(', ')} → 127.0.0.1`);
  if (changed.length) c.d.note(`${type} graphics: ${changed.join('; ')} (restored graphics listen on 127.0.0.1 with a port libvirt picks)`);
  const keep = type === 'spice' ? ['image', 'jpeg', 'zlib', 'playback', 'streaming', 'clipboard', 'mouse', 'filetransfer', 'channel', 'audio'] : ['audio'];
  const body = keepChildren(n, keep, c.d, `not restored with ${type} graphics`, ['listen']);
  return el('graphics', { type, autoport: 'yes', listen: '127.0.0.1', ...pickAttrs(n, ['keymap', 'sharePolicy', 'defaultMode']) }, [el('listen', { type: 'address', address: '127.0.0.1' }), ...body]);
}

function rng(n: Node, c: Ctx): Node | undefined {
  const b = child(n, 'backend');
  const model = b ? attr(b, 'model') : undefined;
  const dev = b ? text(b) : '';
  if (b && model === 'builtin') return el('rng', pickAttrs(n, ['model']), keepChildren(n, ['backend', 'rate', 'address', 'alias'], c.d, NOT_ALLOWED));
  if (b && model === 'random' && ['', '/dev/urandom', '/dev/random'].includes(dev)) {
    const body = keepChildren(n, ['rate', 'address', 'alias'], c.d, NOT_ALLOWED, ['backend']);
    return el('rng', pickAttrs(n, ['model']), [el('backend', { model: 'random' }, dev ? [textNode(dev)] : []), ...body]);
  }
  return void c.d.drop(n, 'only random-number generators reading /dev/urandom or /dev/random are restored');
}

function tpm(n: Node, c: Ctx): Node | undefined {
  const b = child(n, 'backend');
  if (attr(b ?? {}, 'type') !== 'emulator') return void c.d.drop(n, 'a passthrough TPM is a host device and is never restored');
  if (!c.spec.tpm) return void c.d.drop(n, 'the emulated TPM state is not restored with this VM');
  // libvirt keeps the state per UUID; a <source> naming another state location is not followed.
  const backend = el('backend', pickAttrs(b!, ['type', 'version', 'persistent_state']), keepChildren(b!, ['encryption', 'active_pcr_banks', 'profile'], c.d, 'not restored with an emulated TPM'));
  return el('tpm', pickAttrs(n, ['model']), [backend, ...keepChildren(n, ['address', 'alias'], c.d, 'not restored with an emulated TPM', ['backend'])]);
}
