// What a qcow2 header says about the files it points at (backing file, its format, an external
// data file), read from the image's first bytes ourselves, so a tampered reference is refused
// before qemu is ever asked to open anything it names. Pure: bytes in, facts or a problem out.

export const QCOW2_HEADER_READ = 64 * 1024;
const MAGIC = 0x514649fb;
const EXT_BACKING_FORMAT = 0xe2792aca;
const EXT_DATA_FILE = 0x44415441;
const INCOMPAT_DATA_FILE = 1n << 2n;

export interface Qcow2HeaderFacts {
  version: number;
  /** The backing file name exactly as stored in the header. */
  backing?: string;
  /** The backing file's format from the header extension (absent: qemu would probe it). */
  backingFormat?: string;
  /** An external data file: the incompatible-feature bit is set, or the extension names one. */
  dataFile?: string;
}

/** Parses the start of a qcow2 file (at least its first cluster's header area); a problem string when it is not sound. */
export function parseQcow2Header(buf: Uint8Array): Qcow2HeaderFacts | { problem: string } {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 72 || b.readUInt32BE(0) !== MAGIC) return { problem: 'is not a qcow2 image (bad magic)' };
  const version = b.readUInt32BE(4);
  if (version !== 2 && version !== 3) return { problem: `has an unknown qcow2 version ${version}` };
  const facts: Qcow2HeaderFacts = { version };
  const backingOffset = b.readBigUInt64BE(8);
  const backingSize = b.readUInt32BE(16);
  if (backingOffset !== 0n) {
    if (backingSize === 0 || backingSize > 1023 || backingOffset + BigInt(backingSize) > BigInt(b.length)) return { problem: 'has a backing file name outside its header' };
    const name = b.subarray(Number(backingOffset), Number(backingOffset) + backingSize);
    if (name.includes(0)) return { problem: 'has a backing file name with a NUL byte' };
    facts.backing = name.toString('utf8');
  }
  if (version === 2) return facts;
  if (b.length < 104) return { problem: 'has a truncated qcow2 v3 header' };
  if ((b.readBigUInt64BE(72) & INCOMPAT_DATA_FILE) !== 0n) facts.dataFile = '(external data file bit set)';
  const headerLength = b.readUInt32BE(100);
  if (headerLength < 104 || headerLength > b.length) return { problem: `has a bad header length ${headerLength}` };
  for (let at = headerLength; ;) {
    if (at + 8 > b.length) return { problem: 'has header extensions running past the first 64 KiB' };
    const type = b.readUInt32BE(at);
    const len = b.readUInt32BE(at + 4);
    if (type === 0) break;
    if (at + 8 + len > b.length) return { problem: 'has a header extension running past the first 64 KiB' };
    const data = b.subarray(at + 8, at + 8 + len);
    if (type === EXT_BACKING_FORMAT) facts.backingFormat = data.toString('utf8');
    if (type === EXT_DATA_FILE) facts.dataFile = data.toString('utf8') || facts.dataFile || '(external data file extension)';
    at += 8 + Math.ceil(len / 8) * 8;
  }
  return facts;
}
