// Fault injection the execa way: a directory with a `virsh` wrapper put first on PATH. It fails
// the chosen subcommand (the first word after virsh's global options) the first `times` times it
// is called, and runs the real virsh for everything else, so the rest of libvirt stays real.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

export interface FakeVirsh {
  dir: string;
  /** Environment for a child process (the vmbackup CLI) that should see the fake first on PATH. */
  env: Record<string, string>;
  /** How many times the injected failure fired. */
  fired(): Promise<number>;
  cleanup(): Promise<void>;
}

/** `virsh <subcommand>` fails (exit 1, a libvirt-like message) the first `times` calls. */
export async function fakeVirsh(subcommand: string, times = 1): Promise<FakeVirsh> {
  if (!/^[a-z-]+$/.test(subcommand)) throw new Error(`bad subcommand ${subcommand}`);
  const real = execFileSync('sh', ['-c', 'command -v virsh'], { encoding: 'utf8' }).trim();
  const dir = await mkdtemp(join(tmpdir(), 'nv-fake-virsh-'));
  const script = `#!/bin/bash
# vmbackup test fault: fail 'virsh ${subcommand}' ${times} time(s), run ${real} for everything else.
args=("$@"); i=0
while [ $i -lt \${#args[@]} ]; do
  case \${args[$i]} in
    -c|--connect|-d|--debug|-l|--log|-k|--keepalive-interval|-K|--keepalive-count|-e|--escape) i=$((i + 2)) ;;
    -*) i=$((i + 1)) ;;
    *) break ;;
  esac
done
if [ "\${args[$i]:-}" = '${subcommand}' ]; then
  n=$(cat '${dir}/fired' 2>/dev/null || echo 0)
  if [ "$n" -lt ${times} ]; then
    echo $((n + 1)) > '${dir}/fired'
    echo "error: Failed to ${subcommand} domain (injected by the test's fake virsh)" >&2
    exit 1
  fi
fi
exec '${real}' "$@"
`;
  await writeFile(join(dir, 'virsh'), script);
  await chmod(join(dir, 'virsh'), 0o755);
  return {
    dir,
    env: { PATH: `${dir}:${process.env['PATH'] ?? '/usr/bin:/bin'}` },
    fired: async () => Number(execFileSync('sh', ['-c', `cat '${dir}/fired' 2>/dev/null || echo 0`], { encoding: 'utf8' }).trim()),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
