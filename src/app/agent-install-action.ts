// `vmbackup agent install`: installs or upgrades vmbackup and its bacula-fd configuration on a
// runs_on: hypervisor host, idempotently; a deployed file that differs is shown (password
// redacted) and replaced only with --yes; --check only reports. The policy is the one in force.
import { desiredItems, renderFdConfig, manifestText, type DesiredItem } from '../core/agent/desired.js';
import { decide, stepFor, type Step } from '../core/agent/plan.js';
import { fillSecrets } from '../core/secrets-fill.js';
import { packageTree, packTree, PACKAGE_ROOT } from '../adapters/agent/package-tree.js';
import { ensureDir, installTree, observe, writeFileAtomic } from '../adapters/agent/remote-files.js';
import { defaultVault } from '../adapters/secrets/default-vault.js';
import type { Transport } from '../adapters/transport/transport.js';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { VERSION } from '../version.js';
import { withEngine } from './with-engine.js';
import type { EngineCliOptions } from './options.js';

export interface AgentInstallOpts extends EngineCliOptions { host: string; check?: boolean; yes?: boolean; root: string; systemctl: string }

export class AgentError extends Error {
  constructor(readonly code: 'VMB_AGENT_HOST' | 'VMB_AGENT_NODE', message: string) { super(`${code}: ${message}`); }
}

const MIN_NODE = 20;

async function checkNode(t: Transport): Promise<string> {
  const out = (await t.run(['node', '--version'], { timeoutMs: 30_000, allowFailure: true })).stdout.trim();
  const m = /^v(\d+)\.\d+\.\d+$/.exec(out);
  if (!m) throw new AgentError('VMB_AGENT_NODE', `${t.host}: Node.js is not installed (no \`node\` on PATH); install Node.js ${MIN_NODE} or later there first (e.g. \`dnf module install nodejs:${MIN_NODE}\`)`);
  if (Number(m[1]) < MIN_NODE) throw new AgentError('VMB_AGENT_NODE', `${t.host}: Node.js ${out} is too old; vmbackup needs ${MIN_NODE} or later`);
  return out;
}

async function apply(t: Transport, steps: readonly Step[], tarGz: () => Promise<Uint8Array>, systemctl: string): Promise<string[][]> {
  const ran: string[][] = [];
  let restart = false;
  for (const { item } of steps) {
    if (item.kind === 'tree') await installTree(t, item.path, await tarGz(), item.manifest, 'root:root');
    else if (item.kind === 'dir') await ensureDir(t, item.path, item.mode, item.owner);
    else { await writeFileAtomic(t, item.path, item.content, item.mode, item.owner); restart ||= item.restart === true; }
  }
  if (restart) {
    const argv = [systemctl, 'restart', 'bacula-fd'];
    await t.run(argv, { timeoutMs: 120_000 });
    ran.push(argv.slice(1));
  }
  return ran;
}

const line = (s: Step): string => `  ${s.action.padEnd(10)} ${s.item.path}  (${s.item.label}${s.item.kind === 'tree' ? `, ${s.item.files} files` : ''})${s.detail ? `: ${s.detail}` : ''}\n`;

const summary: Record<string, string> = {
  'no-changes': 'no changes: everything is deployed as this release would deploy it',
  installed: 'installed',
  updated: 'updated (--yes)',
  drift: 'drift: the hypervisor differs from what this release deploys (nothing changed; exit 1)',
  'needs-yes': 'nothing changed: a deployed file differs (diff above); review it and rerun with --yes to replace it (exit 2)',
  refused: 'VMB_AGENT_REFUSED: nothing changed: a destination is a symbolic link or not the expected kind of file',
};

export async function agentInstallAction(o: AgentInstallOpts): Promise<void> {
  const scrub = defaultVault.scrub;
  await withEngine({ ...o, json: o.json ?? false }, async (ctx) => {
    const hv = ctx.desired.hypervisors.find((h) => h.name === o.host);
    if (!hv) throw new AgentError('VMB_AGENT_HOST', `hypervisor ${o.host} is not in the policy`);
    if (hv.runsOn !== 'hypervisor') throw new AgentError('VMB_AGENT_HOST', `hypervisor ${o.host} is runs_on: control; set runs_on: hypervisor (README "Hypervisor mode") before installing vmbackup on it`);
    const t = ctx.hosts.get(hv.name).transport;
    const node = await checkNode(t);
    const template = await readFile(join(PACKAGE_ROOT, 'templates', 'bacula-fd.conf.hbs'), 'utf8');
    // The password is filled in at the last moment, through the vault (so scrub() knows it).
    const filled = fillSecrets(renderFdConfig(template, hv, ctx.desired.settings.bacula.directorName), defaultVault.lookup());
    if (filled.missing.length) throw new Error(`hypervisors[${hv.name}].fd_password: ${filled.missing.join(', ')} is not set; nothing done`);
    const tree = await packageTree();
    const items: DesiredItem[] = desiredItems({ hv, version: VERSION, fdConfig: filled.text, manifest: manifestText(tree.files), files: tree.files.length, root: resolve(o.root) });
    const steps: Step[] = [];
    for (const item of items) steps.push(stepFor(item, await observe(t, item)));
    const d = decide(steps, { ...(o.check ? { check: true } : {}), ...(o.yes ? { yes: true } : {}) });
    const ran = d.apply.length ? await apply(t, d.apply, () => packTree(tree), o.systemctl) : [];
    if (o.json) {
      process.stdout.write(scrub(JSON.stringify({
        host: hv.name, version: VERSION, node, root: resolve(o.root), outcome: d.outcome, changed: d.apply.length > 0,
        steps: steps.map((s) => ({ path: s.item.path, what: s.item.label, action: s.action, applied: d.apply.includes(s), ...(s.detail ? { detail: s.detail } : {}), ...(s.diff ? { diff: s.diff } : {}) })),
        ran: ran.map((a) => ['systemctl', ...a]),
      }, null, 2)) + '\n');
    } else {
      let out = `${hv.name}: vmbackup ${VERSION} (node ${node} there)${resolve(o.root) !== '/' ? `, under --root ${resolve(o.root)}` : ''}\n`;
      for (const s of steps) out += line(s);
      for (const s of steps) if (s.diff && s.action === 'update') out += s.diff;
      for (const a of ran) out += `ran        systemctl ${a.join(' ')}\n`;
      out += `${summary[d.outcome]}\n`;
      process.stdout.write(scrub(out));
    }
    return d.exitCode;
  });
}
