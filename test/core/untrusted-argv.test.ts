// pre_backup_commands strings are split exactly as sh would, or refused: never a truncated command.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { splitCommand } from '../../src/core/argv.js';
import { formatDiagnostic, loadPolicyRepo } from '../../src/core/load.js';

const OK: [string, string[]][] = [
  ['ssh admin@192.168.1.1 "write memory"', ['ssh', 'admin@192.168.1.1', 'write memory']],
  ["  a   'b c'  ", ['a', 'b c']],
  ["echo ''", ['echo', '']],
  ['echo "a\\"b" c\\ d', ['echo', 'a"b', 'c d']],
  ['echo "a\\nb"', ['echo', 'a\\nb']],
  ["echo 'it''s'", ['echo', 'its']],
  ['echo a#b', ['echo', 'a#b']],
  ['echo "#" \'#\' \\#', ['echo', '#', '#', '#']],
  ['echo x$ "$"', ['echo', 'x$', '$']],
  ['echo "*" \'?\' \\*', ['echo', '*', '?', '*']],
  ['[ -f /etc/hosts ]', ['[', '-f', '/etc/hosts', ']']],
  ['a\\\nb', ['ab']],
  ['cmd --opt=value\n', ['cmd', '--opt=value']],
  ['/usr/bin/env a~b "~"', ['/usr/bin/env', 'a~b', '~']],
];

const REFUSED: [string, RegExp][] = [
  ["echo 'unterminated", /unterminated single quote/],
  ['echo "unterminated', /unterminated double quote/],
  ['echo "a\\"', /unterminated double quote/],
  ['echo a\\', /trailing backslash/],
  ['echo a\0b', /NUL/],
  ['backup-db # --all-databases', /"#" starts a shell comment that would silently drop "# --all-databases"/],
  ['#echo hi', /shell comment/],
  ['echo hi; rm -rf /', /shell operator ";"/],
  ['a | b', /shell operator "\|"/],
  ['a > /tmp/x', /shell operator ">"/],
  ['a && b', /shell operator "&"/],
  ['echo $HOME', /variables/],
  ['echo "${X}"', /variables/],
  ['echo $(id)', /variables/],
  ['echo `id`', /variables/],
  ['echo "`id`"', /variables/],
  ['echo $1', /variables/],
  ['rm /tmp/*', /glob pattern "\/tmp\/\*"/],
  ['ls file?', /glob pattern/],
  ['ls [ab]c', /glob pattern "\[ab\]c"/],
  ['ls ~/x', /"~" would be expanded/],
  ['FOO=bar cmd', /sets a shell variable/],
  ['a\nb', /newline separates shell commands/],
  ['', /empty command/],
  ['   ', /empty command/],
];

describe('splitCommand: exact or refused', () => {
  for (const [input, argv] of OK) {
    test(`splits ${JSON.stringify(input)}`, () => {
      assert.deepEqual(splitCommand(input), { argv });
    });
  }
  for (const [input, why] of REFUSED) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      const r = splitCommand(input);
      assert.ok('error' in r, `expected an error, got ${JSON.stringify(r)}`);
      assert.match(r.error, why);
    });
  }

  test('every accepted string splits the way sh itself splits it', () => {
    for (const [input, argv] of OK) {
      const script = `set -f; set -- ${input.trimEnd()}\nfor a in "$@"; do printf '%s\\0' "$a"; done`;
      const out = execFileSync('sh', ['-c', script], { encoding: 'utf8' });
      assert.deepEqual(out.split('\0').slice(0, -1), argv, input);
    }
  });

  test('argv lists: NUL refused, otherwise kept as given', () => {
    assert.deepEqual(splitCommand(['ssh', 'h', 'write memory']), { argv: ['ssh', 'h', 'write memory'] });
    assert.match((splitCommand(['a', 'b\0c']) as { error: string }).error, /NUL/);
  });

  test('validate reports it at the string (VMB_BAD_COMMAND), not a truncated command', () => {
    const files = [
      { path: 'h.yaml', text: 'hypervisors:\n  - name: hv1\n    host: hv1.example\npolicies:\n  - name: std\n    schedule: daily\n    retention: { keep_daily: 7 }\n' },
      { path: 'v.yaml', text: 'vms:\n  - name: x\n    hypervisor: hv1\n    policy: std\n    pre_backup_commands:\n      - "backup-db # --all-databases"\n      - "echo \'oops"\n' },
    ];
    const lines = loadPolicyRepo(files).diagnostics.map(formatDiagnostic);
    assert.ok(lines.some((l) => /^v\.yaml:6:9: error: pre_backup_commands\[0\]: "#" starts a shell comment.*\[VMB_BAD_COMMAND\]$/.test(l)), lines.join('\n'));
    assert.ok(lines.some((l) => /^v\.yaml:7:9: error: pre_backup_commands\[1\]: unterminated single quote.*\[VMB_BAD_COMMAND\]$/.test(l)), lines.join('\n'));
  });
});
