// The action progress page's view model: the phase ladder (lock, pre-checks, snapshot, copying N%,
// commit, verify, publish) with each phase marked done, current or to come. Pure.
import { actionProgress, type ActionLike } from './vm-view.js';

export const PHASES = ['queued', 'lock', 'pre-checks', 'snapshot', 'copying', 'commit', 'verify', 'publish', 'done'] as const;

export interface ActionPage {
  id: string; kind: string; vm: string; vmHref: string; by: string; state: string; stateCls: string; progress: string; percent: number;
  detail: string; finished: boolean; requestedAt: string; runHref?: string;
  phases: { name: string; cls: 'ph-done' | 'ph-current' | 'ph-todo' }[];
}

export function isFinished(state: string): boolean { return state === 'ok' || state === 'failed' || state === 'cancelled'; }

export function actionPage(a: ActionLike & { runId?: string }): ActionPage {
  const finished = isFinished(a.state);
  const at = Math.max(0, PHASES.indexOf(a.phase as (typeof PHASES)[number]));
  const phases = PHASES.map((name, i) => ({ name: name === 'copying' && a.phase === 'copying' && a.percent !== undefined ? `copying ${a.percent}%` : name, cls: (a.state === 'ok' || i < at ? 'ph-done' : i === at ? 'ph-current' : 'ph-todo') as ActionPage['phases'][number]['cls'] }));
  const percent = a.state === 'ok' ? 100 : a.phase === 'copying' ? (a.percent ?? 0) : Math.round((at / (PHASES.length - 1)) * 100);
  return {
    id: a.id, kind: a.kind, vm: a.vm, vmHref: `/ui/vms/${encodeURIComponent(a.vm)}`, by: a.by, state: a.state, stateCls: a.state === 'ok' ? 'st-ok' : a.state === 'failed' ? 'st-bad' : a.state === 'cancelled' ? 'st-warn' : 'st-unknown',
    progress: actionProgress(a), percent: Math.min(100, Math.max(0, percent)), detail: a.detail ?? '', finished, requestedAt: a.requestedAt,
    ...(a.runId ? { runHref: `/ui/vms/${encodeURIComponent(a.vm)}#run-${encodeURIComponent(a.runId)}` } : {}), phases,
  };
}
