// A disk path read from libvirt is data, never an option: cleanup used to run
// `find <dirname(source)> -maxdepth 1 -name …` for every disk, so a source `-delete/x.qcow2`
// (libvirt accepts relative paths) became `find -delete …` and deleted the files in vmbackup's
// working directory. Now a source that is not absolute and normalised is reported and never
// handed to a program, and a directory whose name begins with `-` is searched safely (absolute,
// listed without find options). Local transport only: the before-fix behaviour deletes files in
// the process's working directory, which must be a scratch directory.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { labOrSkip } from '../helpers/lab.js';
import { CLI } from '../helpers/paths.js';
import { faultEnv, scratchDir, scratchVmPolicy, virsh } from '../helpers/faults.js';
import type { Lab } from '../lab/lab.js';

function xml(name: string, source: string): string {
  return `<domain type='qemu'><name>${name}</name><memory unit='KiB'>32768</memory>
<os><type arch='x86_64' machine='pc'>hvm</type></os>
<devices><disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='${source}'/><target dev='vda' bus='virtio'/></disk></devices></domain>\n`;
}

/** Defines (never starts) a domain whose vda source is `source`, exactly as given. */
async function defineWithSource(lab: Lab, dir: string, name: string, source: string): Promise<() => Promise<void>> {
  const f = join(dir, `${name}.xml`);
  await writeFile(f, xml(name, source));
  await virsh(lab, 'local', ['undefine', '--domain', name]);
  const d = await virsh(lab, 'local', ['define', '--file', f]);
  assert.equal(d.code, 0, d.stderr);
  const dump = await virsh(lab, 'local', ['dumpxml', '--domain', name]);
  assert.ok(dump.stdout.includes(`<source file='${source}'/>`), `libvirt keeps the source as given: ${dump.stdout}`);
  return async () => { await virsh(lab, 'local', ['undefine', '--domain', name]); };
}

describe('paths from libvirt are data: a leading-dash disk source reaching cleanup', () => {
  test('relative source "-delete/…": cleanup reports it and runs nothing with it; the working directory is untouched', { timeout: 60_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await scratchDir('st-dash-rel');
    const name = `st-dash-rel-${process.pid}`;
    const cwd = join(dir, 'cwd');
    await mkdir(join(cwd, '-delete'), { recursive: true });
    await writeFile(join(cwd, 'sentinel'), 'must survive\n');
    await writeFile(join(cwd, '-delete', `${name}-vda.vmbackup-2020-01-01-000000.overlay.qcow2`), 'x');
    const undefine = await defineWithSource(lab, dir, name, `-delete/${name}-vda.qcow2`);
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(name)] });
    t.after(async () => { await undefine(); await env.cleanup(); await rm(dir, { recursive: true, force: true }); });

    const r = await execa(process.execPath, [CLI, 'cleanup', name, '--repo', env.repo, '--state-dir', env.stateDir], { cwd, reject: false, env: { NO_COLOR: '1' }, timeout: 60_000 });
    const out = `${String(r.stdout)}\n${String(r.stderr).slice(-2000)}`;
    t.diagnostic(out.trim());
    assert.deepEqual((await readdir(cwd)).sort(), ['-delete', 'sentinel'], `cleanup deleted files in its working directory:\n${out}`);
    assert.deepEqual(await readdir(join(cwd, '-delete')), [`${name}-vda.vmbackup-2020-01-01-000000.overlay.qcow2`], 'nothing under a relative path is touched');
    assert.equal(r.exitCode, 1, out);
    assert.match(String(r.stdout), new RegExp(`problem: vda: disk source "-delete/${name}-vda\\.qcow2" is not an absolute path; its directory was not searched`));
  });

  test('absolute directory named "-delete": exactly the stale overlay of this disk is removed, decoys and symlinks stay', { timeout: 60_000 }, async (t) => {
    const lab = labOrSkip(t);
    if (!lab) return;
    const dir = await scratchDir('st-dash-abs');
    const name = `st-dash-abs-${process.pid}`;
    const disks = join(dir, '-delete');
    await mkdir(disks, { recursive: true });
    await writeFile(join(dir, 'victim'), 'not ours\n');
    const stale = `${name}-vda.vmbackup-2020-01-01-000000.overlay.qcow2`;
    const decoys = ['-exec', '-delete', `${stale}.keep`, `other-vda.vmbackup-2020-01-01-000000.overlay.qcow2`, `${name}-vdb.vmbackup-2020-01-01-000000.overlay.qcow2`, `${name}-vda.vmbackup-20200101.overlay.qcow2`];
    for (const f of [stale, ...decoys]) await writeFile(join(disks, f), 'x');
    await symlink(join(dir, 'victim'), join(disks, `${name}-vda.vmbackup-2020-01-02-000000.overlay.qcow2`));
    const undefine = await defineWithSource(lab, dir, name, `${disks}/${name}-vda.qcow2`);
    const env = await faultEnv(lab, { extraVms: [scratchVmPolicy(name)] });
    t.after(async () => { await undefine(); await env.cleanup(); await rm(dir, { recursive: true, force: true }); });

    const r = await env.cli(['cleanup', name]);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr.slice(-2000)}`);
    assert.match(r.stdout, new RegExp(`done: removed stale overlay file ${disks.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/${stale.replace(/\./g, '\\.')}`));
    assert.deepEqual((await readdir(disks)).sort(), [...decoys, `${name}-vda.vmbackup-2020-01-02-000000.overlay.qcow2`].sort());
    assert.deepEqual((await readdir(dir)).filter((f) => f === 'victim'), ['victim']);
  });
});
