// The root installer's allow-list: what the daemon renders passes, and hostile staged content
// (root jobs, privileged ExecStart prefixes, other sections and keys, injected lines) is refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { renderCron } from '../../src/core/render.js';
import { renderSystemd } from '../../src/core/render-systemd.js';
import { checkCronFile, checkStaged, checkUnitFile, parseManifest, STAGED_CRON } from '../../src/core/schedule-install-check.js';
import { makeDesired, readTemplates } from '../fixtures/desired.js';

const O = { user: 'vmbackup', group: 'vmbackup' };
const asVmbackup = (scheduler: 'cron' | 'bacula') => { const d = makeDesired({ scheduler }); d.settings.cron.user = 'vmbackup'; return d; };
const cron = renderCron(asVmbackup('cron'), readTemplates())[0]!.content;
const units = renderSystemd(makeDesired({ scheduler: 'systemd' }));
const svc = units.find((f) => f.path.endsWith('.service'))!;
const tmr = units.find((f) => f.path === svc.path.replace(/\.service$/, '.timer'))!;
const names = units.map((f) => f.path);

describe('schedule-install-check: what vmbackup renders is accepted', () => {
  it('the rendered cron.d file (cron mode and inert bacula mode)', () => {
    assert.deepEqual(checkCronFile(cron, O), []);
    assert.deepEqual(checkCronFile(renderCron(asVmbackup('bacula'), readTemplates())[0]!.content, O), []);
  });
  it('every rendered unit, and the whole stage', () => {
    assert.ok(units.length >= 2);
    for (const f of units) assert.deepEqual(checkUnitFile(f.path, f.content, names, O), [], f.path);
    const m = parseManifest(JSON.stringify({ scheduler: 'systemd', files: names }));
    assert.ok(!('errors' in m));
    assert.deepEqual(checkStaged(m, new Map(units.map((f) => [f.path, f.content])), O), []);
  });
});

describe('schedule-install-check: hostile staged content is refused', () => {
  const refused = (errors: string[], re: RegExp) => { assert.ok(errors.length > 0, 'refused'); assert.ok(errors.some((e) => re.test(e)), errors.join('\n')); };
  it('a cron line for root, a job for another user, an environment line that is not allowed', () => {
    refused(checkCronFile(`${cron}\n0 3 * * * root /bin/sh -c id\n`, O), /runs as "root"/);
    refused(checkCronFile(`${cron}\n@daily   bin /usr/bin/id\n`, O), /runs as "bin"/);
    refused(checkCronFile(`LD_PRELOAD=/tmp/x.so\n${cron}`, O), /only SHELL/);
    refused(checkCronFile(`SHELL=/tmp/evil\n${cron}`, O), /only SHELL/);
    refused(checkCronFile(`${cron}\nnot a job\n`, O), /not a cron\.d job line/);
  });
  it('newline / carriage-return injection and line continuations', () => {
    refused(checkCronFile(`# comment\r0 3 * * * root id\n`, O), /control character/);
    refused(checkUnitFile(svc.path, svc.content.replace('[Service]\n', '[Service]\nDescription=x\\\n'), names, O), /continuation|not accepted/);
    refused(checkUnitFile(svc.path, svc.content.replace('User=vmbackup', 'User=vmbackup\rUser=root'), names, O), /control character/);
    // A value that smuggles a second line is two lines: the injected one is checked on its own.
    refused(checkUnitFile(svc.path, svc.content.replace('User=vmbackup', 'User=vmbackup\nUser=root'), names, O), /User= must be vmbackup|must be set once/);
  });
  it('User=root, Group=root, PermissionsStartOnly, SupplementaryGroups, capabilities', () => {
    refused(checkUnitFile(svc.path, svc.content.replace('User=vmbackup', 'User=root'), names, O), /User= must be vmbackup/);
    refused(checkUnitFile(svc.path, svc.content.replace('User=vmbackup\n', ''), names, O), /User=vmbackup must be set once/);
    refused(checkUnitFile(svc.path, svc.content.replace('Group=vmbackup', 'Group=root'), names, O), /Group= must be vmbackup/);
    for (const extra of ['PermissionsStartOnly=yes', 'SupplementaryGroups=disk', 'AmbientCapabilities=CAP_SYS_ADMIN', 'LoadCredential=x:/etc/shadow', 'DynamicUser=no', 'StandardInput=file:/etc/shadow']) {
      refused(checkUnitFile(svc.path, svc.content.replace('[Service]\n', `[Service]\n${extra}\n`), names, O), /is not accepted/);
    }
    refused(checkUnitFile(svc.path, svc.content.replace('EnvironmentFile=-/etc/vmbackup/vmbackup.env', 'EnvironmentFile=/etc/shadow'), names, O), /EnvironmentFile=/);
    refused(checkUnitFile(svc.path, svc.content.replace('CapabilityBoundingSet=', 'CapabilityBoundingSet=CAP_SYS_ADMIN'), names, O), /must be empty/);
  });
  it('ExecStart=+…, !…, !!…, -+…, and ExecCondition= too', () => {
    const line = /^ExecStart=(.*)$/m.exec(svc.content)![0];
    for (const p of ['+', '!', '!!', '-+', '@!']) refused(checkUnitFile(svc.path, svc.content.replace(line, line.replace('ExecStart=', `ExecStart=${p}`)), names, O), /prefix runs with privileges/);
    refused(checkUnitFile(svc.path, svc.content.replace('[Service]\n', '[Service]\nExecCondition=+/bin/true\n'), names, O), /prefix/);
    refused(checkUnitFile(svc.path, svc.content.replace('[Service]\n', '[Service]\nExecStartPre=/bin/true\n'), names, O), /is not accepted/);
  });
  it('other sections, [Install] other than WantedBy=timers.target, dependencies on other units', () => {
    refused(checkUnitFile(svc.path, `${svc.content}\n[Install]\nWantedBy=multi-user.target\n`, names, O), /section \[Install\]/);
    refused(checkUnitFile(tmr.path, tmr.content.replace('WantedBy=timers.target', 'WantedBy=multi-user.target'), names, O), /WantedBy=timers\.target/);
    refused(checkUnitFile(tmr.path, `${tmr.content}\n[Service]\nUser=root\n`, names, O), /section \[Service\]/);
    refused(checkUnitFile(svc.path, svc.content.replace('Wants=network-online.target', 'Wants=rescue.target'), names, O), /Wants= may name only/);
  });
  it("a timer's Unit= must name a staged service", () => {
    refused(checkUnitFile(tmr.path, tmr.content.replace(/^Unit=.*$/m, 'Unit=sshd.service'), names, O), /Unit= must name a service staged/);
    refused(checkUnitFile(tmr.path, tmr.content.replace(/^Unit=.*$/m, `Unit=${tmr.path}`), names, O), /Unit= must name a service staged/);
  });
  it('file names: ../, other prefixes, other suffixes; the manifest', () => {
    refused(checkUnitFile('../vmbackup-x.service', svc.content, names, O), /not a vmbackup-<name>/);
    refused(checkUnitFile('vmbackup-x.socket', svc.content, names, O), /not a vmbackup-<name>/);
    refused(checkUnitFile('sshd.service', svc.content, names, O), /not a vmbackup-<name>/);
    refused(checkUnitFile('vmbackup-schedule.service', svc.content, names, O), /not a vmbackup-<name>/);
    refused(checkCronFile(renderCron(makeDesired({ scheduler: 'cron' }), readTemplates())[0]!.content, O), /runs as "root"/);
    for (const files of [['../../etc/cron.d/x'], ['vmbackup-a.service/../../x.service'], ['vmbackup-A.timer'], ['vmbackup-a.timer\n']]) {
      const m = parseManifest(JSON.stringify({ scheduler: 'systemd', files }));
      assert.ok('errors' in m, JSON.stringify(files));
    }
    assert.ok('errors' in parseManifest(JSON.stringify({ scheduler: 'cron', files: ['../vmbackup.cron'] })));
    assert.ok('errors' in parseManifest(JSON.stringify({ scheduler: 'root', files: [] })));
    assert.ok('errors' in parseManifest('{not json'));
    assert.ok('errors' in parseManifest(JSON.stringify({ scheduler: 'bacula', files: [STAGED_CRON] })));
  });
  it('a unit without the generated-by header (it could never be removed again)', () => {
    refused(checkUnitFile(svc.path, svc.content.replace(/^# generated by vmbackup.*$/m, '# hello'), names, O), /header/);
  });
});
