// Filled secrets never leave the process, end to end: the real daemon, a real bacula-dir whose `-t`
// echoes the offending config line, a bare git remote, local Slack and webhook receivers, /readyz.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { stringify } from 'yaml';
import { commitAndPush, makeRepo, type TestRepo } from '../helpers/git-repo.js';
import { daemonState, startDaemon, waitFor, webhook, LOCAL_RECEIVERS, type DaemonProc } from '../helpers/daemon.js';
import { baculaOrSkip, scratchDirector, type Director } from '../helpers/bacula.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/receivers.js';
import { CLI, ROOT } from '../helpers/paths.js';
import { loadPolicyRepo } from '../../src/core/load.js';
import { readPolicyFilesFromDir } from '../../src/adapters/policy-files.js';
import { resolveTemplates } from '../../src/adapters/templates.js';
import { applyDesired } from '../../src/daemon/apply.js';
import { SecretVault } from '../../src/adapters/secrets/vault.js';

describe('secrets never leak (daemon, Bacula mode)', () => {
  let root: string;
  let dir: Director | undefined;
  let repo: TestRepo | undefined;
  let d: DaemonProc | undefined;
  let slack: HttpReceiver | undefined;
  let events: HttpReceiver | undefined;
  let secrets: Record<string, string> = {};
  let stateDir: string;
  /** Distinctive parts of the director password (`pw-<port>-"quoted\`): the value itself in any form. */
  let marker: string;

  const commit = (msg: string, files: Record<string, string | null>): Promise<string> => commitAndPush(repo!, msg, files);

  /** Every text that left the daemon: its output, state.json, the remote's whole history, receivers, /readyz. */
  async function everything(readyz: string, sdir = stateDir): Promise<Record<string, string>> {
    const state = await readdir(sdir).then((ns) => Promise.all(ns.filter((n) => n.endsWith('.json')).map((n) => readFile(join(sdir, n), 'utf8')))).catch(() => []);
    return {
      daemon: d?.logs() ?? '',
      state: state.join('\n'),
      remote: (await execa('git', ['-C', repo!.bare, 'log', '-p', '--all'])).stdout,
      slack: slack!.requests.map((r) => r.body).join('\n'),
      webhook: events!.requests.map((r) => r.body).join('\n'),
      readyz,
    };
  }

  function assertNowhere(texts: Record<string, string>, needles: string[]): void {
    for (const [where, text] of Object.entries(texts)) {
      for (const n of needles) assert.ok(!text.includes(n), `${where} holds the secret (${JSON.stringify(n)}):\n${text.split('\n').filter((l) => l.includes(n)).slice(0, 5).join('\n')}`);
    }
  }

  before(async () => {
    if (!(await import('node:fs')).existsSync('/usr/sbin/bacula-dir')) return;
    root = await mkdtemp(join(tmpdir(), 'vmb-secrets-e2e-'));
    stateDir = join(root, 'state');
    slack = await startHttpReceiver();
    events = await startHttpReceiver();
    dir = await scratchDirector();
    marker = `pw-${dir.port}-`;
    const policy = {
      settings: {
        scheduler: 'bacula',
        time_zone: 'UTC',
        storage_root: join(root, 'storage'),
        bacula: { ...dir.settings, command: join(dir.dir, 'vmbackup'), repo_path: join(stateDir, 'repo') },
        notifications: {
          slack: { failure_webhook: { env: 'SLACK_FAILURE_WEBHOOK' } },
          webhook: { url: { env: 'EVENTS_WEBHOOK' } },
        },
      },
      hypervisors: [],
      vms: [],
    };
    const src = join(root, 'seed');
    await mkdir(src, { recursive: true });
    await writeFile(join(src, 'fleet.yaml'), stringify(policy));
    repo = await makeRepo(src);
    secrets = {
      TEST_BACULA_DIR_PASSWORD: dir.password, BACULA_FD_PASSWORD: 'fd-Secret-4242', BACULA_SD_PASSWORD: 'sd-Secret-4242',
      SLACK_FAILURE_WEBHOOK: slack.url('/services/T0/B0/slackTOKENsecret'), EVENTS_WEBHOOK: events.url('/hook/eventsTOKENsecret'),
      VMBACKUP_STATE_DIR: stateDir,
    };
    // The director already runs the initial revision's config.
    const load = loadPolicyRepo(await readPolicyFilesFromDir(repo.work));
    assert.ok(load.ok, JSON.stringify(load.diagnostics));
    await applyDesired(load.desired, await resolveTemplates(new Map()), { baculaConfigDir: dir.dir, cronFile: join(root, 'unused.cron') }, secrets, new SecretVault());
    await dir.start(join(dir.dir, 'bacula-dir.conf'), { ...LOCAL_RECEIVERS });
  });

  after(async () => {
    await d?.stop().catch(() => undefined);
    await dir?.stop().catch(() => undefined);
    await slack?.close();
    await events?.close();
    await repo?.cleanup();
    if (root) await rm(root, { recursive: true, force: true });
  });

  test('a template override that makes bacula-dir -t fail on a line holding the filled password: refused, alerted, and the password is nowhere', { timeout: 180_000 }, async (t) => {
    if (!baculaOrSkip(t)) return;
    d = await startDaemon(repo!.bare, stateDir, ['--bacula-config-dir', dir!.dir, '--bconsole-config', dir!.bconsoleConf], secrets);
    const logsTail = () => `\n--- daemon log (tail) ---\n${d!.logs().split('\n').slice(-30).join('\n')}`;
    await waitFor('readyz', async () => (await fetch(`${d!.url}/readyz`)).status === 200, 90_000).catch((e: Error) => { throw new Error(e.message + logsTail()); });

    const builtin = await readFile(join(ROOT, 'templates', 'bacula-dir.conf.hbs'), 'utf8');
    // The password where Bacula wants a number: `-t` answers "expected a positive integer number, got: <the password>" and quotes the line.
    const leak = `${builtin}\nClient {\n  Name = "leak-fd"\n  Address = 127.0.0.1\n  Password = "x"\n  FDPort = {{bstr director.password}}\n}\n`;
    const broken = await commit('custom director template', { 'templates/bacula-dir.conf.hbs': leak });
    assert.equal(await webhook(d.url, broken), 202);
    await waitFor('the refused revision recorded', async () => (await daemonState(stateDir)).daemon?.lastAttemptedRevision === broken, 60_000)
      .catch((e: Error) => { throw new Error(e.message + logsTail()); });
    const errors = (await daemonState(stateDir)).daemon!.lastAttemptErrors.join('\n');
    assert.match(errors, /bacula-dir -t rejected the new configuration/);
    assert.match(errors, /\[redacted\]/, 'bacula-dir echoed the line; the password in it was scrubbed');
    await waitFor('the config alert on Slack and the webhook', async () => slack!.requests.length >= 1 && events!.requests.length >= 1, 30_000);
    await waitFor('a status commit after the refusal', async () => (await execa('git', ['-C', repo!.bare, 'log', '-1', '--format=%s', 'main'])).stdout.startsWith('status'), 30_000).catch(() => undefined);
    const readyz = await (await fetch(`${d.url}/readyz`)).text();
    await d.stop();
    const texts = await everything(readyz);
    assert.match(texts.slack ?? '', /not applied/);
    assertNowhere(texts, [marker, dir!.password, 'fd-Secret-4242', 'sd-Secret-4242', 'slackTOKENsecret', 'eventsTOKENsecret']);
  });

  test('a secret value with a control character is refused by its reference name; the value is nowhere', { timeout: 120_000 }, async (t) => {
    if (!baculaOrSkip(t)) return;
    const fd = 'fd-CTRL-4242\n}\nDirector {\n  Name = injected-by-env';
    const fresh = join(root, 'state-once'); // a daemon that has not seen (nor alerted) the head yet
    const once = await execa(process.execPath, [CLI, 'daemon', '--repo', repo!.bare, '--state-dir', fresh, '--once', '--listen', 'off',
      '--bacula-config-dir', dir!.dir, '--bconsole-config', dir!.bconsoleConf, '--cron-file', join(root, 'unused.cron')],
    { reject: false, all: true, env: { ...secrets, ...LOCAL_RECEIVERS, NO_COLOR: '1', BACULA_FD_PASSWORD: fd, VMBACKUP_WEBHOOK_SECRET: 'wh', VMBACKUP_STATE_DIR: fresh } });
    const conf = await readFile(join(dir!.dir, 'bacula-dir.conf'), 'utf8');
    const state = (await daemonState(fresh)).daemon!;
    assert.match(state.lastAttemptErrors.join('\n'), /env BACULA_FD_PASSWORD: the value contains a control character/);
    assert.ok(!conf.includes('injected-by-env') && !conf.includes('fd-CTRL-4242'), 'nothing of it reached the director config');
    const texts = { ...(await everything('', fresh)), once: String(once.all ?? '') };
    assertNowhere(texts, ['fd-CTRL-4242', 'injected-by-env']);
  });
});
