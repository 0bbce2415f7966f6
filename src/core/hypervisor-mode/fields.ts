// Hypervisor mode (`runs_on: hypervisor`): the fields' defaults and the rules a hypervisor must
// meet before the Director may hand its VMs to the hypervisor's own bacula-fd. Pure.
import { err, refAt, type RawItem } from '../collect.js';
import type { Diagnostic, Hypervisor, RunsOn, SecretRef, Settings } from '../model.js';
import { reservedReason } from '../secret-refs.js';

export const DEFAULT_FD_PORT = 9102;
export const DEFAULT_FD_PASSWORD: SecretRef = { env: 'BACULA_FD_PASSWORD' };
/** vmbackup's state directory on a hypervisor (as `vmbackup daemon --state-dir` defaults on the control host). */
export const DEFAULT_HV_STATE_DIR = '/var/lib/vmbackup';

/** The Bacula Client that runs vmbackup on a hypervisor in hypervisor mode. */
export const clientNameOf = (hypervisor: string): string => `${hypervisor}-fd`;

type HypervisorMode = Pick<Hypervisor, 'runsOn' | 'fdPort' | 'fdPassword' | 'maxConcurrentJobs' | 'stateDir'>;

function secretOf(v: unknown): SecretRef | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const s = v as Record<string, unknown>;
  if (typeof s.env === 'string') return { env: s.env };
  if (typeof s.credential === 'string') return { credential: s.credential };
  return undefined;
}

/** The fields as written, with their defaults (runs_on control, port 9102, {env: BACULA_FD_PASSWORD}, 1 job, /var/lib/vmbackup). */
export function hypervisorModeOf(d: Record<string, unknown>): HypervisorMode {
  const runsOn: RunsOn = d.runs_on === 'hypervisor' ? 'hypervisor' : 'control';
  return {
    runsOn,
    fdPort: typeof d.fd_port === 'number' ? d.fd_port : DEFAULT_FD_PORT,
    fdPassword: secretOf(d.fd_password) ?? DEFAULT_FD_PASSWORD,
    maxConcurrentJobs: typeof d.max_concurrent_jobs === 'number' ? d.max_concurrent_jobs : 1,
    stateDir: typeof d.state_dir === 'string' ? d.state_dir.replace(/(?<=.)\/+$/, '') : DEFAULT_HV_STATE_DIR,
  };
}

const refKey = (r: SecretRef): string => ('env' in r ? `env ${r.env}` : `credential ${r.credential}`);

/** Secrets of settings that an fd password may not share (the placeholder Client's may be shared: it is the same kind of password). */
function otherSecrets(s: Settings): [string, SecretRef][] {
  const n = s.notifications;
  const all: [string, SecretRef | undefined][] = [
    ['settings.bacula.password', s.bacula.password],
    ['settings.bacula.catalog.db_password', s.bacula.catalog.dbPassword],
    ['settings.bacula.storage.password', s.bacula.storage.password],
    ['settings.notifications.slack.failure_webhook', n.slack?.failureWebhook],
    ['settings.notifications.slack.digest_webhook', n.slack?.digestWebhook],
    ['settings.notifications.email.password', n.email?.password],
    ['settings.notifications.webhook.url', n.webhook?.url],
  ];
  return all.filter((x): x is [string, SecretRef] => x[1] !== undefined);
}

/** Diagnostics for one declared hypervisor, at the field that causes each. */
export function hypervisorModeDiags(it: RawItem, h: Hypervisor, s: Settings): Diagnostic[] {
  const out: Diagnostic[] = [];
  const d = it.data;
  const written = secretOf(d.fd_password) !== undefined;
  if (written || h.runsOn === 'hypervisor') {
    const at = refAt(it, [written ? 'fd_password' : 'runs_on']);
    const why = reservedReason(h.fdPassword);
    const clash = otherSecrets(s).find(([, r]) => refKey(r) === refKey(h.fdPassword));
    if (why) out.push(err('VMB_SECRET_RESERVED', at, `hypervisors[${h.name}].fd_password: ${refKey(h.fdPassword)} may not be referenced by the repository: ${why}`, 'fd_password'));
    else if (clash) out.push(err('VMB_SECRET_REUSED', at, `hypervisors[${h.name}].fd_password: ${refKey(h.fdPassword)} ${written ? '' : '(its default) '}is already the secret of ${clash[0]}; a secret may serve one setting only: give each its own`, 'fd_password'));
  }
  if (h.runsOn !== 'hypervisor') return out;
  const at = refAt(it, ['runs_on']);
  if (typeof d.address !== 'string') {
    out.push(err('VMB_HYPERVISOR_MODE', at, `hypervisor "${h.name}": runs_on: hypervisor needs an address (the Director connects to its bacula-fd there): set address`, 'runs_on'));
  }
  if (clientNameOf(h.name) === s.bacula.client.name) {
    out.push(err('VMB_HYPERVISOR_MODE', at, `hypervisor "${h.name}": its Client "${clientNameOf(h.name)}" has the name of settings.bacula.client.name: rename one`, 'runs_on'));
  }
  return out;
}
