// A schedule from its spec, failing the test when the spec is refused.
import assert from 'node:assert/strict';
import type { Schedule } from '../../src/core/model.js';
import { normalizeSchedule } from '../../src/core/schedule.js';

export function ok(spec: string): Schedule {
  const r = normalizeSchedule(spec);
  if ('error' in r) assert.fail(`${spec}: ${r.error}`);
  return r.schedule;
}
