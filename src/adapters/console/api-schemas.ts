// JSON schemas of the console API's bodies and answers: requests are strict (unknown fields are
// refused, so `by`/`at` cannot be smuggled into an audit line); big read views are described
// at their top level and passed through whole.
import { ERROR_SCHEMA } from './api-errors.js';

export const API_PREFIX = '/api/v1';

const str = { type: 'string' } as const;
/** A view object passed through as built by the service (its shape is in src/ports/console.ts). */
export const OPEN_OBJECT = { type: 'object', additionalProperties: true } as const;
const openArray = { type: 'array', items: OPEN_OBJECT } as const;

export const VM_NAME = { type: 'string', minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9][A-Za-z0-9_.+-]*$' } as const;
export const BACKUP_ID = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z][0-9A-Za-z_.:-]*$' } as const;
export const ID = { type: 'string', minLength: 1, maxLength: 160, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:+-]*$' } as const;

export const RESTORE_SCHEMA = {
  type: 'object', additionalProperties: false,
  properties: {
    mode: { type: 'string', enum: ['new', 'in-place'] },
    name: VM_NAME,
    hypervisor: VM_NAME,
    network: { type: 'string', enum: ['none', 'isolated', 'keep'] },
    start: { type: 'boolean' },
  },
  required: ['mode', 'network'],
} as const;

export const ACTION_SCHEMA = {
  type: 'object',
  properties: {
    id: str, kind: { type: 'string', enum: ['backup', 'verify', 'test-restore', 'prune', 'restore'] }, vm: str, hypervisor: str, backupId: str,
    restore: { type: 'object', properties: { mode: str, name: str, hypervisor: str, network: str, start: { type: 'boolean' } } },
    by: str, requestedAt: str,
    state: { type: 'string', enum: ['queued', 'running', 'ok', 'failed', 'cancelled'] },
    phase: { type: 'string', enum: ['queued', 'lock', 'pre-checks', 'snapshot', 'copying', 'commit', 'verify', 'publish', 'done'] },
    percent: { type: 'number' }, startedAt: str, finishedAt: str, runId: str, detail: str, revision: str,
  },
  required: ['id', 'kind', 'vm', 'hypervisor', 'by', 'requestedAt', 'state', 'phase', 'revision'],
} as const;

export const PRUNE_PREVIEW_SCHEMA = {
  type: 'object',
  properties: {
    vm: str, dry_run: { type: 'boolean' }, points: { type: 'number' },
    prune: { type: 'array', items: { type: 'object', properties: { id: str, reasons: { type: 'array', items: str } }, required: ['id', 'reasons'] } },
    refused: str, held: str, detail: str,
  },
  required: ['vm', 'dry_run', 'points', 'prune', 'detail'],
} as const;

export const PAUSE_SCHEMA = { type: 'object', properties: { vm: str, until: str, reason: str, by: str, at: str }, required: ['vm', 'until', 'reason', 'by', 'at'] } as const;
export const REVISIONS_SCHEMA = {
  type: 'object',
  properties: { lastAppliedRevision: str, lastAttemptedRevision: str, lastAttemptErrors: { type: 'array', items: str }, lastAttemptAt: str, lastReconcileAt: str },
  required: ['lastAttemptErrors'],
} as const;
export const AUDIT_SCHEMA = {
  type: 'object',
  properties: { at: str, by: str, role: str, act: str, vm: str, action_id: str, backup_id: str, result: str, detail: str, revision: str },
  required: ['at', 'by', 'role', 'act', 'result'],
} as const;
export const FLEET_SCHEMA = { type: 'object', properties: { summary: OPEN_OBJECT, vms: openArray, revisions: REVISIONS_SCHEMA }, required: ['vms', 'revisions'] } as const;
export const VM_SCHEMA = {
  type: 'object',
  properties: { status: OPEN_OBJECT, pause: PAUSE_SCHEMA, window: OPEN_OBJECT, runs: openArray, actions: { type: 'array', items: ACTION_SCHEMA } },
  required: ['status', 'runs', 'actions'],
} as const;
export const HYPERVISOR_SCHEMA = { type: 'object', properties: { name: str, reachable: { type: 'boolean' }, vms: { type: 'array', items: str }, runsOn: str }, required: ['name', 'vms'] } as const;
const bytesMap = { type: 'object', additionalProperties: { type: 'number' } } as const;
export const STORAGE_SCHEMA = {
  type: 'object',
  properties: {
    used_bytes: { type: 'number' }, total_bytes: { type: 'number' }, percent: { type: 'number' }, alert_percent: { type: 'number' }, alert: { type: 'boolean' },
    by_hypervisor: bytesMap, by_vm: bytesMap,
    history: { type: 'array', items: { type: 'object', properties: { day: str, used_bytes: { type: 'number' }, total_bytes: { type: 'number' }, by_hypervisor: bytesMap, by_vm: bytesMap }, required: ['day', 'used_bytes', 'by_hypervisor', 'by_vm'] } },
  },
  required: ['alert_percent', 'alert', 'by_hypervisor', 'by_vm', 'history'],
} as const;

/** Error answers every route may give (4xx/5xx). */
export const errors = (...codes: number[]): Record<number, typeof ERROR_SCHEMA> => Object.fromEntries([401, 403, 400, ...codes].map((c) => [c, ERROR_SCHEMA]));

export const VM_PARAMS = { type: 'object', additionalProperties: false, properties: { vm: VM_NAME }, required: ['vm'] } as const;
export const ID_PARAMS = { type: 'object', additionalProperties: false, properties: { id: ID }, required: ['id'] } as const;
