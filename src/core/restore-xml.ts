// The domain XML a restore defines is built from an allow-list of what vmbackup knows is safe,
// never copied from the backup: a tampered <vm>.xml cannot bring an emulator, qemu arguments,
// host devices, host files or another VM's NVRAM. Every element left out is reported. Pure.
import { domainXmlNodes as X, type RewriteSpec } from './domain-xml.js';
import { allowDevices } from './restore-devices.js';
import { attr, attrs, child, children, clean, dropper, el, isFirmwarePath, isForeign, keepChildren, kids, pickAttrs, tagOf, text, textNode, type Dropper, type Node, type Ordered } from './restore-xml-kit.js';

export { isFirmwarePath } from './restore-xml-kit.js';

export interface RestoreXmlSpec extends RewriteSpec {
  /** UEFI: the firmware loader as the backup had it (path must be one of the target's standard firmware files; else dropped with a warning) and the NVRAM file of the NEW VM at our own path; undefined: BIOS/no nvram. */
  nvram?: { path: string; template?: string };
  /** Keep an emulated TPM (<tpm><backend type='emulator'>): libvirt keeps its state per VM UUID; passthrough TPMs are always dropped. */
  tpm?: boolean;
  /** Only for an in-place restore with an explicit flag: keep <hostdev>/<filesystem>/host block devices. */
  keepHostDevices?: boolean;
}

const NOT_ALLOWED = 'not on the restore allow-list';
/** Top-level elements copied as they are (minus foreign namespaces): guest-visible settings only. */
const PLAIN = ['title', 'description', 'memory', 'currentMemory', 'maxMemory', 'vcpus', 'iothreads', 'iothreadids', 'features', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'pm'];
const WHY: Record<string, string> = {
  metadata: 'application metadata in other XML namespaces is not restored',
  seclabel: "security label overrides are not restored; the target host's default labelling applies",
  resource: 'resource partitions name host cgroups and are not restored',
  sysinfo: 'only plain SMBIOS strings are restored',
  memoryBacking: 'memory backing names host resources and is not restored',
  cputune: 'host CPU tuning and pinning are not restored', numatune: 'host NUMA tuning is not restored',
  blkiotune: 'host block I/O tuning names host devices and is not restored', memtune: 'host memory tuning is not restored',
};

/**
 * The definition of a restored VM: `spec.name`, `spec.uuid` (kept from the backup when omitted:
 * in place), the disks of `spec.disks` only, NICs as `spec.network` says, and the allow-listed
 * rest of `backupXml`. `dropped` lists, as one human sentence each, what was left out or changed.
 */
export function buildRestoreXml(backupXml: string, spec: RestoreXmlSpec): { xml: string; dropped: string[] } {
  const dom = X.root(X.parser.parse(backupXml) as Ordered);
  const inPlace = spec.uuid === undefined;
  if (spec.keepHostDevices && !inPlace) throw new Error('host devices can be kept only by an in-place restore (same name and UUID)');
  if (spec.nvram && !spec.nvram.path.startsWith('/')) throw new Error(`NVRAM path ${JSON.stringify(spec.nvram.path)} is not absolute`);
  const uuid = spec.uuid ?? text(child(dom, 'uuid'));
  if (!uuid) throw new Error('in-place restore needs the original UUID');
  if (!child(dom, 'devices')) throw new Error('domain XML has no <devices>');
  const d = dropper();
  for (const [k, v] of Object.entries(attrs(dom))) {
    if (isForeign(k) && k !== 'xmlns' && !k.startsWith('xmlns:')) d.note(`dropped the attribute ${k}='${v}' of <domain> (attributes in another XML namespace are not restored)`);
  }
  const sysinfoKept = children(dom, 'sysinfo').some(plainSmbios);
  const body: Ordered = [el('name', {}, [textNode(spec.name)]), el('uuid', {}, [textNode(uuid)])];
  for (const n of kids(dom)) {
    if ('#text' in n) continue;
    const tag = tagOf(n);
    if (tag === 'name' || tag === 'uuid') continue;
    if (PLAIN.includes(tag)) body.push(clean(n, d));
    else if (tag === 'vcpu') body.push(vcpu(n, d));
    else if (tag === 'genid') body.push(inPlace ? clean(n, d) : el('genid')); // empty: libvirt makes a new one for the copy
    else if (tag === 'cpu') body.push(el('cpu', pickAttrs(n, ['mode', 'match', 'check', 'migratable']), keepChildren(n, ['model', 'vendor', 'topology', 'feature', 'cache', 'numa', 'maxphysaddr'], d, `${NOT_ALLOWED} in <cpu>`)));
    else if (tag === 'os') body.push(os(n, spec, sysinfoKept, d));
    else if (tag === 'sysinfo' && plainSmbios(n)) body.push(clean(n, d));
    else if (tag === 'devices') body.push(el('devices', {}, allowDevices(n, spec, inPlace, d)));
    else d.drop(n, isForeign(tag) ? 'elements in another XML namespace are not restored' : WHY[tag] ?? NOT_ALLOWED);
  }
  const xml = String(X.builder.build([el('domain', pickAttrs(dom, ['type']), body)]));
  return { xml, dropped: d.list };
}

/** The vCPU count, without pinning to host CPUs (the target host may have others). */
function vcpu(n: Node, d: Dropper): Node {
  const cpuset = attr(n, 'cpuset');
  if (cpuset !== undefined) d.note(`dropped the host CPU pinning cpuset='${cpuset}' of <vcpu> (host CPU tuning and pinning are not restored)`);
  return el('vcpu', pickAttrs(n, ['placement', 'current']), [textNode(text(n))]);
}

/** `<sysinfo type='smbios'>` holding only SMBIOS strings (no fw_cfg entries naming host files). */
function plainSmbios(n: Node): boolean {
  const SMBIOS = ['bios', 'system', 'baseBoard', 'chassis', 'oemStrings', 'entry'];
  const plain = (x: Node): boolean => kids(x).every((k) => '#text' in k || (SMBIOS.includes(tagOf(k)) && Object.keys(attrs(k)).every((a) => a === 'name') && plain(k)));
  return attr(n, 'type') === 'smbios' && plain(n);
}

/**
 * <os>: the machine type, boot order and firmware loader when it is a standard firmware file;
 * the NVRAM is the new VM's own file (spec.nvram) or none; never a kernel or ACPI table from the host.
 */
function os(n: Node, spec: RestoreXmlSpec, sysinfoKept: boolean, d: Dropper): Node {
  const body: Ordered = [];
  let nvramAt = -1;
  let afterLoader = -1;
  for (const k of kids(n)) {
    if ('#text' in k) continue;
    const tag = tagOf(k);
    if (tag === 'type' || tag === 'boot' || tag === 'bootmenu' || tag === 'bios' || tag === 'firmware') body.push(clean(k, d));
    else if (tag === 'loader') {
      const path = text(k);
      if (path === '' || isFirmwarePath(path)) { body.push(el('loader', pickAttrs(k, ['readonly', 'type', 'secure', 'stateless', 'format']), path ? [textNode(path)] : [])); afterLoader = body.length; }
      else d.drop(k, "the firmware loader must be a file in the target host's firmware directories (/usr/share/OVMF, /usr/share/edk2, /usr/share/qemu …)");
    } else if (tag === 'nvram') {
      if (!spec.nvram) d.drop(k, "a restored VM never uses the NVRAM file the backup names; libvirt makes a fresh one from the firmware's template");
      else nvramAt = body.length;
    } else if (tag === 'smbios') {
      const mode = attr(k, 'mode');
      if (mode === 'emulate' || (mode === 'sysinfo' && sysinfoKept)) body.push(clean(k, d));
      else d.drop(k, mode === 'host' ? "the host's own SMBIOS data is not given to a restored VM" : 'its <sysinfo> was not restored');
    } else d.drop(k, ['kernel', 'initrd', 'cmdline', 'dtb', 'acpi', 'init', 'initarg', 'initenv', 'initdir', 'inituser', 'initgroup'].includes(tag) ? 'direct kernel boot and ACPI tables read host files and are not restored' : isForeign(tag) ? 'elements in another XML namespace are not restored' : `${NOT_ALLOWED} in <os>`);
  }
  if (spec.nvram) body.splice(nvramAt >= 0 ? nvramAt : afterLoader >= 0 ? afterLoader : body.length, 0, nvram(child(n, 'nvram'), spec.nvram, d));
  return el('os', pickAttrs(n, ['firmware']), body);
}

/** The new VM's own NVRAM file; the template stays when it is a standard firmware file. */
function nvram(from: Node | undefined, own: { path: string; template?: string }, d: Dropper): Node {
  const old = from ? attr(from, 'template') : undefined;
  if (old !== undefined && own.template === undefined && !isFirmwarePath(old)) d.note(`dropped the NVRAM template '${old}' (not a file in the target host's firmware directories)`);
  const template = own.template ?? (old !== undefined && isFirmwarePath(old) ? old : undefined);
  return el('nvram', { template }, [textNode(own.path)]);
}
