// libvirt through `virsh` on a hypervisor's transport. Every call is an argv array with its own
// timeout; nothing here builds a shell string. Output parsing lives in parse.ts / core/domain-xml.ts.
import type { Transport } from '../transport/transport.js';
import { parseDomainXml, type DomainInfo } from '../../core/domain-xml.js';
import { parseBlockJobRaw, parseFreezeStatus, parseVirshList, type DomainState } from './parse.js';

/** What `undefine` does with a VM's NVRAM file and emulated-TPM state. */
export interface UndefineFiles { nvram: 'keep' | 'remove'; tpm: 'keep' | 'remove' }

export interface VirshTimeouts { quickMs: number; snapshotMs: number; commitMs: number }
const DEFAULTS: VirshTimeouts = { quickMs: 30_000, snapshotMs: 120_000, commitMs: 3_600_000 };

/** virsh's --diskspec is comma-separated; a comma inside a path is written twice. */
const specPath = (p: string): string => p.replace(/,/g, ',,');

export class Virsh {
  private readonly t: VirshTimeouts;
  constructor(readonly transport: Transport, readonly uri?: string, timeouts: Partial<VirshTimeouts> = {}) {
    this.t = { ...DEFAULTS, ...timeouts };
  }

  private argv(...args: string[]): string[] {
    return this.uri ? ['virsh', '-q', '-c', this.uri, ...args] : ['virsh', '-q', ...args];
  }

  private async out(args: string[], timeoutMs = this.t.quickMs): Promise<string> {
    return (await this.transport.run(this.argv(...args), { timeoutMs })).stdout;
  }

  /** Every domain on the host with its state: one command however many VMs (batched observation). */
  async list(): Promise<Map<string, DomainState>> {
    return parseVirshList(await this.out(['list', '--all']));
  }

  async domstate(vm: string): Promise<DomainState> {
    return (await this.out(['domstate', '--domain', vm])).trim() as DomainState;
  }

  async dumpxml(vm: string, inactive = false): Promise<string> {
    return this.out(['dumpxml', '--domain', vm, ...(inactive ? ['--inactive'] : [])]);
  }

  async info(vm: string): Promise<DomainInfo> {
    return parseDomainXml(await this.dumpxml(vm));
  }

  /** Foreign snapshot metadata (ours are always --no-metadata). */
  async snapshotNames(vm: string): Promise<string[]> {
    return (await this.out(['snapshot-list', '--domain', vm, '--name'])).split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /** Does the guest agent answer within `timeoutSec`? */
  async agentPing(vm: string, timeoutSec: number): Promise<boolean> {
    const r = await this.transport.run(this.argv('qemu-agent-command', '--domain', vm, '--timeout', String(timeoutSec), '{"execute":"guest-ping"}'), { timeoutMs: (timeoutSec + 10) * 1000, allowFailure: true });
    return r.exitCode === 0;
  }

  async freezeStatus(vm: string): Promise<'thawed' | 'frozen' | 'unknown'> {
    const r = await this.transport.run(this.argv('qemu-agent-command', '--domain', vm, '--timeout', '5', '{"execute":"guest-fsfreeze-status"}'), { timeoutMs: this.t.quickMs, allowFailure: true });
    return r.exitCode === 0 ? parseFreezeStatus(r.stdout) : 'unknown';
  }

  /**
   * Freeze the guest's filesystems through the agent, bounded by `timeoutSec` inside libvirt too
   * (a hung agent makes the command fail instead of holding libvirtd). Returns how many froze.
   */
  async freeze(vm: string, timeoutSec: number): Promise<{ ok: true; frozen: number } | { ok: false; error: string }> {
    const r = await this.transport.run(this.argv('qemu-agent-command', '--domain', vm, '--timeout', String(timeoutSec), '{"execute":"guest-fsfreeze-freeze"}'), { timeoutMs: (timeoutSec + 10) * 1000, allowFailure: true });
    if (r.exitCode !== 0) return { ok: false, error: (r.stderr || r.stdout).trim().split('\n').slice(-1)[0] || `exit ${r.exitCode}` };
    const n = Number((JSON.parse(r.stdout) as { return?: unknown }).return);
    return { ok: true, frozen: Number.isFinite(n) ? n : 0 };
  }

  /**
   * Thaw; harmless when nothing is frozen. Through the agent with a timeout first (libvirt may not
   * know of a freeze it did not make), then libvirt's own domfsthaw.
   */
  async thaw(vm: string): Promise<void> {
    const r = await this.transport.run(this.argv('qemu-agent-command', '--domain', vm, '--timeout', '10', '{"execute":"guest-fsfreeze-thaw"}'), { timeoutMs: this.t.quickMs, allowFailure: true });
    if (r.exitCode !== 0) await this.transport.run(this.argv('domfsthaw', '--domain', vm), { timeoutMs: this.t.quickMs, allowFailure: true });
  }

  /** External, disk-only, atomic snapshot without libvirt metadata; `overlays` maps target → overlay file. */
  async snapshotDiskOnly(vm: string, name: string, overlays: ReadonlyMap<string, string>, skipped: readonly string[], quiesce: boolean, timeoutMs = this.t.snapshotMs): Promise<void> {
    const specs = [...[...overlays].map(([dev, file]) => ['--diskspec', `${dev},snapshot=external,file=${specPath(file)}`]), ...skipped.map((dev) => ['--diskspec', `${dev},snapshot=no`])].flat();
    await this.transport.run(this.argv('snapshot-create-as', '--domain', vm, '--name', name, '--disk-only', '--atomic', '--no-metadata', ...(quiesce ? ['--quiesce'] : []), ...specs), { timeoutMs });
  }

  /** Active block commit of the overlay into its base; waits until the job is ready to pivot. */
  async blockcommitActive(vm: string, target: string, timeoutSec: number): Promise<void> {
    await this.transport.run(this.argv('blockcommit', '--domain', vm, '--path', target, '--active', '--wait', '--timeout', String(timeoutSec)), { timeoutMs: (timeoutSec + 30) * 1000 });
  }

  async blockjob(vm: string, target: string): Promise<ReturnType<typeof parseBlockJobRaw>> {
    const r = await this.transport.run(this.argv('blockjob', '--domain', vm, '--path', target, '--info', '--raw'), { timeoutMs: this.t.quickMs, allowFailure: true });
    return parseBlockJobRaw(r.stdout + r.stderr);
  }

  async pivot(vm: string, target: string): Promise<void> {
    await this.transport.run(this.argv('blockjob', '--domain', vm, '--path', target, '--pivot'), { timeoutMs: this.t.quickMs });
  }

  async abortJob(vm: string, target: string): Promise<void> {
    await this.transport.run(this.argv('blockjob', '--domain', vm, '--path', target, '--abort'), { timeoutMs: this.t.quickMs, allowFailure: true });
  }

  /**
   * Define a domain from XML text. virsh cannot read a socket as /dev/stdin (node's stdio is a
   * socketpair), so the XML goes through `tee` into a private temp file that is removed after.
   */
  async define(xml: string): Promise<void> {
    const tmp = (await this.transport.run(['mktemp', '--tmpdir', 'vmbackup-define.XXXXXXXX.xml'], { timeoutMs: this.t.quickMs })).stdout.trim();
    if (!/^\/[\w./-]+$/.test(tmp)) throw new Error(`${this.transport.host}: mktemp returned ${JSON.stringify(tmp)}`);
    try {
      await this.transport.run(['tee', '--', tmp], { input: xml, timeoutMs: this.t.quickMs });
      await this.transport.run(this.argv('define', '--file', tmp), { timeoutMs: this.t.quickMs });
    } finally {
      await this.transport.run(['rm', '-f', '--', tmp], { timeoutMs: this.t.quickMs, allowFailure: true });
    }
  }

  async start(vm: string): Promise<void> {
    await this.transport.run(this.argv('start', '--domain', vm), { timeoutMs: this.t.snapshotMs });
  }

  async destroy(vm: string): Promise<void> {
    await this.transport.run(this.argv('destroy', '--domain', vm), { timeoutMs: this.t.quickMs, allowFailure: true });
  }

  /**
   * Removes the definition (disks always stay). A UEFI VM's NVRAM file and an emulated TPM's state
   * are kept or removed exactly as asked: `remove` for a throwaway copy's own files, `keep` when the
   * same VM is defined again (in place). Without either libvirt refuses a VM with NVRAM and deletes
   * the TPM state, so both are always explicit.
   */
  async undefine(vm: string, o: UndefineFiles = { nvram: 'keep', tpm: 'keep' }): Promise<void> {
    const flags = [o.nvram === 'remove' ? '--nvram' : '--keep-nvram', o.tpm === 'remove' ? '--tpm' : '--keep-tpm'];
    await this.transport.run(this.argv('undefine', '--domain', vm, ...flags), { timeoutMs: this.t.quickMs });
  }

  /** The persistent definition with everything needed to define it again as it was (--security-info keeps VNC passwords). */
  async dumpxmlForRedefine(vm: string): Promise<string> {
    return this.out(['dumpxml', '--domain', vm, '--inactive', '--security-info']);
  }

  /** Does a libvirt network exist and is it active? */
  async networkActive(name: string): Promise<boolean> {
    const r = await this.transport.run(this.argv('net-info', '--network', name), { timeoutMs: this.t.quickMs, allowFailure: true });
    return r.exitCode === 0 && /Active:\s+yes/.test(r.stdout);
  }
}
