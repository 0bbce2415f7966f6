// Helpers for the fault-injection tests (test/engine/faults-*.test.ts): commands on lab hosts
// without ssh (the lab's nsenter prefix), a private backup storage per test, the invariants every
// fault test must leave true (no data lost, no overlay left, no frozen guest), a safety net that
// puts the lab back if the engine did not, scratch VMs, a slow `qemu-img` for the local
// transport, and a lock so fault tests never run against the lab at the same time.
import assert from 'node:assert/strict';
import { chmod, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { parse, stringify } from 'yaml';
import { labEnv, type LabEnv } from './lab.js';
import { CLI } from './paths.js';
import type { Lab, LabHost, LabVm } from '../lab/lab.js';
import type { LabRepoOptions } from '../lab/policy-repo.js';
import type { Manifest } from '../../src/core/manifest.js';
import { backupIdAt } from '../../src/core/backup-layout.js';

export interface Sh { code: number; stdout: string; stderr: string; ms: number }

/** Runs argv on this machine; never throws on a non-zero exit. */
export async function sh(argv: readonly string[], o: { timeoutMs?: number; env?: Record<string, string>; input?: string } = {}): Promise<Sh> {
  const t0 = performance.now();
  const r = await execa(argv[0]!, argv.slice(1), { reject: false, timeout: o.timeoutMs ?? 60_000, ...(o.env ? { env: o.env } : {}), ...(o.input !== undefined ? { input: o.input } : {}), encoding: 'utf8' });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), ms: performance.now() - t0 };
}

export const hostOf = (lab: Lab, name: string): LabHost => {
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new Error(`no lab host ${name}`);
  return h;
};
export const vmOf = (lab: Lab, name: string): LabVm => {
  const v = lab.vms.find((x) => x.name === name);
  if (!v) throw new Error(`no lab VM ${name}`);
  return v;
};

/** argv "on" a lab host: directly for local, through the host's nsenter prefix for hvN (no ssh cost). */
export function onHost(lab: Lab, host: string, argv: readonly string[], o: { timeoutMs?: number } = {}): Promise<Sh> {
  return sh([...hostOf(lab, host).exec, ...argv], o);
}

export function virsh(lab: Lab, host: string, args: readonly string[], o: { timeoutMs?: number } = {}): Promise<Sh> {
  return onHost(lab, host, ['virsh', '-q', '-c', hostOf(lab, host).libvirtUri, ...args], o);
}

/** target → source, from `virsh domblklist` on the VM's host. */
export async function blockSources(lab: Lab, host: string, vm: string): Promise<Map<string, string>> {
  const r = await virsh(lab, host, ['domblklist', '--domain', vm]);
  assert.equal(r.code, 0, `virsh domblklist ${vm}: ${r.stderr}`);
  return new Map(r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).filter((f) => f.length >= 2 && f[1] !== '-').map((f) => [f[0]!, f[1]!]));
}

export async function domState(lab: Lab, host: string, vm: string): Promise<string> {
  return (await virsh(lab, host, ['domstate', '--domain', vm])).stdout.trim();
}

/** A guest-agent command through libvirt (local VMs only need this; lab-agent is local). */
export function agent(lab: Lab, vm: string, cmd: object, timeoutSec = 5): Promise<Sh> {
  const host = lab.vms.find((x) => x.name === vm)?.host ?? 'local'; // scratch VMs are local
  return virsh(lab, host, ['qemu-agent-command', '--domain', vm, '--timeout', String(timeoutSec), JSON.stringify(cmd)], { timeoutMs: (timeoutSec + 30) * 1000 });
}

/** guest-fsfreeze-status, or `error: …` when the agent does not answer. */
export async function freezeStatus(lab: Lab, vm: string): Promise<string> {
  const r = await agent(lab, vm, { execute: 'guest-fsfreeze-status' });
  if (r.code !== 0) return `error: ${r.stderr.trim()}`;
  try { return String((JSON.parse(r.stdout) as { return: unknown }).return); } catch { return `error: unparsable ${r.stdout}`; }
}

/** Starts a shell script in the guest with guest-exec; returns its guest pid. */
export async function guestExec(lab: Lab, vm: string, script: string, capture = false): Promise<number> {
  const r = await agent(lab, vm, { execute: 'guest-exec', arguments: { path: '/bin/sh', arg: ['-c', script], 'capture-output': capture } });
  assert.equal(r.code, 0, `guest-exec in ${vm}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { return: { pid: number } }).return.pid;
}

/** guest-exec-status: undefined while the process runs, else its exit code and stdout. */
export async function guestExecStatus(lab: Lab, vm: string, pid: number): Promise<{ exitcode: number; out: string } | undefined> {
  const r = await agent(lab, vm, { execute: 'guest-exec-status', arguments: { pid } });
  if (r.code !== 0) return undefined;
  const s = (JSON.parse(r.stdout) as { return: { exited: boolean; exitcode?: number; 'out-data'?: string } }).return;
  if (!s.exited) return undefined;
  return { exitcode: s.exitcode ?? -1, out: Buffer.from(s['out-data'] ?? '', 'base64').toString('utf8') };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs: number, intervalMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// A private policy repo + state dir + backup storage subdirectory per test.

export interface FaultEnv extends LabEnv {
  /** Backup storage root as the runner (and the local host) sees it. */
  storage: string;
  /** The same directory as hv1/hv2 see it. */
  remoteStorage: string;
  /** `vmbackup ARGS --repo … --state-dir …`, waited for. */
  cli(args: readonly string[], o?: { env?: Record<string, string> }): Promise<Sh>;
  /** The same, not waited for (to kill it, or run another beside it). */
  spawn(args: readonly string[], o?: { env?: Record<string, string> }): ResultPromise;
  /** Path of a backup (or `.partial`) directory of a VM. */
  backupPath(vm: string, id: string): string;
}

export interface FaultEnvOptions extends Partial<Omit<LabRepoOptions, 'storageRoot' | 'remoteStorageRoot' | 'controlDir'>> {
  /** Put the backup storage on the 64 MiB tmpfs. */
  small?: boolean;
  /** Edit the policy (parsed lab.yaml) before the test uses it. */
  mutate?: (policy: { settings: Record<string, unknown>; hypervisors: Record<string, unknown>[]; vms: Record<string, unknown>[] }) => void;
  /** settings.backup.image_writer: `qemu-img` where a test slows or watches the qemu-img copy (slowQemuImg). */
  imageWriter?: 'auto' | 'qemu-img';
}

let envSeq = 0;

export async function faultEnv(lab: Lab, o: FaultEnvOptions = {}): Promise<FaultEnv> {
  const sub = `faults-${process.pid}-${Date.now().toString(36)}-${++envSeq}`;
  const storage = join(o.small ? lab.storage.smallDir : lab.storage.dir, sub);
  const remoteStorage = `${o.small ? lab.storage.remoteSmallDir : lab.storage.remoteDir}/${sub}`;
  await mkdir(storage, { recursive: true });
  const { small: _s, mutate, imageWriter, ...repoOpts } = o;
  const base = await labEnv(lab, { ...repoOpts, storageRoot: storage, remoteStorageRoot: remoteStorage });
  if (mutate || imageWriter) {
    const file = join(base.repo, 'lab.yaml');
    const policy = parse(await readFile(file, 'utf8')) as Parameters<NonNullable<FaultEnvOptions['mutate']>>[0];
    if (imageWriter) policy.settings.backup = { ...(policy.settings.backup as object | undefined), image_writer: imageWriter };
    mutate?.(policy);
    await writeFile(file, stringify(policy));
  }
  const flags = ['--repo', base.repo, '--state-dir', base.stateDir];
  return {
    ...base,
    storage,
    remoteStorage,
    cli: async (args, c = {}) => {
      const t0 = performance.now();
      const r = await execa(process.execPath, [CLI, ...args, ...flags], { reject: false, env: { NO_COLOR: '1', ...c.env }, timeout: 300_000 });
      return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr), ms: performance.now() - t0 };
    },
    spawn: (args, c = {}) => execa(process.execPath, [CLI, ...args, ...flags], { reject: false, env: { NO_COLOR: '1', ...c.env }, timeout: 300_000 }),
    backupPath: (vm, id) => join(storage, lab.vms.find((v) => v.name === vm)?.host ?? 'local', vm, id),
    cleanup: async () => {
      await base.cleanup();
      await rm(storage, { recursive: true, force: true });
    },
  };
}

/** The published backup id printed by `backup … --json` (a RunRecord). */
export interface RunJson { id: string; status: string; backupId?: string; warnings: string[]; error?: string; steps: { name: string; ok: boolean; ms: number; detail?: string }[] }

export function runJson(r: Sh): RunJson {
  try { return JSON.parse(r.stdout) as RunJson; } catch { throw new Error(`not a JSON run record (exit ${r.code}):\n${r.stdout}\n${r.stderr.slice(-2000)}`); }
}

/** Backs a VM up and insists it worked; returns the backup id. */
export async function goodBackup(env: FaultEnv, vm: string): Promise<string> {
  const r = await env.cli(['backup', vm, '--json']);
  assert.equal(r.code, 0, `setup backup of ${vm} failed:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  const run = runJson(r);
  assert.ok(run.backupId);
  return run.backupId;
}

export async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'backup-metadata.json'), 'utf8')) as Manifest;
}

export async function listDir(dir: string): Promise<string[]> {
  try { return (await readdir(dir)).sort(); } catch { return []; }
}

/** Every `*.partial` directory under the storage root (<root>/<hv>/<vm>/<id>.partial). */
export async function findPartials(root: string): Promise<string[]> {
  const out: string[] = [];
  for (const hv of await listDir(root)) for (const vm of await listDir(join(root, hv))) {
    for (const n of await listDir(join(root, hv, vm))) if (n.endsWith('.partial')) out.push(join(root, hv, vm, n));
  }
  return out;
}

/** Published (non-partial) backup ids of a VM in this env's storage. */
export async function publishedIds(env: FaultEnv, vm: string): Promise<string[]> {
  return (await listDir(join(env.storage, env.lab.vms.find((v) => v.name === vm)?.host ?? 'local', vm))).filter((n) => /^\d{4}-\d{2}-\d{2}-\d{6}$/.test(n));
}

const OVERLAY_RE = /\.vmbackup-(\d{4}-\d{2}-\d{2}-\d{6})\.overlay\.qcow2$/;

/**
 * Backup ids of every run this env's state dir recorded (a run is saved when it starts, so a
 * killed run counts too). Overlays carry the id: this is how the helpers tell the overlays of
 * this test's runs from those of anyone else using the lab at the same time.
 */
export async function ourBackupIds(env: FaultEnv): Promise<Set<string>> {
  try {
    const st = JSON.parse(await readFile(join(env.stateDir, 'state.json'), 'utf8')) as { runs: { kind: string; started: string }[] };
    return new Set(st.runs.filter((r) => r.kind === 'backup').map((r) => backupIdAt(r.started)));
  } catch {
    return new Set();
  }
}

const overlayId = (path: string | undefined): string | undefined => (path ? OVERLAY_RE.exec(path)?.[1] : undefined);

/** qemu-img convert processes (any host: the lab's namespaces share our pid namespace) writing under `paths`. */
export async function convertsInto(paths: readonly string[]): Promise<string[]> {
  const r = await sh(['pgrep', '-af', 'qemu-img convert']);
  return r.stdout.split('\n').filter((l) => l.trim() && paths.some((p) => l.includes(p)));
}

// ---------------------------------------------------------------------------------------------
// A VM a test touches: a lab VM (by name) or a private scratch VM (see cloneNoos).

export interface VmRef {
  name: string;
  host: string;
  state: 'running' | 'shutoff';
  agent: 'live' | 'dead' | 'none';
  /** `path` as the host sees it (what domblklist shows), `labPath` as the runner sees it. */
  disks: { target: string; path: string; labPath: string }[];
  /** Where its overlays would appear, as the runner sees it. */
  imagesDir: string;
}

export function vmRef(lab: Lab, v: string | VmRef): VmRef {
  if (typeof v !== 'string') return v;
  const x = vmOf(lab, v);
  return { name: x.name, host: x.host, state: x.state, agent: x.agent, disks: x.disks.map((d) => ({ target: d.target, path: d.path, labPath: d.labPath })), imagesDir: hostOf(lab, x.host).labImagesDir };
}

/** Overlays on (or beside) `vms` that belong to runs other than this env's. */
async function foreignOverlays(env: FaultEnv, v: VmRef, ours: Set<string>): Promise<string[]> {
  const src = await blockSources(env.lab, v.host, v.name);
  const files = (await listDir(v.imagesDir)).filter((f) => f.startsWith(`${v.name}-`) && OVERLAY_RE.test(f));
  return [...src.values(), ...files].filter((x) => { const id = overlayId(x); return id !== undefined && !ours.has(id); });
}

/**
 * Shared lab VMs are also backed up by other test files and other people. Before a test touches
 * one, wait until no other run has it on an overlay: a second vmbackup (another state dir, so
 * another lock) would "recover" that run's overlay, and both runs would fail.
 */
export async function waitQuiet(env: FaultEnv, vms: readonly (string | VmRef)[], timeoutMs = 60_000): Promise<void> {
  const ours = await ourBackupIds(env);
  for (const v of vms.map((x) => vmRef(env.lab, x))) {
    const busy = await foreignOverlays(env, v, ours);
    if (!busy.length) continue;
    process.stderr.write(`faults: ${v.name} is being backed up by another run (${busy.join(', ')}); waiting before the test touches it\n`);
    await waitFor(`${v.name}: another run's backup to end`, async () => (await foreignOverlays(env, v, ours)).length === 0, timeoutMs, 500);
    await sleep(1000);
  }
}

// ---------------------------------------------------------------------------------------------
// The invariants, and the safety net.

export interface InvariantOptions {
  /** VMs the test touched: back on their base images, in their state, guest thawed, no overlay files. */
  vms: readonly (string | VmRef)[];
  /** Scratch VMs only known by name and images dir: no overlay in use or on disk. */
  scratch?: readonly { vm: string; host: string; dir: string }[];
  /** Backups published earlier that must still verify (`vmbackup verify --backup ID` exits 0). */
  verify?: readonly { vm: string; id: string }[];
  /** Only where the test expects a `.partial` (before recovery). */
  allowPartials?: boolean;
}

export async function assertInvariants(env: FaultEnv, o: InvariantOptions): Promise<void> {
  const lab = env.lab;
  const problems: string[] = [];
  const ours = await ourBackupIds(env);
  for (const v of o.vms.map((x) => vmRef(lab, x))) {
    const name = v.name;
    // Someone else's backup of the same lab VM may be in flight (other test files, other people):
    // its overlay is not ours to judge; wait for it to go, and say so if it stays.
    const busy = await foreignOverlays(env, v, ours);
    if (busy.length) {
      process.stderr.write(`faults: ${name} has overlays of another run (not this test's): ${busy.join(', ')}; waiting\n`);
      await waitFor(`${name}: another run's overlays to go`, async () => (await foreignOverlays(env, v, ours)).length === 0, 45_000, 500)
        .catch(() => problems.push(`${name}: overlays of a run that is not this test's stay: ${busy.join(', ')}`));
    }
    const src = await blockSources(lab, v.host, name);
    for (const d of v.disks) {
      const cur = src.get(d.target);
      if (cur !== d.path && !(overlayId(cur) && !ours.has(overlayId(cur)!))) problems.push(`${name} ${d.target} runs on ${cur ?? 'nothing'}, not its base ${d.path}`);
    }
    const st = await domState(lab, v.host, name);
    const want = v.state === 'shutoff' ? 'shut off' : 'running';
    if (st !== want) problems.push(`${name} is ${st}, should be ${want}`);
    for (const f of await listDir(v.imagesDir)) if (f.startsWith(`${name}-`) && ours.has(overlayId(f) ?? '')) problems.push(`overlay file left: ${join(v.imagesDir, f)}`);
    if (v.agent === 'live' && v.state === 'running') {
      // A hung agent may still be recovering: give it a moment to answer at all.
      const s = await waitFor(`${name} agent to answer`, async () => { const x = await freezeStatus(lab, name); return x.startsWith('error') ? undefined : x; }, 30_000, 500).catch((e: Error) => e.message);
      if (s !== 'thawed') problems.push(`${name} guest-fsfreeze-status is ${s}, not thawed`);
    }
  }
  for (const s of o.scratch ?? []) {
    for (const f of await listDir(s.dir)) if (OVERLAY_RE.test(f)) problems.push(`overlay file left beside scratch VM ${s.vm}: ${join(s.dir, f)}`);
    const src = await virsh(lab, s.host, ['domblklist', '--domain', s.vm]);
    if (OVERLAY_RE.test(src.stdout)) problems.push(`scratch VM ${s.vm} runs on an overlay: ${src.stdout.trim()}`);
  }
  if (!o.allowPartials) for (const p of await findPartials(env.storage)) problems.push(`.partial left: ${p}`);
  const orphans = await convertsInto([env.storage, env.remoteStorage]);
  if (orphans.length) problems.push(`qemu-img convert still writing into the storage: ${orphans.join(' | ')}`);
  for (const b of o.verify ?? []) {
    const r = await env.cli(['verify', b.vm, '--backup', b.id]);
    if (r.code !== 0) problems.push(`earlier backup ${b.vm} ${b.id} no longer verifies (exit ${r.code}): ${r.stdout.trim()} ${r.stderr.slice(-500)}`);
  }
  assert.deepEqual(problems, [], `invariants violated:\n  ${problems.join('\n  ')}`);
}

/**
 * Puts touched lab VMs back whatever the engine did (after the assertions, never instead of
 * them): stop stray copies into this test's storage, commit and delete overlays, thaw. Returns
 * what it had to do, so a test can report that the lab needed repair.
 */
export async function repairLab(env: FaultEnv, vms: readonly (string | VmRef)[]): Promise<string[]> {
  const lab = env.lab;
  const done: string[] = [];
  const strays = await convertsInto([env.storage, env.remoteStorage]);
  for (const l of strays) {
    const pid = l.trim().split(/\s+/)[0]!;
    await sh(['kill', '-KILL', pid]);
    done.push(`killed stray copy ${l.trim()}`);
  }
  const ours = await ourBackupIds(env);
  for (const v of vms.map((x) => vmRef(lab, x))) {
    const name = v.name;
    let src: Map<string, string>;
    try { src = await blockSources(lab, v.host, name); } catch { continue; }
    for (const d of v.disks) {
      const cur = src.get(d.target);
      // Only overlays of this test's runs: another run's overlay is that run's business.
      if (cur && cur !== d.path && ours.has(overlayId(cur) ?? '')) {
        await virsh(lab, v.host, ['blockjob', '--domain', name, '--path', d.target, '--abort'], { timeoutMs: 30_000 });
        const r = await virsh(lab, v.host, ['blockcommit', '--domain', name, '--path', d.target, '--active', '--pivot', '--wait', '--timeout', '60'], { timeoutMs: 90_000 });
        done.push(`blockcommit ${name} ${d.target} from ${cur}: exit ${r.code} ${r.stderr.trim()}`);
      }
    }
    const now = await blockSources(lab, v.host, name).catch(() => new Map<string, string>());
    const inUse = new Set(now.values());
    for (const f of await listDir(v.imagesDir)) {
      if (f.startsWith(`${name}-`) && ours.has(overlayId(f) ?? '') && ![...inUse].some((u) => u.endsWith(`/${f}`))) {
        await rm(join(v.imagesDir, f), { force: true });
        done.push(`removed overlay file ${f}`);
      }
    }
    if (v.agent === 'live' && v.state === 'running') {
      const s = await freezeStatus(lab, name);
      if (s !== 'thawed') {
        await virsh(lab, v.host, ['domfsthaw', '--domain', name], { timeoutMs: 40_000 });
        done.push(`thawed ${name} (status was ${s})`);
      }
    }
  }
  if (done.length) process.stderr.write(`faults: lab repaired after test: ${done.join('; ')}\n`);
  return done;
}

// ---------------------------------------------------------------------------------------------
// Scratch VMs: OS-less, TCG, 32 MiB, in lab-noos's style, defined on any lab host. Nobody else
// backs them up, so fault tests on them cannot collide with other users of the shared lab.

export interface ScratchVm { name: string; host: string; dir: string; image: string; ref: VmRef; remove(): Promise<void> }

/** A temp dir for scratch images (outside the lab's images dir, removed by the caller). */
export async function scratchDir(tag: string): Promise<string> {
  const dir = join('/var/tmp', `vmb-faults-${tag}-${process.pid}-${Date.now().toString(36)}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A self-contained domain XML (no dependency on any lab VM's current, possibly mid-backup, config). */
export function scratchXml(name: string, image: string, agentChannel: boolean): string {
  return `<domain type='qemu'>
  <name>${name}</name>
  <memory unit='KiB'>32768</memory>
  <vcpu placement='static'>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <features><acpi/></features>
  <cpu mode='custom' match='exact' check='none'><model fallback='forbid'>qemu64</model></cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='${image}'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <controller type='virtio-serial' index='0'/>
${agentChannel ? "    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>\n" : ''}    <audio id='1' type='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
`;
}

/**
 * Defines (and by default starts) `name` on `host` with `image` (a qcow2, path as the *host*
 * sees it) as vda; `dir` is where its overlays appear, as the runner sees it.
 */
export async function defineScratchVm(lab: Lab, name: string, image: string, o: { start?: boolean; agentChannel?: boolean; host?: string; dir?: string } = {}): Promise<ScratchVm> {
  const host = o.host ?? 'local';
  const dir = o.dir ?? image.slice(0, image.lastIndexOf('/'));
  const remove = async (): Promise<void> => {
    await virsh(lab, host, ['destroy', '--domain', name]);
    await virsh(lab, host, ['undefine', '--domain', name]);
  };
  await remove(); // a leftover from an aborted earlier run
  // The XML file goes beside the image: the same file for the runner (dir) and the host (image's dir).
  await writeFile(join(dir, `${name}.xml`), scratchXml(name, image, o.agentChannel ?? false));
  const d = await virsh(lab, host, ['define', '--file', `${image.slice(0, image.lastIndexOf('/'))}/${name}.xml`]);
  await rm(join(dir, `${name}.xml`), { force: true });
  assert.equal(d.code, 0, `define ${name} on ${host}: ${d.stderr}`);
  if (o.start !== false) {
    const st = await virsh(lab, host, ['start', '--domain', name]);
    if (st.code !== 0) { await remove(); assert.fail(`start ${name} on ${host}: ${st.stderr}`); }
  }
  const ref: VmRef = { name, host, state: o.start === false ? 'shutoff' : 'running', agent: o.agentChannel ? 'dead' : 'none', disks: [{ target: 'vda', path: image, labPath: join(dir, image.slice(image.lastIndexOf('/') + 1)) }], imagesDir: dir };
  return { name, host, dir, image, ref, remove };
}

/** A policy-repo VM entry for a scratch VM. */
export const scratchVmPolicy = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> =>
  ({ name, hypervisor: 'local', method: 'snapshot', priority: 10, schedule: 'weekly', retention: { keep_last: 3 }, ...extra });

export interface CloneOptions {
  /** Lab host to run it on (default local); on hvN the image lives in the host's images dir. */
  host?: string;
  /** `dead`: an agent channel with no agent (lab-noos); `none`: no channel (hv2-vm1). */
  agent?: 'dead' | 'none';
  /** Data written, as qemu-io `write -P` runs (default lab-noos's pattern). */
  pattern?: readonly { byte: string; offset: string; length: string }[];
}

/**
 * A private copy of a lab VM's role: lab-noos by default (1 GiB qcow2, 4 MiB of 0xab at 0 and
 * 1 MiB of 0xcd at 512 MiB, dead agent channel), or hv2-vm1's (80 MiB of 0xb1, no channel, on
 * hv2) with `{ host: 'hv2', agent: 'none', pattern: [{ byte: '0xb1', offset: '0', length: '80M' }] }`.
 * `policy` is its policy-repo entry. `cleanup` undefines it and deletes its files.
 */
export async function cloneVm(lab: Lab, tag: string, o: CloneOptions = {}): Promise<ScratchVm & { policy(extra?: Record<string, unknown>): Record<string, unknown>; cleanup(): Promise<void> }> {
  const host = o.host ?? 'local';
  const name = `fault-${tag}-${process.pid}`.slice(0, 60);
  const h = hostOf(lab, host);
  // Local: a private temp dir. hvN: its images dir (the only place that host and runner share).
  const dir = host === 'local' ? await scratchDir(tag) : h.labImagesDir;
  const hostDir = host === 'local' ? dir : h.imagesDir;
  const runnerImage = join(dir, `${name}.qcow2`);
  const writes = (o.pattern ?? [{ byte: '0xab', offset: '0', length: '4M' }, { byte: '0xcd', offset: '512M', length: '1M' }]).flatMap((w) => ['-c', `write -P ${w.byte} ${w.offset} ${w.length}`]);
  for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', runnerImage, '1G'], ['qemu-io', '-f', 'qcow2', ...writes, runnerImage]]) {
    const r = await sh(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
  const removeFiles = async (): Promise<void> => {
    if (host === 'local') await rm(dir, { recursive: true, force: true });
    else for (const f of await listDir(dir)) if (f.startsWith(`${name}.`) || f.startsWith(`${name}-`)) await rm(join(dir, f), { force: true });
  };
  const vm = await defineScratchVm(lab, name, `${hostDir}/${name}.qcow2`, { host, dir, agentChannel: (o.agent ?? 'dead') === 'dead' }).catch(async (e: unknown) => { await removeFiles(); throw e; });
  return {
    ...vm,
    policy: (extra = {}) => scratchVmPolicy(name, { hypervisor: host, ...extra }),
    cleanup: async () => { await vm.remove(); await removeFiles(); },
  };
}

/** A private lab-noos (see cloneVm). */
export const cloneNoos = (lab: Lab, tag: string): ReturnType<typeof cloneVm> => cloneVm(lab, `noos-${tag}`);

/** A private hv2-vm1: 80 MiB of data (more than the small storage holds), no agent channel, over ssh. */
export const cloneBig = (lab: Lab, tag: string): ReturnType<typeof cloneVm> =>
  cloneVm(lab, `big-${tag}`, { host: lab.roles.big ? vmOf(lab, lab.roles.big).host : 'hv2', agent: 'none', pattern: [{ byte: '0xb1', offset: '0', length: '80M' }] });

/**
 * A private lab-agent: the same kernel, initramfs and real qemu-ga (guest-init.sh), its own fresh
 * ext4 disk and console log, 128 MiB, TCG. Ready when its agent answers guest-ping. Hang tests
 * SIGSTOP its agent; nobody else's quiesced backups can run into that, nor theirs into ours.
 */
export async function cloneAgent(lab: Lab, tag: string): Promise<ScratchVm & { policy(extra?: Record<string, unknown>): Record<string, unknown>; cleanup(): Promise<void> }> {
  assert.ok(lab.roles.agent, 'the lab has no agent VM to copy');
  const model = await virsh(lab, 'local', ['dumpxml', '--domain', lab.roles.agent, '--inactive']);
  assert.equal(model.code, 0, model.stderr);
  const name = `fault-agent-${tag}-${process.pid}`.slice(0, 60);
  const dir = await scratchDir(`agent-${tag}`);
  const raw = join(dir, 'disk.raw');
  const image = join(dir, `${name}.qcow2`);
  for (const argv of [['truncate', '-s', '64M', raw], ['mkfs.ext4', '-q', '-F', raw], ['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, image], ['rm', '-f', raw]]) {
    const r = await sh(argv);
    assert.equal(r.code, 0, `${argv.join(' ')}: ${r.stderr}`);
  }
  const remove = async (): Promise<void> => {
    await virsh(lab, 'local', ['destroy', '--domain', name]);
    await virsh(lab, 'local', ['undefine', '--domain', name]);
  };
  await remove();
  const xml = model.stdout
    .replace(/<name>[^<]*<\/name>/, `<name>${name}</name>`)
    .replace(/\s*<uuid>[^<]*<\/uuid>/, '')
    .replace(/\s*<backingStore[\s\S]*?<\/backingStore>|\s*<backingStore\/>/g, '')
    .replace(/(<disk type='file' device='disk'>[\s\S]*?<source file=')[^']*(')/, `$1${image}$2`)
    .replace(/<source path='[^']*console[^']*'\/>/g, `<source path='${dir}/console.log'/>`);
  await writeFile(join(dir, `${name}.xml`), xml);
  const d = await virsh(lab, 'local', ['define', '--file', join(dir, `${name}.xml`)]);
  assert.equal(d.code, 0, `define ${name}: ${d.stderr}`);
  const st = await virsh(lab, 'local', ['start', '--domain', name]);
  if (st.code !== 0) { await remove(); assert.fail(`start ${name}: ${st.stderr}`); }
  const cleanup = async (): Promise<void> => { await remove(); await rm(dir, { recursive: true, force: true }); };
  try {
    await waitFor(`${name}'s guest agent to answer`, async () => (await virsh(lab, 'local', ['qemu-agent-command', '--domain', name, '--timeout', '2', '{"execute":"guest-ping"}'])).code === 0, 60_000, 500);
    await waitFor(`${name} to mount its disk`, async () => (await readFile(join(dir, 'console.log'), 'utf8').catch(() => '')).includes('LABGUEST: mounted'), 30_000, 500);
  } catch (e) {
    await cleanup();
    throw e;
  }
  const ref: VmRef = { name, host: 'local', state: 'running', agent: 'live', disks: [{ target: 'vda', path: image, labPath: image }], imagesDir: dir };
  return { name, host: 'local', dir, image, ref, remove, policy: (extra = {}) => scratchVmPolicy(name, { method: 'quiesce', ...extra }), cleanup };
}

// ---------------------------------------------------------------------------------------------
// A slow qemu-img (local transport only): `convert` is rate-limited with qemu-img's own `-r`,
// so the copy really runs (and really writes a partial image) for as long as the test needs.

export async function slowQemuImg(dir: string, rate = '1M'): Promise<Record<string, string>> {
  const real = (await sh(['sh', '-c', 'command -v qemu-img'])).stdout.trim();
  assert.ok(real.startsWith('/'), 'qemu-img not found');
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const f = join(bin, 'qemu-img');
  await writeFile(f, `#!/bin/sh\n# fault injection: rate-limited copies\nif [ "$1" = convert ]; then shift; exec ${real} convert -r ${rate} "$@"; fi\nexec ${real} "$@"\n`);
  await chmod(f, 0o755);
  return { PATH: `${bin}:${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` };
}

// ---------------------------------------------------------------------------------------------
// One fault test file at a time against the lab (node --test may run files in parallel).

const LOCK_DIR = join(tmpdir(), 'vmbackup-faults.lock');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

export async function faultsLock(timeoutMs = 15 * 60_000): Promise<() => Promise<void>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      await mkdir(LOCK_DIR);
      const fh = await open(join(LOCK_DIR, 'pid'), 'w');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return async () => { await rm(LOCK_DIR, { recursive: true, force: true }); };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = Number(await readFile(join(LOCK_DIR, 'pid'), 'utf8').catch(() => 'NaN'));
    const age = await stat(LOCK_DIR).then((s) => Date.now() - s.mtimeMs, () => 0);
    if ((Number.isInteger(owner) && !alive(owner)) || (!Number.isInteger(owner) && age > 5000)) {
      await rm(LOCK_DIR, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > until) throw new Error(`${LOCK_DIR} held by pid ${owner} for too long`);
    await sleep(250);
  }
}

/** Flips one byte (XOR 0xff) at `offset` (default: the middle of the file). */
export async function flipByte(file: string, offset?: number): Promise<number> {
  const size = (await stat(file)).size;
  const at = offset ?? Math.floor(size / 2);
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = b[0]! ^ 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
  return at;
}
