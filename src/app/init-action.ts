// `vmbackup init [DIR]`: a new policy repository that validates, with editor schema support that
// works outside a vmbackup checkout (the schema is copied in) and the PR workflow in place.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface InitOpts { ci: 'github' | 'gitlab' | 'none' }

const PKG = new URL('../../../', import.meta.url);
const SCHEMA_PATH = '.vmbackup/policy-file.schema.json';
const MODELINE = `# yaml-language-server: $schema=./${SCHEMA_PATH}\n`;

const FILES: Record<string, string> = {
  'hypervisors.yaml': `${MODELINE}# Where VMs run; reached over ssh (or \`transport: local\`).
hypervisors:
  - name: hypervisor-01
    address: hv01.example.internal
    ssh: { user: vmbackup, port: 22, identity: /etc/vmbackup/ssh/id_ed25519 }
`,
  'policies.yaml': `${MODELINE}# Named defaults: a VM gets one by \`policy: NAME\` or by its labels matching a selector.
policies:
  - name: standard
    selector: { match_labels: { tier: standard } }
    schedule: weekly
    method: snapshot
    retention: { keep_last: 2, keep_weekly: 4 }
`,
  'vms.yaml': `${MODELINE}vms:
  - name: example-vm
    hypervisor: hypervisor-01
    labels: { tier: standard }
`,
  'settings.yaml': `${MODELINE}settings:
  storage_root: /mnt/backup
`,
  '.vscode/settings.json': JSON.stringify({ 'yaml.schemas': { [`./${SCHEMA_PATH}`]: ['*.yaml', '*.yml', 'vms/**/*.yaml'] } }, null, 2) + '\n',
};

const CI_FILES: Record<InitOpts['ci'], [string, string] | undefined> = {
  github: ['examples/ci/vmbackup-plan.yaml', '.github/workflows/vmbackup-plan.yaml'],
  gitlab: ['examples/ci/gitlab-ci.yml', '.gitlab-ci.yml'],
  none: undefined,
};

/** Writes the scaffold; refuses (writing nothing) if any of its files already exists. */
export async function initAction(dir: string, opts: InitOpts): Promise<void> {
  const files: Record<string, string> = { ...FILES };
  files[SCHEMA_PATH] = await readFile(new URL('schemas/policy-file.schema.json', PKG), 'utf8');
  const ci = CI_FILES[opts.ci];
  if (ci) files[ci[1]] = await readFile(new URL(ci[0], PKG), 'utf8');
  const existing = Object.keys(files).filter((p) => existsSync(join(dir, p)));
  if (existing.length > 0) throw new Error(`init: ${dir} already has ${existing.join(', ')}; nothing written`);
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text, { flag: 'wx' });
  }
  process.stdout.write(`initialized a policy repository in ${dir}: ${Object.keys(files).sort().join(', ')}\n`);
  if (ci) process.stdout.write(`next: set VMBACKUP_TARBALL and VMBACKUP_SHA256 in ${ci[1]} (see README "Pull-request CI")\n`);
}
