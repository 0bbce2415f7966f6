import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { DesiredState } from '../../src/core/model.js';
import { renderAll, renderBacula, renderCron, type Templates } from '../../src/core/render.js';
import { makeDesired, PROJECT_ROOT, readTemplates, sched, shuffled } from '../fixtures/desired.js';

const T = readTemplates();

function content(files: { path: string; content: string }[], path: string): string {
  const f = files.find((x) => x.path === path);
  assert.ok(f, `no ${path} in ${files.map((x) => x.path).join(', ')}`);
  return f.content;
}

/** The text of one Bacula resource, e.g. resource(conf, 'Job', 'backup-vm-x'). */
function resource(conf: string, kind: string, name: string): string | undefined {
  const re = new RegExp(`^${kind} \\{\\n  Name = "${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\n[\\s\\S]*?^\\}$`, 'm');
  return re.exec(conf)?.[0];
}

describe('renderAll', () => {
  it('returns bacula-dir.conf (0600, holds secret placeholders) and vmbackup.cron (0644), sorted by path', () => {
    const files = renderAll(makeDesired(), T);
    assert.deepEqual(files.map((f) => [f.path, f.mode]), [['bacula-dir.conf', 0o600], ['vmbackup.cron', 0o644]]);
  });

  it('accepts opts.outDir without changing the output (no include paths)', () => {
    assert.deepEqual(renderAll(makeDesired(), T, { outDir: '/somewhere/else' }), renderAll(makeDesired(), T));
    assert.doesNotMatch(content(renderAll(makeDesired(), T), 'bacula-dir.conf'), /^\s*@/m);
  });

  it('is deterministic and independent of the order of vms, hypervisors and policies', () => {
    const base = renderAll(makeDesired(), T);
    for (let seed = 1; seed <= 20; seed++) {
      const d = makeDesired();
      const s: DesiredState = { ...d, vms: shuffled(d.vms, seed), hypervisors: shuffled(d.hypervisors, seed * 7), policies: shuffled(d.policies, seed * 13) };
      assert.deepEqual(renderAll(s, T), base, `seed ${seed}`);
    }
  });
});

describe('renderBacula', () => {
  const conf = content(renderBacula(makeDesired(), T), 'bacula-dir.conf');

  it('one Admin job per enabled VM, ordered by priority then name', () => {
    const names = [...conf.matchAll(/^  Name = "(backup-vm-[^"]+)"$/gm)].map((m) => m[1]);
    assert.deepEqual(names, [
      'backup-vm-prod-db-01', 'backup-vm-asav-firewall-01', 'backup-vm-web-server-01',
      'backup-vm-ci-runner-01', 'backup-vm-file-server-01', 'backup-vm-dev-test-vm', 'backup-vm-archive-01',
    ]);
    const job = resource(conf, 'Job', 'backup-vm-file-server-01');
    assert.ok(job);
    assert.match(job, /^ {2}Type = Admin$/m);
    assert.match(job, /^ {2}Priority = 15$/m);
    assert.match(job, /^ {2}Schedule = "sched-biweekly"$/m);
  });

  it('disabled VMs get no job', () => {
    assert.equal(resource(conf, 'Job', 'backup-vm-old-vm'), undefined);
    assert.doesNotMatch(conf, /old-vm/);
    assert.equal(resource(conf, 'Job', 'vmbackup-no-vms'), undefined);
  });

  it('no enabled VM at all: one idle placeholder job, no schedules, no cron lines', () => {
    const d = makeDesired({ scheduler: 'cron' });
    for (const vm of d.vms) vm.enabled = false;
    const files = renderAll(d, T);
    const out = content(files, 'bacula-dir.conf');
    assert.ok(resource(out, 'Job', 'vmbackup-no-vms'));
    assert.doesNotMatch(out, /backup-vm-|^Schedule/m);
    assert.equal(content(files, 'vmbackup.cron').split('\n').filter((l) => /^[0-9*]/.test(l)).length, 0);
  });

  it('the four RunScripts of seed 002, all on the director host', () => {
    const job = resource(conf, 'Job', 'backup-vm-prod-db-01')!;
    const scripts = [...job.matchAll(/ {2}RunScript \{\n([\s\S]*?)\n {2}\}/g)].map((m) => m[1]!.split('\n').map((l) => l.trim()));
    assert.deepEqual(scripts, [
      ['RunsWhen = Before', 'RunsOnClient = No', 'FailJobOnError = Yes', 'Command = "/usr/bin/vmbackup check prod-db-01 --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup"'],
      ['RunsWhen = Before', 'RunsOnClient = No', 'FailJobOnError = Yes', 'Command = "/usr/bin/vmbackup backup prod-db-01 --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup --bacula-job-id %i"'],
      ['RunsWhen = After', 'RunsOnClient = No', 'RunsOnSuccess = Yes', 'RunsOnFailure = No', 'Command = "/usr/bin/vmbackup verify prod-db-01 --latest --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup"'],
      ['RunsWhen = After', 'RunsOnClient = No', 'RunsOnSuccess = Yes', 'RunsOnFailure = Yes', 'Command = "/usr/bin/vmbackup notify prod-db-01 --job-id %i --job-status \'%e\' --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup"'],
    ]);
  });

  it('one Schedule per distinct schedule of enabled VMs, named sched-<slug>', () => {
    const names = [...conf.matchAll(/^Schedule \{\n {2}Name = "([^"]+)"/gm)].map((m) => m[1]);
    assert.deepEqual(names, ['sched-biweekly', 'sched-cron-30_1_x_x_1-5', 'sched-monthly', 'sched-weekly']);
    assert.match(resource(conf, 'Schedule', 'sched-weekly')!, /^ {2}Run = sat at 12:00$/m);
  });

  it('Director Maximum Concurrent Jobs comes from settings (1 when unset/invalid)', () => {
    assert.match(conf, /^ {2}Maximum Concurrent Jobs = 1$/m);
    const d = makeDesired();
    d.settings.bacula.maxConcurrentJobs = 3;
    assert.match(content(renderBacula(d, T), 'bacula-dir.conf'), /^ {2}Maximum Concurrent Jobs = 3$/m);
    d.settings.bacula.maxConcurrentJobs = 0;
    assert.match(content(renderBacula(d, T), 'bacula-dir.conf'), /^ {2}Maximum Concurrent Jobs = 1$/m);
  });

  it('secrets are placeholders built from the SecretRef, never values', () => {
    assert.match(conf, /^ {2}Password = "@@secret:env:BACULA_DIR_PASSWORD@@"$/m);
    assert.match(conf, /^ {2}Password = "@@secret:env:BACULA_FD_PASSWORD@@"$/m);
    assert.match(conf, /^ {2}Password = "@@secret:env:BACULA_SD_PASSWORD@@"$/m);
    assert.match(conf, /^ {2}dbpassword = "@@secret:credential:bacula-db@@"$/m);
    const passwords = [...conf.matchAll(/password = "([^"]*)"/gim)].map((m) => m[1]);
    for (const p of passwords) assert.match(p!, /^@@secret:(env|credential):[A-Za-z0-9_.-]+@@$/);
  });

  it('no catalog password gives an empty one and a secret name with odd characters is refused', () => {
    const d = makeDesired();
    delete d.settings.bacula.catalog.dbPassword;
    assert.match(content(renderBacula(d, T), 'bacula-dir.conf'), /^ {2}dbpassword = ""$/m);
    d.settings.bacula.password = { env: 'X"; Password = "y' };
    assert.throws(() => renderBacula(d, T), /secret env name/);
  });

  it('escapes quotes and backslashes for Bacula, doubles % in commands, quotes blanks for Bacula argv', () => {
    const d = makeDesired();
    d.settings.bacula.command = '/opt/my "tools"\\bin/vmbackup';
    d.settings.bacula.repoPath = '/srv/policy repo/100%';
    d.policies[0]!.description = 'Critical "tier 0" \\ DB\nsecond line';
    const out = content(renderBacula(d, T), 'bacula-dir.conf');
    const job = resource(out, 'Job', 'backup-vm-prod-db-01')!;
    assert.match(job, /^ {2}Description = "VM prod-db-01 on hypervisor-01, quiesce, policy critical: Critical \\"tier 0\\" \\\\ DB second line"$/m);
    // The path has a blank, so it is one Bacula argv word in '…'; then " and \ are escaped for the config string.
    assert.ok(job.includes(String.raw`    Command = "'/opt/my \"tools\"\\bin/vmbackup' check prod-db-01 --repo '/srv/policy repo/100%%' --state-dir /var/lib/vmbackup"`), job);
    assert.ok(job.includes(String.raw`--bacula-job-id %i"`));
  });

  it('control characters in names are refused rather than rendered', () => {
    const d = makeDesired();
    d.vms[0]!.name = 'bad\nname';
    assert.throws(() => renderBacula(d, T), /control characters/);
  });

  it('a schedule Bacula cannot express is an error with scheduler bacula, fine with scheduler cron', () => {
    const d = makeDesired();
    d.vms[0]!.schedule = sched('*/30 * * * *');
    assert.throws(() => renderBacula(d, T), /cannot be rendered for Bacula: .*48 times a day/);
    d.settings.scheduler = 'cron';
    assert.doesNotThrow(() => renderAll(d, T));
  });

  it('with scheduler cron: jobs stay (manual runs) but have no Schedule', () => {
    const out = content(renderBacula(makeDesired({ scheduler: 'cron' }), T), 'bacula-dir.conf');
    assert.doesNotMatch(out, /^Schedule \{/m);
    assert.doesNotMatch(out, /^ {2}Schedule = /m);
    assert.ok(resource(out, 'Job', 'backup-vm-prod-db-01'));
  });

  it('template overrides: a bacula-dir template without a jobs partial, helpers available', () => {
    const t: Templates = { baculaDir: '{{#each jobs}}{{bstr name}} {{bcmd ../command "x" "%i" "50%"}} {{secret ../desired.settings.bacula.password}}\n{{/each}}', cron: T.cron };
    const out = content(renderBacula(makeDesired(), t), 'bacula-dir.conf');
    assert.equal(out.split('\n')[0], '"backup-vm-prod-db-01" "/usr/bin/vmbackup x %i 50%%" @@secret:env:BACULA_DIR_PASSWORD@@');
    assert.equal(renderBacula(makeDesired(), t)[0]!.mode, 0o600);
    assert.throws(() => renderBacula(makeDesired(), { baculaDir: '{{> jobs}}', cron: T.cron }), /partial jobs could not be found/);
    assert.throws(() => renderBacula(makeDesired(), { baculaDir: '{{director.nmae}}', cron: T.cron }), /"nmae" not defined/);
  });
});

describe('renderCron', () => {
  const cronText = (d: DesiredState): string => content(renderCron(d, T), 'vmbackup.cron');

  it('cron.d header, one line per distinct schedule with the VMs in priority order', () => {
    const out = cronText(makeDesired({ scheduler: 'cron' }));
    const lines = out.split('\n');
    assert.equal(lines[0], '# generated by vmbackup, do not edit');
    for (const l of ['SHELL=/bin/sh', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'MAILTO=""', 'CRON_TZ=Europe/Berlin']) assert.ok(lines.includes(l), l);
    const entries = lines.filter((l) => /^[0-9*]/.test(l));
    assert.deepEqual(entries, [
      "0 12 * * 6 root date +\\%V | grep -q '[02468]$' && /usr/bin/vmbackup backup --schedule biweekly --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup",
      '30 1 * * 1-5 root /usr/bin/vmbackup backup --schedule cron-30_1_x_x_1-5 --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup',
      '0 12 * * 6 root [ "$(date +\\%d)" -le 7 ] && /usr/bin/vmbackup backup --schedule monthly --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup',
      '0 12 * * 6 root /usr/bin/vmbackup backup --schedule weekly --repo /var/lib/vmbackup/repo --state-dir /var/lib/vmbackup',
    ]);
    const weeklyComment = lines[lines.indexOf(entries[3]!) - 1];
    assert.equal(weeklyComment, '# weekly: Saturday 12:00: prod-db-01, asav-firewall-01, web-server-01');
    assert.doesNotMatch(out, /old-vm/);
    assert.equal(renderCron(makeDesired({ scheduler: 'cron' }), T)[0]!.mode, 0o644);
  });

  it('with scheduler bacula the same lines are present but commented out', () => {
    const out = cronText(makeDesired());
    assert.equal(out.split('\n').filter((l) => /^[0-9*]/.test(l)).length, 0);
    assert.match(out, /^# 0 12 \* \* 6 root \/usr\/bin\/vmbackup backup --schedule weekly/m);
  });

  it('shell-quotes the command and repo path and escapes % for crontab', () => {
    const d = makeDesired({ scheduler: 'cron' });
    d.settings.cron.command = "/opt/it's/vmbackup";
    d.settings.cron.repoPath = '/srv/repo 100%';
    assert.match(cronText(d), /^0 12 \* \* 6 root '\/opt\/it'\\''s\/vmbackup' backup --schedule weekly --repo '\/srv\/repo 100\\%' --state-dir \/var\/lib\/vmbackup$/m);
  });

  it('refuses a cron user or time zone that would break the file', () => {
    const d = makeDesired();
    d.settings.cron.user = 'root; rm';
    assert.throws(() => renderCron(d, T), /cron user/);
    const e = makeDesired();
    e.settings.timeZone = 'UTC\n* * * * * root evil';
    assert.throws(() => renderCron(e, T), /time zone/);
  });
});

describe('golden files', () => {
  const GOLDEN = join(PROJECT_ROOT, 'test', 'golden');
  const cases: { dir: string; d: () => DesiredState }[] = [
    { dir: 'scheduler-bacula', d: () => makeDesired() },
    { dir: 'scheduler-cron', d: () => makeDesired({ scheduler: 'cron' }) },
  ];
  for (const c of cases) {
    for (const f of renderAll(c.d(), T)) {
      it(`${c.dir}/${f.path}`, () => {
        const path = join(GOLDEN, c.dir, f.path);
        if (process.env.UPDATE_GOLDEN === '1') {
          mkdirSync(join(GOLDEN, c.dir), { recursive: true });
          writeFileSync(path, f.content);
          return;
        }
        let want: string;
        try {
          want = readFileSync(path, 'utf8');
        } catch {
          assert.fail(`missing golden file ${path}: run with UPDATE_GOLDEN=1 to create it`);
        }
        assert.equal(f.content, want, `${path} differs: review, then UPDATE_GOLDEN=1 to accept`);
      });
    }
  }
});
