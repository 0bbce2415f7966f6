// test-restore's screenshot as PNG evidence: `virsh screenshot` gives what qemu's screendump gives
// (a binary PPM, P6, on Debian 12's libvirt 9 / qemu 7.2; PNG on newer ones). No I/O, but zlib: so not core.
import { deflateSync } from 'node:zlib';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Larger than any console a VM shows (8K at 3 bytes a pixel is 100 MB): refuse rather than allocate. */
export const MAX_SCREEN_PIXELS = 8192 * 8192;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** Width and height from a PNG's IHDR, or undefined when `buf` is not a PNG. */
export function pngSize(buf: Buffer): { width: number; height: number } | undefined {
  if (buf.length < 24 || !buf.subarray(0, 8).equals(PNG_SIGNATURE) || buf.toString('latin1', 12, 16) !== 'IHDR') return undefined;
  return { width: buf.readUInt32BE(16), height: buf.readUInt32BE(20) };
}

/** An 8-bit RGB PNG of `rgb` (width*height*3 bytes, rows top to bottom). */
export function encodePng(width: number, height: number, rgb: Buffer): Buffer {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) rgb.copy(raw, y * (stride + 1) + 1, y * stride, (y + 1) * stride); // filter byte 0
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // truecolour
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 6 })), chunk('IEND', Buffer.alloc(0))]);
}

/** A binary PPM (P6, maxval ≤ 255) as PNG. Throws on anything else. */
export function ppmToPng(ppm: Buffer): { png: Buffer; width: number; height: number } {
  // Header: P6 <ws> width <ws> height <ws> maxval <one ws> data; '#' comments to end of line.
  let i = 0;
  const token = (): string => {
    for (;;) {
      while (i < ppm.length && /\s/.test(String.fromCharCode(ppm[i]!))) i++;
      if (ppm[i] === 0x23) { while (i < ppm.length && ppm[i] !== 0x0a) i++; continue; }
      break;
    }
    const s = i;
    while (i < ppm.length && !/\s/.test(String.fromCharCode(ppm[i]!)) && i - s < 12) i++;
    return ppm.toString('latin1', s, i);
  };
  if (token() !== 'P6') throw new Error('screenshot is neither PNG nor a binary PPM (P6)');
  const width = Number(token()), height = Number(token()), maxval = Number(token());
  if (![width, height, maxval].every((n) => Number.isInteger(n) && n > 0)) throw new Error('screenshot PPM has a malformed header');
  if (maxval > 255) throw new Error(`screenshot PPM has 16-bit samples (maxval ${maxval})`);
  if (width * height > MAX_SCREEN_PIXELS) throw new Error(`screenshot is ${width}x${height}, larger than any console`);
  i++; // the single whitespace byte after maxval
  const need = width * height * 3;
  if (ppm.length - i < need) throw new Error(`screenshot PPM is truncated (${ppm.length - i} of ${need} pixel bytes)`);
  let rgb = ppm.subarray(i, i + need);
  if (maxval !== 255) rgb = Buffer.from(rgb.map((v) => Math.round((v * 255) / maxval)));
  return { png: encodePng(width, height, rgb), width, height };
}

/** What `virsh screenshot` wrote, as PNG: a PNG is kept as it is, a PPM converted. */
export function screenshotToPng(img: Buffer): { png: Buffer; width: number; height: number } {
  const size = pngSize(img);
  return size ? { png: img, ...size } : ppmToPng(img);
}
