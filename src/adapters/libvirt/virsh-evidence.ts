// What test-restore's probes ask a hypervisor: a screenshot, the guest agent's info, the tail of a
// console log, the copy's addresses, and whether a TCP port accepts. Argv only, every call bounded.
import type { Transport } from '../transport/transport.js';
import type { Virsh } from './virsh.js';

/** A screendump is a few MB; anything past this is not one. */
export const MAX_SCREENSHOT_BYTES = 64 * 1024 * 1024;

const argv = (v: Virsh, ...args: string[]): string[] => (v.uri ? ['virsh', '-q', '-c', v.uri, ...args] : ['virsh', '-q', ...args]);

/** `virsh screenshot` into a private temp file on the host, read back (bounded), then removed. */
export async function screenshot(v: Virsh, dom: string, timeoutMs = 30_000): Promise<Buffer> {
  const t = v.transport;
  const tmp = (await t.run(['mktemp', '--tmpdir', 'vmbackup-screenshot.XXXXXXXX'], { timeoutMs })).stdout.trim();
  if (!/^\/[\w./-]+$/.test(tmp)) throw new Error(`${t.host}: mktemp returned ${JSON.stringify(tmp)}`);
  try {
    const r = await t.run(argv(v, 'screenshot', '--domain', dom, '--file', tmp), { timeoutMs, allowFailure: true });
    if (r.exitCode !== 0) throw new Error(`virsh screenshot: ${(r.stderr || r.stdout).trim().split('\n').filter(Boolean).slice(-1)[0] ?? `exit ${r.exitCode}`}`);
    const size = Number((await t.run(['stat', '-c', '%s', '--', tmp], { timeoutMs })).stdout.trim());
    if (!Number.isFinite(size) || size <= 0) throw new Error('virsh screenshot wrote nothing');
    if (size > MAX_SCREENSHOT_BYTES) throw new Error(`virsh screenshot wrote ${size} bytes (more than ${MAX_SCREENSHOT_BYTES})`);
    const b64 = (await t.run(['base64', '-w', '0', '--', tmp], { timeoutMs })).stdout.trim();
    const buf = Buffer.from(b64, 'base64');
    if (buf.length !== size) throw new Error(`screenshot read back ${buf.length} of ${size} bytes`);
    return buf;
  } finally {
    await t.run(['rm', '-f', '--', tmp], { timeoutMs, allowFailure: true });
  }
}

/** guest-info through the agent: the agent's version, or why it did not answer. */
export async function agentInfo(v: Virsh, dom: string, timeoutSec: number): Promise<{ ok: true; version: string } | { ok: false; error: string }> {
  const r = await v.transport.run(argv(v, 'qemu-agent-command', '--domain', dom, '--timeout', String(timeoutSec), '{"execute":"guest-info"}'), { timeoutMs: (timeoutSec + 10) * 1000, allowFailure: true });
  if (r.exitCode !== 0) return { ok: false, error: (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}` };
  try {
    const ret = (JSON.parse(r.stdout) as { return?: { version?: unknown } }).return;
    return { ok: true, version: typeof ret?.version === 'string' ? ret.version.slice(0, 40) : 'unknown' };
  } catch {
    return { ok: false, error: 'guest-info answer is not JSON' };
  }
}

/** The last `bytes` bytes of a file on the host ('' while it does not exist yet). */
export async function readTail(t: Transport, path: string, bytes: number): Promise<string> {
  const r = await t.run(['tail', '-c', String(bytes), '--', path], { timeoutMs: 30_000, allowFailure: true });
  return r.exitCode === 0 ? r.stdout : '';
}

const IPV4 = /\b((?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3})\/\d+\b/g;

/** The copy's IPv4 addresses as libvirt sees them (DHCP leases of its network, then the ARP table). */
export async function domainAddresses(v: Virsh, dom: string): Promise<string[]> {
  const out = new Set<string>();
  for (const source of ['lease', 'arp']) {
    const r = await v.transport.run(argv(v, 'domifaddr', '--domain', dom, '--source', source), { timeoutMs: 30_000, allowFailure: true });
    if (r.exitCode === 0) for (const m of r.stdout.matchAll(IPV4)) out.add(m[1]!);
    if (out.size) break;
  }
  return [...out];
}

// A fixed program; the address, port and timeout come as arguments, never as code.
const CONNECT_PY = 'import socket,sys\ntry:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), float(sys.argv[3])).close()\nexcept OSError as e:\n print(type(e).__name__, e); sys.exit(1)\n';

/** Does `ip:port` accept a TCP connection from the host within `timeoutSec`? (python3 on the host.) */
export async function tcpConnect(t: Transport, ip: string, port: number, timeoutSec: number): Promise<{ ok: boolean; detail: string }> {
  if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(ip) || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not an address and port: ${ip}:${port}`);
  const r = await t.run(['python3', '-c', CONNECT_PY, ip, String(port), String(timeoutSec)], { timeoutMs: (timeoutSec + 10) * 1000, allowFailure: true });
  if (r.exitCode === 0) return { ok: true, detail: `${ip}:${port} accepted a connection` };
  if (/ENOENT|not found/i.test(r.stderr) && !r.stdout) throw new Error(`${t.host}: python3 is needed on the hypervisor for the tcp probe`);
  return { ok: false, detail: `${ip}:${port}: ${(r.stdout || r.stderr).trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}`}` };
}
