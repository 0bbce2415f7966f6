// Benchmark of the ssh path (issue 11: no backup data through the control host): a shut-off VM
// on the lab's namespace hypervisor hv1 with 1 GiB of data, backed up by the real CLI over ssh,
// against `qemu-img convert` + fdatasync of the output run on hv1 over ssh (the floor). For each:
// wall time and the bytes read by the control host's processes (cgroup + /proc/<pid>/io rchar,
// test/helpers/ctl-io.ts). `--before-cli PATH` adds an older build's dist/src/main.js (e.g. a
// worktree of the commit before the change) as a third contender. See bench/README.md.
//
//   node dist/bench/backup-ssh.js [--data-mib N (1024)] [--runs N (3)] [--before-cli PATH] [--json]
//   npm run bench:backup -- --ssh [same options]
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { loadLab } from '../test/lab/lab.js';
import { measureCtlReads, type CtlIo } from '../test/helpers/ctl-io.js';
import { defineScratchVm, faultEnv, hostOf, scratchVmPolicy, sh as shAsync } from '../test/helpers/faults.js';
import { remoteCommand } from '../src/adapters/transport/ssh.js';
import { BenchFailure, dropCaches, log, median, MiB } from './backup-exec.js';

interface Opts { dataMiB: number; runs: number; beforeCli?: string; json: boolean }
interface Sample { name: string; run: number; wallMs: number; ctlReadBytes: number; imageBytes: number }

function parse(argv: string[]): Opts {
  const o: Opts = { dataMiB: 1024, runs: 3, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--data-mib' || a === '--runs') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new BenchFailure(`${a} needs an integer ≥ 1`);
      if (a === '--runs') o.runs = v; else o.dataMiB = v;
    } else if (a === '--before-cli') o.beforeCli = argv[++i];
    else if (a === '--json') o.json = true;
    else if (a !== '--ssh') throw new BenchFailure(`unknown option ${a}`);
  }
  if (o.dataMiB % 16) throw new BenchFailure('--data-mib must be a multiple of 16');
  return o;
}

export async function sshBench(argv: string[]): Promise<void> {
  const o = parse(argv);
  if (process.getuid?.() !== 0) throw new BenchFailure('needs root (the lab, cgroups, drop_caches)');
  const lab = loadLab();
  if (!lab) throw new BenchFailure('no lab is up (run: sudo test/lab/up.sh)');
  const cli = fileURLToPath(new URL('../src/main.js', import.meta.url));
  const hv = hostOf(lab, 'hv1');
  const name = `d11-bench-${process.pid}`;
  const image = join(hv.labImagesDir, `${name}.qcow2`);
  log(`making ${name} on hv1: qcow2 with ${o.dataMiB} MiB of pattern data`);
  const writes = Array.from({ length: o.dataMiB / 16 }, (_, i) => ['-c', `write -P 0x${(0x11 + (i % 200)).toString(16)} ${i * 16}M 16M`]).flat();
  for (const argv of [['qemu-img', 'create', '-q', '-f', 'qcow2', image, `${2 * o.dataMiB}M`], ['qemu-io', '-f', 'qcow2', ...writes, image]]) {
    const r = await shAsync(argv, { timeoutMs: 600_000 });
    if (r.code !== 0) throw new BenchFailure(`${argv.slice(0, 3).join(' ')}: ${r.stderr}`);
  }
  const vm = await defineScratchVm(lab, name, `${hv.imagesDir}/${name}.qcow2`, { host: 'hv1', dir: hv.labImagesDir, start: false });
  const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(name, { hypervisor: 'hv1', allow_offline: true })] });
  const envVars = { ...process.env as Record<string, string>, NO_COLOR: '1' };
  const samples: Sample[] = [];
  const loadBefore = loadavg();
  try {
    const ssh = (argv: readonly string[]): string[] => ['ssh', ...lab.ssh.options, '-p', String(hv.sshPort), '--', `root@${hv.address}`, remoteCommand(argv)];
    const contenders: [string, (run: number) => Promise<{ io: CtlIo; imageBytes: number }>][] = [
      ['qemu-img convert + fdatasync on hv1 (floor)', async (run) => {
        const dst = `${env.remoteStorage}/floor-r${run}.qcow2`;
        const io = await measureCtlReads(ssh(['sh', '-c', 'qemu-img convert -f qcow2 -O qcow2 -m 8 -W -- "$1" "$2" && sync -d -- "$2" && stat -c %s -- "$2"', 'floor', `${hv.imagesDir}/${name}.qcow2`, dst]));
        if (io.code !== 0) throw new BenchFailure(`floor: ${io.stderr}`);
        await rm(join(env.storage, `floor-r${run}.qcow2`), { force: true });
        return { io, imageBytes: Number(io.stdout.trim()) };
      }],
      ...[['vmbackup (hash on hv1)', cli], ...(o.beforeCli ? [['vmbackup before (hash on the control host)', o.beforeCli]] : [])].map(([label, path]) => [label!, async () => {
        const io = await measureCtlReads([process.execPath, path!, 'backup', name, '--json', '--repo', env.repo, '--state-dir', env.stateDir], { env: envVars });
        if (io.code !== 0) throw new BenchFailure(`${label}: exit ${io.code}: ${io.stderr.slice(-2000)}`);
        const r = JSON.parse(io.stdout) as { backupId: string };
        const dir = join(env.storage, 'hv1', name, r.backupId);
        const m = JSON.parse(await readFile(join(dir, 'backup-metadata.json'), 'utf8')) as { files: { target?: string; size_bytes: number }[] };
        await rm(dir, { recursive: true, force: true });
        return { io, imageBytes: m.files.find((f) => f.target === 'vda')!.size_bytes };
      }] as [string, (run: number) => Promise<{ io: CtlIo; imageBytes: number }>]),
    ];
    for (let run = 1; run <= o.runs; run++) {
      const seq = run % 2 ? contenders : [...contenders].reverse();
      for (const [label, go] of seq) {
        dropCaches();
        const { io, imageBytes } = await go(run);
        samples.push({ name: label, run, wallMs: io.ms, ctlReadBytes: io.rcharBytes, imageBytes });
        log(`run ${run}/${o.runs} ${label}: ${(io.ms / 1000).toFixed(2)} s, control host read ${(io.rcharBytes / MiB).toFixed(2)} MiB`);
      }
    }
  } finally {
    await vm.remove();
    await rm(image, { force: true });
    await env.cleanup();
  }
  const names = [...new Set(samples.map((s) => s.name))];
  const floorMs = median(samples.filter((s) => s.name === names[0]).map((s) => s.wallMs));
  const rows = names.map((n) => {
    const ss = samples.filter((s) => s.name === n);
    const wall = median(ss.map((s) => s.wallMs));
    const read = median(ss.map((s) => s.ctlReadBytes));
    const img = median(ss.map((s) => s.imageBytes));
    return { name: n, runs: ss.length, medianS: +(wall / 1000).toFixed(2), vsFloor: +(wall / floorMs).toFixed(2), ctlReadMiB: +(read / MiB).toFixed(2), ctlReadPctOfImage: +(100 * read / img).toFixed(2), imageMiB: +(img / MiB).toFixed(1) };
  });
  const result = { benchmark: 'backup-ssh', node: process.version, cpus: cpus().length, loadavgBefore: loadBefore.map((x) => +x.toFixed(2)), loadavgAfter: loadavg().map((x) => +x.toFixed(2)), options: o, rows, samples };
  if (o.json) { process.stdout.write(JSON.stringify(result, null, 2) + '\n'); return; }
  const p = (s = ''): boolean => process.stdout.write(s + '\n');
  p(`\nvmbackup ssh-path benchmark: ${name} on hv1 (shut off), ${o.dataMiB} MiB of data; median of ${o.runs} run(s); load ${result.loadavgBefore.join(' ')} → ${result.loadavgAfter.join(' ')}\n`);
  p('| contender | median s | ×floor | control host read MiB | % of image | image MiB |');
  p('|:--|--:|--:|--:|--:|--:|');
  for (const r of rows) p(`| ${r.name} | ${r.medianS.toFixed(2)} | ${r.vsFloor.toFixed(2)}x | ${r.ctlReadMiB.toFixed(2)} | ${r.ctlReadPctOfImage.toFixed(2)}% | ${r.imageMiB.toFixed(1)} |`);
}

if (process.argv[1]?.endsWith('backup-ssh.js')) {
  sshBench(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`bench: ${err instanceof BenchFailure ? err.message : (err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  });
}
