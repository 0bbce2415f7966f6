// Every path is data, never an option: each argv builder that carries a path read from libvirt,
// storage or the repository puts it after `--` (or, for the programs that take no `--`, `test`
// and `find`, accepts only absolute paths, which cannot begin with `-`), and refuses relative,
// un-normalised and NUL-carrying paths before any program runs. Fake transport, no lab.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { HostFs } from '../../src/adapters/host-fs.js';
import { QemuImg } from '../../src/adapters/libvirt/qemu-img.js';
import { Virsh } from '../../src/adapters/libvirt/virsh.js';
import type { RunOptions, RunResult, Transport } from '../../src/adapters/transport/transport.js';
import { HostPathError, hostPath, hostPathProblem, plainNameProblem } from '../../src/core/host-path.js';
import { manifestProblems } from '../../src/core/manifest.js';

class Recorder implements Transport {
  readonly kind = 'local' as const;
  readonly host = 'fake';
  calls: string[][] = [];
  async run(argv: readonly string[], _o?: RunOptions): Promise<RunResult> {
    this.calls.push([...argv]);
    const out = argv[0] === 'df' ? 'Filesystem 1-blocks Used Available Capacity Mounted on\n/dev/x 100 10 90 10% /\n'
      : argv[0] === 'qemu-img' && argv[1] === 'info' ? '{"virtual-size": 1, "filename": "x", "format": "qcow2", "actual-size": 1}'
      : argv[0] === 'qemu-img' && argv[1] === 'map' ? '[]'
      : argv[0] === 'qemu-img' && argv[1] === 'measure' ? '{"required": 1}'
      : argv[0] === 'stat' ? '81a4:5\n'
      : argv[0] === 'mktemp' ? '/tmp/vmbackup-define.abc.xml\n' : '';
    return { exitCode: 0, stdout: out, stderr: '', command: argv.join(' '), durationMs: 0 };
  }
  async close(): Promise<void> {}
}

/** Programs that take `--` before operands, and the two that do not. */
const NO_DASHDASH = new Set(['test', 'find']);

// A path a hostile libvirt definition or storage could carry: absolute, with dash-led segments.
const P = '/var/lib/libvirt/images/-delete/-exec.qcow2';
const Q = '/mnt/backup/-rf/-vm-vda.qcow2';

type Builder = [name: string, call: (t: Recorder) => Promise<unknown>, paths: string[]];
const fs = (t: Recorder): HostFs => new HostFs(t);
const qi = (t: Recorder): QemuImg => new QemuImg(t);
const BUILDERS: Builder[] = [
  ['df', (t) => fs(t).df(P), [P]],
  ['exists (test -e)', (t) => fs(t).exists(P), [P]],
  ['chmod', (t) => fs(t).chmod('0640', P), [P]],
  ['rm -f', (t) => fs(t).removeFile(P), [P]],
  ['mkdir -p', (t) => fs(t).mkdirp(P), [P]],
  ['rm -rf', (t) => fs(t).removeTree(P), [P]],
  ['mv', (t) => fs(t).rename(P, Q), [P, Q]],
  ['cp', (t) => fs(t).copyFile(P, Q), [P, Q]],
  ['listFiles (find)', (t) => fs(t).listFiles(P), [P]],
  ['fileType (stat)', (t) => fs(t).fileType(P), [P]],
  ['assertRegularFile (stat)', (t) => fs(t).assertRegularFile(P, 5), [P]],
  ['qemu-img info', (t) => qi(t).info(P, 'qcow2'), [P]],
  ['qemu-img info --backing-chain', (t) => qi(t).info(P, 'qcow2', true), [P]],
  ['qemu-img map', (t) => qi(t).map(P, 'raw'), [P]],
  ['qemu-img measure', (t) => qi(t).measure(P, 'qcow2'), [P]],
  ['qemu-img convert', (t) => qi(t).convert(P, 'qcow2', Q, { compress: true, timeoutMs: 1000 }), [P, Q]],
  ['qemu-img check', (t) => qi(t).check(P, 'qcow2'), [P]],
];

const HOSTILE_RELATIVE = ['-delete', '-delete/x.qcow2', '--help', '-exec/rm', 'images/x.qcow2', '', '/a/../b', '/a/./b', '/a//b', '/a/b/', '/a/b\0c', '../../etc/passwd'];

describe('every path is data, never an option', () => {
  for (const [name, call, paths] of BUILDERS) {
    test(`${name}: paths come after "--" (or are absolute for test/find)`, async () => {
      const t = new Recorder();
      await call(t);
      assert.ok(t.calls.length >= 1, 'a command ran');
      for (const argv of t.calls) {
        const prog = argv[0]!;
        for (const p of paths) {
          const at = argv.indexOf(p);
          if (at < 0) continue;
          if (NO_DASHDASH.has(prog)) assert.ok(p.startsWith('/'), `${prog}: ${p} must be absolute`);
          else {
            const dd = argv.indexOf('--');
            assert.ok(dd >= 0 && dd < at, `${argv.join(' ')}: "--" must come before ${p}`);
          }
        }
        assert.ok(paths.some((p) => argv.includes(p)), `${argv.join(' ')} carries the path`);
      }
    });

    test(`${name}: relative, un-normalised and NUL paths are refused before anything runs`, async () => {
      for (const bad of HOSTILE_RELATIVE) {
        const t = new Recorder();
        await assert.rejects(callWith(name, t, bad), (e: unknown) => e instanceof HostPathError, `${name} with ${JSON.stringify(bad)}`);
        assert.deepEqual(t.calls, [], `${name}: nothing ran for ${JSON.stringify(bad)}`);
      }
    });
  }

  test('virsh: domain, disk, network and file names are always option values (--domain X), never free operands', async () => {
    const t = new Recorder();
    const v = new Virsh(t, 'qemu:///system');
    const N = '-delete';
    await v.domstate(N); await v.dumpxml(N, true); await v.snapshotNames(N); await v.agentPing(N, 1); await v.freezeStatus(N);
    await v.thaw(N); await v.blockcommitActive(N, '-vda', 1); await v.blockjob(N, '-vda'); await v.pivot(N, '-vda'); await v.abortJob(N, '-vda');
    await v.start(N); await v.destroy(N); await v.undefine(N); await v.networkActive(N); await v.define('<domain/>');
    const VALUE_OPTS = new Set(['--domain', '--path', '--network', '--file', '-c', '--timeout', '--name']);
    for (const argv of t.calls.filter((a) => a[0] === 'virsh')) {
      argv.forEach((a, i) => {
        if (a === N || a === '-vda') assert.ok(VALUE_OPTS.has(argv[i - 1]!), `${argv.join(' ')}: ${a} must be the value of an option`);
      });
    }
    const tee = t.calls.find((a) => a[0] === 'tee')!;
    assert.deepEqual(tee.slice(0, 2), ['tee', '--']);
    const rm = t.calls.find((a) => a[0] === 'rm')!;
    assert.equal(rm[rm.length - 2], '--');
  });

  test('hostPath: the rules, one by one', () => {
    for (const ok of ['/', '/a', '/a/b.qcow2', '/a/-b', '/mnt/backup/hv1/vm/2026-01-01-000000/vm-vda.qcow2']) assert.equal(hostPath(ok), ok);
    const why = (p: string): string | undefined => hostPathProblem(p);
    assert.equal(why('-delete'), 'not an absolute path');
    assert.equal(why('a/b'), 'not an absolute path');
    assert.equal(why('/a/../b'), 'has "." or ".." segments');
    assert.equal(why('/a/./b'), 'has "." or ".." segments');
    assert.equal(why('/a//b'), 'not normalised');
    assert.equal(why('/a/'), 'not normalised');
    assert.equal(why('/a\0b'), 'contains a NUL character');
    assert.equal(why(''), 'empty');
  });

  test('manifest paths are plain names inside the backup directory', () => {
    for (const bad of ['../x', 'a/b', '/etc/passwd', '..', '.', '', 'x\0y']) assert.ok(plainNameProblem(bad), JSON.stringify(bad));
    for (const ok of ['vm-vda.qcow2', 'vm.xml', '-vm-vda.qcow2', '..x']) assert.equal(plainNameProblem(ok), undefined, ok);
    const sha = 'a'.repeat(64);
    const good = { files: [{ path: 'vm-vda.qcow2', size_bytes: 3, sha256: sha, target: 'vda' }, { path: 'vm.xml', size_bytes: 1, sha256: sha }] };
    assert.deepEqual(manifestProblems(good), []);
    assert.match(manifestProblems({ files: [{ path: '../../../etc/shadow', size_bytes: 3, sha256: sha, target: 'vda' }] }).join(), /not a plain file name/);
    assert.match(manifestProblems({ files: [{ path: 'vm.xml', size_bytes: 1, sha256: sha }] }).join(), /lists no disk image/);
    assert.match(manifestProblems({ files: [{ path: 'a', size_bytes: -1, sha256: 'x', target: 'vda' }] }).join(), /not a byte count.*sha256 is malformed/);
    assert.match(manifestProblems({ files: 'x' }).join(), /no list of files/);
    assert.match(manifestProblems(null).join(), /not a JSON object/);
  });
});

/** The builder `name` called with `bad` as every path argument. */
function callWith(name: string, t: Recorder, bad: string): Promise<unknown> {
  const good = '/ok/path';
  const map: Record<string, () => Promise<unknown>> = {
    'df': () => fs(t).df(bad),
    'exists (test -e)': () => fs(t).exists(bad),
    'chmod': () => fs(t).chmod('0640', bad),
    'rm -f': () => fs(t).removeFile(bad),
    'mkdir -p': () => fs(t).mkdirp(bad),
    'rm -rf': () => fs(t).removeTree(bad),
    'mv': () => fs(t).rename(good, bad),
    'cp': () => fs(t).copyFile(bad, good),
    'listFiles (find)': () => fs(t).listFiles(bad),
    'fileType (stat)': () => fs(t).fileType(bad),
    'assertRegularFile (stat)': () => fs(t).assertRegularFile(bad),
    'qemu-img info': () => qi(t).info(bad, 'qcow2'),
    'qemu-img info --backing-chain': () => qi(t).info(bad, 'qcow2', true),
    'qemu-img map': () => qi(t).map(bad, 'raw'),
    'qemu-img measure': () => qi(t).measure(bad, 'qcow2'),
    'qemu-img convert': () => qi(t).convert(good, 'qcow2', bad, { compress: false, timeoutMs: 1000 }),
    'qemu-img check': () => qi(t).check(bad, 'qcow2'),
  };
  return (async () => map[name]!())();
}
