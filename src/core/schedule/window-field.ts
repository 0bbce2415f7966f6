// A policy's `window` and `blackout` fields, parsed for normalize.ts: each problem becomes a
// VMB_BAD_WINDOW diagnostic at the exact field (a wrong type is left to the schema's diagnostic).
import { err, refAt, type RawItem } from '../collect.js';
import type { Diagnostic } from '../model.js';
import { parseWindowRules, type WindowRules } from './window-rules.js';

/** `window` and `blackout` of a policy; each problem at its field (VMB_BAD_WINDOW). */
export function windowOf(it: RawItem, diags: Diagnostic[]): WindowRules | undefined {
  const r = parseWindowRules(it.data.window, it.data.blackout);
  for (const { field, problem } of r.problems) {
    if (!problem.message) continue; // a wrong type: the schema's diagnostic says it
    const path = [field, ...problem.path];
    diags.push(err('VMB_BAD_WINDOW', refAt(it, path), problem.message, path.map((x, i) => (typeof x === 'number' ? `[${x}]` : i ? `.${x}` : x)).join('')));
  }
  return r.problems.length ? undefined : r.rules;
}
