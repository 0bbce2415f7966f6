// Runs `vmbackup daemon` as a child process against a bare git remote, with a webhook secret and
// an HTTP port, and gives tests the levers: push a commit, sign a webhook, wait for a condition.
import { createHmac } from 'node:crypto';
import { execa, type ResultPromise } from 'execa';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLI } from './paths.js';
import { freePort } from './bacula.js';

export const WEBHOOK_SECRET = 'test-webhook-secret';

/** Tests' Slack/webhook/SMTP receivers listen on plain http/SMTP on 127.0.0.1: the daemon-side allowance (never the repo's). */
export const LOCAL_RECEIVERS = { VMBACKUP_ALLOW_PLAINTEXT_HTTP: '1', VMBACKUP_ALLOW_PLAINTEXT_SMTP: '1' } as const;

export interface DaemonProc {
  url: string;
  stateDir: string;
  logs: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | undefined>;
  kill9: () => Promise<void>;
  proc: ResultPromise;
}

export async function startDaemon(origin: string, stateDir: string, extra: string[] = [], env: Record<string, string> = {}): Promise<DaemonProc> {
  const port = await freePort();
  let out = '';
  const proc = execa(process.execPath, [CLI, 'daemon', '--repo', origin, '--state-dir', stateDir, '--listen', `127.0.0.1:${port}`, '--cron-file', join(stateDir, 'vmbackup.cron'), '--poll', '3600', ...extra], { reject: false, env: { VMBACKUP_WEBHOOK_SECRET: WEBHOOK_SECRET, NO_COLOR: '1', ...LOCAL_RECEIVERS, ...env }, all: true });
  proc.all?.on('data', (b: Buffer) => { out += b.toString(); });
  const url = `http://127.0.0.1:${port}`;
  return {
    url, stateDir, proc, logs: () => out,
    stop: async (signal = 'SIGTERM') => { proc.kill(signal); const r = await proc; if (r.exitCode === undefined) out += `\n[test] daemon ended by signal ${String(r.signal)}`; return r.exitCode; },
    kill9: async () => { proc.kill('SIGKILL'); await proc; },
  };
}

export async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try { const v = await fn(); if (v) return v; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function webhook(url: string, after: string, secret = WEBHOOK_SECRET): Promise<number> {
  const body = JSON.stringify({ ref: 'refs/heads/main', after });
  const sig = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
  const r = await fetch(`${url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': sig, 'x-github-event': 'push' }, body });
  return r.status;
}

export async function daemonState(stateDir: string): Promise<{ daemon?: { lastAppliedRevision?: string; lastAttemptedRevision?: string; lastAttemptErrors: string[] }; runs: { vm: string; kind: string; status: string; backupId?: string }[] }> {
  return JSON.parse(await readFile(join(stateDir, 'state.json'), 'utf8'));
}
