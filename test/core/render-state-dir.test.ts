// Scheduled runs (cron lines, Bacula RunScripts) pass the daemon's --state-dir, so they share its
// locks and run history instead of a state dir of their own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderBacula, renderCron } from '../../src/core/render.js';
import { stateDirOfRepoPath } from '../../src/core/render-view.js';
import { makeDesired, readTemplates } from '../fixtures/desired.js';

const T = readTemplates();

describe('--state-dir in scheduled commands', () => {
  it('derives the state dir as the parent of a <state-dir>/repo checkout, else the daemon default', () => {
    assert.equal(stateDirOfRepoPath('/var/lib/vmbackup/repo'), '/var/lib/vmbackup');
    assert.equal(stateDirOfRepoPath('/srv/vmb/repo/'), '/srv/vmb');
    assert.equal(stateDirOfRepoPath('/srv/policy'), '/var/lib/vmbackup');
    assert.equal(stateDirOfRepoPath('/repo'), '/var/lib/vmbackup');
    assert.equal(stateDirOfRepoPath('/srv/myrepo'), '/var/lib/vmbackup');
  });

  it('every cron line passes --state-dir after --repo', () => {
    const d = makeDesired({ scheduler: 'cron' });
    d.settings.cron.repoPath = '/srv/vmb/repo';
    const lines = renderCron(d, T).map((f) => f.content).join("\n").split('\n').filter((l) => !l.startsWith('#') && / backup --schedule /.test(l));
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, / --repo \/srv\/vmb\/repo --state-dir \/srv\/vmb$/, l);
  });

  it('every Bacula RunScript command passes --state-dir', () => {
    const d = makeDesired();
    d.settings.bacula.repoPath = '/srv/vmb/repo';
    const cmds = renderBacula(d, T).map((f) => f.content).join("\n").split('\n').filter((l) => /^\s*Command = /.test(l));
    assert.ok(cmds.length >= 4);
    for (const c of cmds) assert.match(c, /--repo \/srv\/vmb\/repo --state-dir \/srv\/vmb[ "]/, c);
  });
});
