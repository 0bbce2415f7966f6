// Waits, until a deadline, for the evidence a probe asks for on a running throwaway copy: the guest
// agent answering guest-ping and guest-info, a pattern on its serial console, or a TCP port
// accepting on the isolated network. Each attempt is bounded; the deadline bounds them all.
import { agentInfo, domainAddresses, readTail, tcpConnect } from '../../adapters/libvirt/virsh-evidence.js';
import { cleanConsole, CONSOLE_WINDOW_BYTES, matchExcerpt, type ProbeSpec } from '../../core/probe.js';
import type { Host } from '../hosts.js';
import { matchWithTimeout } from './regex-match.js';

export interface ProbeOutcome { ok: boolean; detail: string }
export interface ProbeTarget { host: Host; dom: string; consoleLog: string; deadline: number; pollMs?: number }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const secsLeft = (deadline: number): number => Math.max(1, Math.ceil((deadline - Date.now()) / 1000));

export async function runProbe(p: ProbeSpec, t: ProbeTarget): Promise<ProbeOutcome> {
  const alive = async (): Promise<string | undefined> => {
    const state = await t.host.virsh.domstate(t.dom);
    return state === 'running' ? undefined : `the copy is ${state}, not running`;
  };
  return waitForEvidence(p.kind, () => attempt(p, t), { deadline: t.deadline, pollMs: t.pollMs ?? 1000, alive });
}

type Attempt = ProbeOutcome & { final?: boolean };

/** Repeats `attempt` until it succeeds, says it never will (`final`), the copy dies, or the deadline passes. */
export async function waitForEvidence(kind: string, attempt: () => Promise<Attempt>, o: { deadline: number; pollMs: number; alive?: () => Promise<string | undefined> }): Promise<ProbeOutcome> {
  const startedAt = Date.now();
  let last = 'no answer yet';
  while (Date.now() < o.deadline) {
    const dead = await o.alive?.();
    if (dead) return { ok: false, detail: `${dead} (${kind} probe: ${last})` };
    const r = await attempt();
    if (r.ok) return r;
    last = r.detail;
    if (r.final) return { ok: false, detail: r.detail };
    await sleep(Math.min(o.pollMs, Math.max(0, o.deadline - Date.now())));
  }
  return { ok: false, detail: `${kind} probe: no evidence within ${Math.round((Date.now() - startedAt) / 1000)}s: ${last}` };
}

/** One try of the tcp probe: each address in turn, each connect bounded by the time left (at most 5 s). */
export async function tcpAttempt(transport: Host['transport'], addrs: readonly string[], port: number, deadline: number): Promise<Attempt> {
  if (!addrs.length) return { ok: false, detail: 'no IPv4 address seen for the copy on the isolated network (DHCP lease or ARP)' };
  const details: string[] = [];
  for (const ip of addrs) {
    const r = await tcpConnect(transport, ip, port, Math.min(5, secsLeft(deadline)));
    if (r.ok) return { ok: true, detail: r.detail };
    details.push(r.detail);
  }
  return { ok: false, detail: details.join('; ') };
}

async function attempt(p: ProbeSpec, t: ProbeTarget): Promise<Attempt> {
  if (p.kind === 'agent') {
    if (!(await t.host.virsh.agentPing(t.dom, Math.min(5, secsLeft(t.deadline))))) return { ok: false, detail: 'guest-ping not answered' };
    const info = await agentInfo(t.host.virsh, t.dom, Math.min(5, secsLeft(t.deadline)));
    return info.ok ? { ok: true, detail: `guest agent answered guest-ping and guest-info (qemu-ga ${info.version})` } : { ok: false, detail: `guest-info: ${info.error}` };
  }
  if (p.kind === 'console') {
    const text = cleanConsole(await readTail(t.host.transport, t.consoleLog, CONSOLE_WINDOW_BYTES));
    if (!text) return { ok: false, detail: 'nothing on the serial console' };
    const m = await matchWithTimeout(p.pattern, text);
    if ('timedOut' in m) return { ok: false, final: true, detail: `console pattern /${p.pattern}/ took too long to run (over the matcher's time limit); simplify it` };
    return m.matched ? { ok: true, detail: `console matched /${p.pattern}/: ${JSON.stringify(matchExcerpt(text, m.index))}` } : { ok: false, detail: `/${p.pattern}/ not on the serial console (${text.length} characters so far)` };
  }
  return tcpAttempt(t.host.transport, await domainAddresses(t.host.virsh, t.dom), p.port, t.deadline);
}
