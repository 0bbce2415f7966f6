// Looking at the network side of lab domains on the `local` host: NICs as libvirt defines them,
// the tap devices of running ones and the bridges they are on, and removal of test copies.
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sh, type Sh } from './faults.js';
import type { Lab } from '../lab/lab.js';

export interface Nic { tap: string; type: string; source: string; model: string; mac: string }

const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** virsh on the local lab libvirtd; never throws on a non-zero exit. */
export function lvirsh(args: readonly string[], timeoutMs = 120_000): Promise<Sh> {
  return sh(['virsh', '-q', '-c', 'qemu:///system', ...args], { timeoutMs });
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await lvirsh(args);
  if (r.code !== 0) throw new Error(`virsh ${args.join(' ')}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** `virsh domiflist`: the persistent definition (`inactive`) or the running domain. */
export async function nics(vm: string, inactive: boolean): Promise<Nic[]> {
  const out = await ok(['domiflist', '--domain', vm, ...(inactive ? ['--inactive'] : [])]);
  return out.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length === 5 && MAC_RE.test(f[4]!))
    .map(([tap, type, source, model, mac]) => ({ tap: tap!, type: type!, source: source!, model: model!, mac: mac! }));
}

/** The bridge a (tap) link is enslaved to, or '' when none. */
export async function masterOf(link: string): Promise<string> {
  const r = await sh(['ip', '-o', 'link', 'show', 'dev', link]);
  if (r.code !== 0) throw new Error(`ip link show ${link}: ${r.stderr.trim()}`);
  return / master (\S+) /.exec(r.stdout)?.[1] ?? '';
}

/** The links enslaved to a bridge. */
export async function portsOf(bridge: string): Promise<string[]> {
  const r = await sh(['ip', '-o', 'link', 'show', 'master', bridge]);
  if (r.code !== 0) throw new Error(`ip link show master ${bridge}: ${r.stderr.trim()}`);
  return r.stdout.split('\n').map((l) => l.split(': ')[1]?.replace(/@.*/, '') ?? '').filter(Boolean);
}

export const domuuid = async (vm: string): Promise<string> => (await ok(['domuuid', '--domain', vm])).trim();
export const domstate = async (vm: string): Promise<string> => (await ok(['domstate', '--domain', vm])).trim();
export const dumpxml = (vm: string, inactive = false): Promise<string> => ok(['dumpxml', '--domain', vm, ...(inactive ? ['--inactive'] : [])]);
export async function domains(): Promise<string[]> {
  return (await ok(['list', '--all', '--name'])).split('\n').map((s) => s.trim()).filter(Boolean);
}

/** A MAC in libvirt's 52:54:00 range that is none of `not` (the restore made it up). */
export function isFreshMac(mac: string, not: readonly string[]): boolean {
  return /^52:54:00:([0-9a-f]{2}:){2}[0-9a-f]{2}$/.test(mac) && !not.includes(mac);
}

/** Destroys and undefines a test copy and deletes its restored disks (`<name>-*.qcow2`). */
export async function removeCopy(lab: Lab, name: string): Promise<void> {
  if ((await lvirsh(['domstate', '--domain', name])).code === 0) {
    await lvirsh(['destroy', '--domain', name]);
    await lvirsh(['undefine', '--domain', name, '--nvram']);
  }
  const dir = lab.hosts.find((h) => h.name === 'local')!.labImagesDir;
  for (const f of await readdir(dir)) if (f.startsWith(`${name}-`) && f.includes('.qcow2')) await rm(join(dir, f), { force: true });
}

export interface Seen { name: string; xml: string; nics: Nic[] }

/**
 * While `run` goes on, watches for a domain whose name starts with `prefix` (test-restore's
 * throwaway copy) and records its live XML and NICs once it runs. Returns run's result and
 * what was seen (undefined if no such domain ever ran).
 */
export async function watchDomain<T>(prefix: string, run: Promise<T>): Promise<{ result: T; seen: Seen | undefined }> {
  let done = false;
  let seen: Seen | undefined;
  const watcher = (async () => {
    while (!done && !seen) {
      const name = (await domains().catch(() => [])).find((n) => n.startsWith(prefix));
      if (name && (await lvirsh(['domstate', '--domain', name])).stdout.trim() === 'running') {
        const xml = await dumpxml(name).catch(() => '');
        const list = await nics(name, false).catch(() => undefined);
        if (xml && list) seen = { name, xml, nics: list };
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const result = await run.finally(() => { done = true; });
  await watcher;
  return { result, seen };
}
