// `vmbackup daemon` as a child process for the latency benchmark, the way systemd runs it: argv
// array, HMAC webhook secret in the environment, HTTP on a free loopback port. Keeps its pino log
// (one JSON object per line) as timestamped events, and reads the two "applied" observables.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { createWriteStream, readFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The NODE_OPTIONS the shipped unit sets (Environment="NODE_OPTIONS=…"), or '' when it sets none: the daemon's figures as deployed. */
export function unitNodeOptions(): string {
  const unit = readFileSync(resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'systemd', 'vmbackup.service'), 'utf8'); // from <root>/dist/bench
  return /^Environment="NODE_OPTIONS=([^"]*)"$/m.exec(unit)?.[1] ?? '';
}

/** A process's resident set (VmRSS) in KiB, from /proc. */
export const vmRssKiB = (pid: number): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? Number.NaN);

/** A pino line; `time` (ISO, ms resolution, as the daemon's logger writes it) as epoch ms. */
export interface LogEvent { time: number; msg: string; [k: string]: unknown }

export interface Daemon {
  url: string;
  stateDir: string;
  events: LogEvent[];
  child: ChildProcess;
  exited: Promise<number | null>;
}

export const WEBHOOK_SECRET = 'bench-webhook-secret';

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => res(p)); });
    s.on('error', rej);
  });
}

export interface StartOptions { cli: string; origin: string; stateDir: string; cronFile: string; logFile: string; extra: string[]; env: Record<string, string> }

export async function startDaemon(o: StartOptions): Promise<Daemon> {
  const port = await freePort();
  const args = [o.cli, 'daemon', '--repo', o.origin, '--state-dir', o.stateDir, '--listen', `127.0.0.1:${port}`, '--cron-file', o.cronFile, '--poll', '3600', ...o.extra];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VMBACKUP_WEBHOOK_SECRET: WEBHOOK_SECRET, NO_COLOR: '1', ...o.env } });
  const file: WriteStream = createWriteStream(o.logFile);
  const events: LogEvent[] = [];
  let partial = '';
  child.stdout!.on('data', (b: Buffer) => {
    file.write(b);
    const text = partial + b.toString();
    const lines = text.split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) {
      try {
        const e = JSON.parse(l) as Record<string, unknown>;
        const time = typeof e.time === 'number' ? e.time : Date.parse(String(e.time));
        if (Number.isFinite(time)) events.push({ ...e, time, msg: String(e.msg ?? '') });
      } catch { /* not a log line */ }
    }
  });
  child.stderr!.on('data', (b: Buffer) => { file.write(b); });
  const exited = new Promise<number | null>((res) => child.on('close', (code) => { file.end(); res(code); }));
  return { url: `http://127.0.0.1:${port}`, stateDir: o.stateDir, events, child, exited };
}

/** SIGTERM (the daemon finishes its cycle and exits 0), SIGKILL after `graceMs`. */
export async function stopDaemon(d: Daemon, graceMs = 30_000): Promise<number | null> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return d.child.exitCode;
  d.child.kill('SIGTERM');
  const t = setTimeout(() => d.child.kill('SIGKILL'), graceMs);
  const code = await d.exited;
  clearTimeout(t);
  return code;
}

/** A GitHub-style push webhook for `after`, signed with X-Hub-Signature-256. Resolves with the HTTP status. */
export async function webhook(url: string, after: string): Promise<number> {
  const body = JSON.stringify({ ref: 'refs/heads/main', after });
  const sig = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(body).digest('hex')}`;
  const r = await fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig, 'x-github-event': 'push' }, body });
  await r.arrayBuffer();
  return r.status;
}

export interface DaemonStateView { lastAppliedRevision?: string; lastAttemptedRevision?: string; lastAttemptErrors: string[] }

/** state.json's daemon section (lowdb writes it whole; a read mid-write is retried by the caller). */
export function readState(stateDir: string): DaemonStateView | undefined {
  try { return (JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { daemon?: DaemonStateView }).daemon; } catch { return undefined; }
}

/** The revision label of vmbackup_config_info on /metrics. */
export async function metricsRevision(url: string): Promise<string | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return /^vmbackup_config_info\{[^}]*revision="([0-9a-f]+)"[^}]*\} 1/m.exec(text)?.[1];
}

export const readyz = async (url: string): Promise<boolean> => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200;
