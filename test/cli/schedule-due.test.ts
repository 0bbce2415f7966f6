// `vmbackup schedule due` as systemd runs it from ExecCondition=: exit 0 due, 1 skip, 255 failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLI } from '../helpers/paths.js';

const due = (...args: string[]) => spawnSync(process.execPath, [CLI, 'schedule', 'due', ...args], { encoding: 'utf8' });

test('schedule due: even ISO week 0, odd 1, bad zone 255', () => {
  assert.equal(due('--time-zone', 'Europe/Berlin', '--at', '2027-01-16T11:00:05Z', '--', 'biweekly').status, 0);
  const odd = due('--time-zone', 'Europe/Berlin', '--at', '2027-01-23T11:00:05Z', '--', 'biweekly');
  assert.equal(odd.status, 1);
  assert.match(odd.stdout, /not due: the run of 2027-01-23 12:00/);
  assert.equal(due('--time-zone', 'Nowhere/X', '--', 'biweekly').status, 255);
  assert.equal(due('--time-zone', 'UTC', '--', 'fortnightly').status, 255);
});
