// sd_notify(3) for a Type=notify unit, without a native addon. Node's dgram has no AF_UNIX
// datagram sockets, so each message is sent by running systemd-notify(1) as a child:
// - the child is not the main PID, so the unit needs NotifyAccess=all;
// - systemd-notify (systemd >= 246) waits on a barrier (sd_notify_barrier) until PID 1 has
//   processed the message unless --no-block is given, so the message cannot be lost to the race
//   where a short-lived sender exits before PID 1 attributes it to the unit. Never pass --no-block.
// - cost: one short process per message; the watchdog pings every WatchdogSec/2 (30 s here).
// Outside systemd (no $NOTIFY_SOCKET) every call is a no-op that resolves false.
import { execFile } from 'node:child_process';

export interface SdNotifyOptions {
  env?: NodeJS.ProcessEnv;
  /** Defaults to `systemd-notify` on PATH. */
  command?: string;
  pid?: number;
  /** Per message; systemd-notify's own barrier timeout is 5 s. Default 10 s. */
  timeoutMs?: number;
  onError?: (err: Error, message: string[]) => void;
}

export interface SdNotifier {
  /** True when running under systemd with a notify socket. */
  readonly enabled: boolean;
  /** WatchdogSec/2 in ms when systemd armed a watchdog for this process, else undefined. */
  readonly watchdogIntervalMs: number | undefined;
  /** Sends KEY=VALUE fields (in order, one message); resolves true when systemd-notify exited 0. */
  notify(fields: Readonly<Record<string, string | number>>): Promise<boolean>;
  ready(status?: string): Promise<boolean>;
  /** Before re-reading config on SIGHUP; send ready() when done. */
  reloading(status?: string): Promise<boolean>;
  stopping(status?: string): Promise<boolean>;
  status(text: string): Promise<boolean>;
  /** Ask for more time while starting or stopping (e.g. committing an overlay back on SIGTERM). */
  extendTimeout(ms: number): Promise<boolean>;
  watchdog(): Promise<boolean>;
  /** Pings WATCHDOG=1 every watchdogIntervalMs while healthy() holds; returns a stop function.
   *  The timer is unref'd: it never keeps the process alive on its own. */
  startWatchdog(healthy?: () => boolean): () => void;
}

/** WATCHDOG_USEC/2 in ms, if the watchdog is meant for `pid` (WATCHDOG_PID unset or equal). */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  if (env.WATCHDOG_PID && Number(env.WATCHDOG_PID) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

/** A value systemd accepts in a notify field: one line. */
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');

export function createSdNotifier(opts: SdNotifyOptions = {}): SdNotifier {
  const env = opts.env ?? process.env;
  const pid = opts.pid ?? process.pid;
  const command = opts.command ?? 'systemd-notify';
  const enabled = Boolean(env.NOTIFY_SOCKET);
  const watchdogIntervalMs = enabled ? watchdogInterval(env, pid) : undefined;
  let queue: Promise<unknown> = Promise.resolve();

  const send = (args: string[]): Promise<boolean> => new Promise((resolve) => {
    execFile(command, args, { env: { ...env }, timeout: opts.timeoutMs ?? 10_000, windowsHide: true }, (err) => {
      if (err) opts.onError?.(err, args);
      resolve(!err);
    });
  });

  const notify = (fields: Readonly<Record<string, string | number>>): Promise<boolean> => {
    if (!enabled) return Promise.resolve(false);
    const args = Object.entries(fields).map(([k, v]) => `${k}=${oneLine(String(v))}`);
    // One at a time, in order: READY=1 must not overtake an earlier STATUS=, nor STOPPING=1 a READY=1.
    const p = queue.then(() => send(args));
    queue = p;
    return p;
  };
  const withStatus = (fields: Record<string, string | number>, status?: string) => notify(status === undefined ? fields : { ...fields, STATUS: status });
  const monotonicUsec = (): string => (process.hrtime.bigint() / 1000n).toString();

  return {
    enabled,
    watchdogIntervalMs,
    notify,
    ready: (status) => withStatus({ READY: 1 }, status),
    // MONOTONIC_USEC is what Type=notify-reload (systemd >= 253) expects; older versions ignore it.
    reloading: (status) => withStatus({ RELOADING: 1, MONOTONIC_USEC: monotonicUsec() }, status),
    stopping: (status) => withStatus({ STOPPING: 1 }, status),
    status: (text) => notify({ STATUS: text }),
    extendTimeout: (ms) => notify({ EXTEND_TIMEOUT_USEC: Math.max(0, Math.round(ms * 1000)) }),
    watchdog: () => notify({ WATCHDOG: 1 }),
    startWatchdog(healthy = () => true) {
      if (watchdogIntervalMs === undefined) return () => {};
      const timer = setInterval(() => { if (healthy()) void notify({ WATCHDOG: 1 }); }, watchdogIntervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}
