// Small building blocks of the restore allow-list: node construction, copying a subtree without
// foreign XML namespaces, and the one-line description of a dropped element a warning carries.
import { posix } from 'node:path';
import { domainXmlNodes as X, type XmlNode } from './domain-xml.js';

export type Node = XmlNode;
export type Ordered = Node[];
export const { tagOf, kids, attr, child, children, text } = X;

/** Collects the human warnings of one build: what was dropped or changed, and why. */
export interface Dropper {
  drop(n: Node, why: string): void;
  note(msg: string): void;
  list: string[];
}

export function dropper(): Dropper {
  const list: string[] = [];
  return { list, drop: (n, why) => list.push(`dropped ${describe(n)} (${why})`), note: (m) => list.push(clip(m, 400)) };
}

/** The attributes of `n`, without the parser's prefix. */
export function attrs(n: Node): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((n[':@'] as Record<string, string> | undefined) ?? {})) out[k.slice(2)] = String(v);
  return out;
}

export function el(tag: string, a: Record<string, string | undefined> = {}, body: Ordered = []): Node {
  const n: Node = { [tag]: body };
  const at = Object.entries(a).filter(([, v]) => v !== undefined);
  if (at.length) n[':@'] = Object.fromEntries(at.map(([k, v]) => [`@_${k}`, v]));
  return n;
}

export const textNode = (s: string): Node => ({ '#text': s });
export const isText = (n: Node): boolean => '#text' in n;

/** A name from another XML namespace (`qemu:commandline`, `xmlns:qemu`). */
export const isForeign = (name: string): boolean => name.includes(':') || name === 'xmlns';

/** Only the listed attributes of `n` (those absent stay absent). */
export function pickAttrs(n: Node, allowed: readonly string[]): Record<string, string> {
  const a = attrs(n);
  return Object.fromEntries(allowed.filter((k) => a[k] !== undefined).map((k) => [k, a[k]!]));
}

/**
 * A deep copy of `n` without elements or attributes of another XML namespace; each element
 * dropped that way is reported (namespace declarations go silently: they mean nothing alone).
 */
export function clean(n: Node, d: Dropper): Node {
  if (isText(n)) return { '#text': n['#text'] };
  const tag = tagOf(n);
  const a = attrs(n);
  const keep: Record<string, string> = {};
  for (const [k, v] of Object.entries(a)) {
    if (!isForeign(k)) keep[k] = v;
    else if (k !== 'xmlns' && !k.startsWith('xmlns:')) d.note(`dropped the attribute ${k}='${safe(v, 80)}' of <${tag}> (attributes in another XML namespace are not restored)`);
  }
  const body: Ordered = [];
  for (const c of kids(n)) {
    if (!isText(c) && isForeign(tagOf(c))) d.drop(c, 'elements in another XML namespace are not restored');
    else body.push(clean(c, d));
  }
  return el(tag, keep, body);
}

/**
 * `n` with only the listed child elements (each cleaned); the others are reported with `why`.
 * Text content is kept. `silent` children are removed without a warning.
 */
export function keepChildren(n: Node, allowed: readonly string[], d: Dropper, why: string, silent: readonly string[] = []): Ordered {
  const out: Ordered = [];
  for (const c of kids(n)) {
    if (isText(c)) { out.push({ '#text': c['#text'] }); continue; }
    const t = tagOf(c);
    if (allowed.includes(t)) out.push(clean(c, d));
    else if (!silent.includes(t)) d.drop(c, isForeign(t) ? 'elements in another XML namespace are not restored' : why);
  }
  return out;
}

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
/** No terminal controls and a bounded length: a tampered XML must not dress up a warning. */
export const safe = (s: string, max: number): string => clip(s.replace(CONTROL, '?'), max);
const clip = (s: string, max: number): string => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Compact XML of `n`, single-quoted like `virsh dumpxml`, at most 200 characters. */
export function describe(n: Node): string {
  const render = (x: Node): string => {
    if (isText(x)) return String(x['#text']);
    const tag = tagOf(x);
    const at = Object.entries(attrs(x)).map(([k, v]) => ` ${k}='${v}'`).join('');
    const body = kids(x).map(render).join('');
    return body ? `<${tag}${at}>${body}</${tag}>` : `<${tag}${at}/>`;
  };
  return safe(render(n), 200);
}

/**
 * A firmware file vmbackup lets a restored VM boot from: an absolute normalised path in one of the
 * distributions' firmware directories (Debian /usr/share/OVMF, RHEL /usr/share/edk2, qemu's own).
 */
const FIRMWARE_DIRS = ['/usr/share/OVMF/', '/usr/share/ovmf/', '/usr/share/edk2/', '/usr/share/edk2-ovmf/', '/usr/share/AAVMF/', '/usr/share/qemu/', '/usr/share/qemu-efi-aarch64/', '/usr/share/seabios/'];
export function isFirmwarePath(p: string): boolean {
  return /^[A-Za-z0-9/._+-]+$/.test(p) && posix.normalize(p) === p && !p.split('/').includes('..') && FIRMWARE_DIRS.some((d) => p.startsWith(d) && p.length > d.length);
}

/** The emulator paths distributions install; dropping one of these changes nothing worth a warning. */
export const isStandardEmulator = (p: string): boolean => /^\/usr\/(bin|libexec)\/(qemu-system-[a-z0-9_]+|qemu-kvm|kvm)$/.test(p);
