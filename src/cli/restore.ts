// `vmbackup verify`, `restore`, `test-restore` and `backups`: reading and using restore points.
import { Option, type Command } from 'commander';
import { engineOptions, type EngineCliOptions } from './engine-options.js';

export function registerRestore(program: Command): void {
  engineOptions(program
    .command('backups <vm>')
    .description('list the restore points of a VM with their verification state'))
    .action(async (vm: string, opts: EngineCliOptions) => (await import('../app/restore-action.js')).listAction(vm, opts));

  engineOptions(program
    .command('verify <vm>')
    .description('re-hash backup files against their manifest and record the result (a mismatch marks the backup bad)')
    .option('--backup <id>', 'one backup (YYYY-MM-DD-HHMMSS)')
    .option('--latest', 'the newest backup (default)')
    .option('--all', 'every backup of the VM'))
    .addHelpText('after', '\nExit status: 0 every checked backup verified, 1 a mismatch, a missing file, or no backup.')
    .action(async (vm: string, opts: EngineCliOptions & { backup?: string; latest?: boolean; all?: boolean }) => (await import('../app/restore-action.js')).verifyAction(vm, opts));

  engineOptions(program
    .command('restore <vm>')
    .description('restore a backup: verify it, copy its disks, rewrite and define the VM')
    .option('--backup <id>', 'the backup to restore (see `vmbackup backups <vm>`)')
    .option('--latest', 'restore the newest verified-good backup (instead of --backup)')
    .option('--disk <target>', 'restore only this disk (vda, vdb …): in place into the shut-off VM (the VM itself, or the one --as names), or as a new disk with --as-disk')
    .option('--as-disk <file>', 'with --disk: write the disk as a new file of this name next to the VM\'s disks and attach it as the next free target')
    .addHelpText('after', '\nOne disk (--disk vdb): in place, the VM must be shut off; its current file is moved aside, put back on any failure and deleted only\nafter the restored one is in place and passes qemu-img check. With --as-disk NAME the disk is added (persistently) as the next free target;\nif libvirt refuses, the file is left unattached and its path printed.')
    .option('--as <name>', 'restore under another name (new UUID and MACs)')
    .option('--host <hypervisor>', 'restore onto another hypervisor (default: the VM\'s own)')
    .option('--start', 'start the VM after defining it')
    .addOption(new Option('--network <mode>', 'keep the NICs, remove them (none), or attach them to the isolated network').choices(['keep', 'none', 'isolated']).default('keep'))
    .option('--force', 'restore over an existing VM of that name (it must be shut off)')
    .option('--keep-host-devices', 'in place only: keep the backup\'s host device, filesystem and host block device passthrough (dropped otherwise)'))
    .addHelpText('after', '\nA deleted VM is restored to its original name, host and identity by `restore <vm> --backup ID`.\nThe definition is built from an allow-list of ordinary devices; each part of the backup\'s XML left out is printed as a warning.\nExit status: 0 restored, 1 failed (an existing VM is left as it was), 75 the target name is busy.')
    .action(async (vm: string, opts: EngineCliOptions & { backup?: string; latest?: boolean; disk?: string; asDisk?: string; as?: string; host?: string; start?: boolean; network: 'keep' | 'none' | 'isolated'; force?: boolean; keepHostDevices?: boolean }) => (opts.disk !== undefined ? (await import('../app/restore-disk-action.js')).restoreDiskAction(vm, { ...opts, disk: opts.disk }) : (await import('../app/restore-action.js')).restoreAction(vm, opts)));

  engineOptions(program
    .command('test-restore <vm>')
    .description('restore a backup under a throwaway name with no network, boot it, record the evidence, and remove it')
    .option('--backup <id>', 'the backup to test (default: the newest not known bad)')
    .option('--host <hypervisor>', 'run the test on another hypervisor')
    .addOption(new Option('--network <mode>', 'no NICs at all, or NICs on the isolated network (default: the policy\'s test_restore.network)').choices(['none', 'isolated']))
    .option('--boot-timeout <seconds>', 'how long to wait for the VM (and its guest agent) to come up'))
    .addHelpText('after', '\nEvidence is written to test-restore.json in the backup\'s directory. The throwaway VM and its disks are always removed.\nExit status: 0 the backup booted, 1 it did not (or could not be restored).')
    .action(async (vm: string, opts: EngineCliOptions & { backup?: string; host?: string; network?: 'none' | 'isolated'; bootTimeout?: string }) => (await import('../app/restore-action.js')).testRestoreAction(vm, opts));
}
