// test-restore's boot evidence, the pure part: what `test_restore.probe` may say, which probe a VM
// gets when it says nothing, and the bounds on a console pattern (a repo input run on guest output).

/** agent: guest-ping and guest-info answer; console: the pattern appears on the serial console; tcp: the port accepts. */
export type ProbeSpec = { kind: 'agent' } | { kind: 'console'; pattern: string } | { kind: 'tcp'; port: number };

/** A login prompt, or a root shell prompt at the end of a line. */
export const DEFAULT_CONSOLE_PATTERN = 'login:|# $';
export const MAX_CONSOLE_PATTERN = 200;
/** Only the newest console output this many bytes long is searched (a prompt is printed last). */
export const CONSOLE_WINDOW_BYTES = 65_536;
/** A single match may take this long; past it the probe fails (a backtracking bomb, not a boot). */
export const CONSOLE_MATCH_TIMEOUT_MS = 1_000;
export const CONSOLE_FLAGS = 'm';

/** Why a console pattern is refused, or undefined when it may be used. */
export function checkConsolePattern(p: string): string | undefined {
  if (p.length === 0) return 'the console pattern is empty';
  if (p.length > MAX_CONSOLE_PATTERN) return `the console pattern is ${p.length} characters long (at most ${MAX_CONSOLE_PATTERN})`;
  let re: RegExp;
  try { re = new RegExp(p, CONSOLE_FLAGS); } catch (e) { return `the console pattern is not a valid regular expression: ${(e as Error).message}`; }
  if (re.test('')) return 'the console pattern matches empty console output, so a VM that printed nothing would pass';
  return backtrackingRisk(p);
}

/**
 * A conservative check against catastrophic backtracking: no backreferences, and no group that is
 * repeated without bound while it holds a quantifier or an alternation (`(a+)+`, `(a|ab)*`).
 * The matcher's time limit is the backstop for what this misses.
 */
export function backtrackingRisk(p: string): string | undefined {
  // For each open group: does it contain a quantifier / an alternation?
  const stack: { quant: boolean; alt: boolean }[] = [];
  let last: { quant: boolean; alt: boolean } | undefined; // the group that just closed
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!;
    if (c === '\\') {
      const n = p[i + 1] ?? '';
      if (/[1-9]/.test(n) || (n === 'k' && p[i + 2] === '<')) return 'the console pattern uses a backreference (not allowed: it can take exponential time)';
      i++; last = undefined; continue;
    }
    if (c === '[') {
      // Skip the class: a ']' right after '[' or '[^' is literal; escapes are skipped.
      let j = i + 1;
      if (p[j] === '^') j++;
      if (p[j] === ']') j++;
      while (j < p.length && p[j] !== ']') j += p[j] === '\\' ? 2 : 1;
      i = j; last = undefined; continue;
    }
    if (c === '(') {
      stack.push({ quant: false, alt: false }); last = undefined;
      // (?:…), (?=…), (?!…), (?<=…), (?<!…), (?<name>…): the '?' is not a quantifier.
      const m = /^\?(?::|=|!|<=|<!|<[A-Za-z_$][\w$]*>)/.exec(p.slice(i + 1));
      if (m) i += m[0].length;
      continue;
    }
    if (c === ')') {
      last = stack.pop();
      if (last && stack.length) { stack[stack.length - 1]!.quant ||= last.quant; stack[stack.length - 1]!.alt ||= last.alt; }
      continue;
    }
    if (c === '|') { if (stack.length) stack[stack.length - 1]!.alt = true; last = undefined; continue; }
    const unbounded = c === '*' || c === '+' || (c === '{' && /^\{\d*,\d*\}/.test(p.slice(i)) && (/^\{\d*,\}/.test(p.slice(i)) || Number(/^\{\d*,(\d+)\}/.exec(p.slice(i))![1]) > 10));
    const quantifier = unbounded || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(p.slice(i)));
    if (quantifier) {
      if (unbounded && last && (last.quant || last.alt)) return 'the console pattern repeats a group that itself repeats or alternates (like (a+)+ or (a|ab)*): it can take exponential time';
      if (stack.length) stack[stack.length - 1]!.quant = true;
      if (c === '{') i = p.indexOf('}', i);
      last = undefined;
      continue;
    }
    last = undefined;
  }
  return undefined;
}

/** The `probe:` value of a policy or VM (already schema-checked), or why it cannot be used. */
export function parseProbe(v: unknown): { probe: ProbeSpec } | { error: string } | undefined {
  if (v === undefined || v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.agent === true) return { probe: { kind: 'agent' } };
  if (typeof o.console === 'string') {
    const why = checkConsolePattern(o.console);
    return why ? { error: why } : { probe: { kind: 'console', pattern: o.console } };
  }
  if (typeof o.tcp === 'number' && Number.isInteger(o.tcp) && o.tcp >= 1 && o.tcp <= 65535) return { probe: { kind: 'tcp', port: o.tcp } };
  return { error: 'probe must be one of {agent: true}, {console: <regex>}, {tcp: <port>}' };
}

export interface ProbeChoice { probe: ProbeSpec; source: 'policy' | 'default'; why: string }

/**
 * The probe for one throwaway copy: the policy's, or the default — the guest agent when the VM has
 * an agent channel, else a login or shell prompt on the serial console.
 */
export function chooseProbe(spec: ProbeSpec | undefined, vm: { hasAgentChannel: boolean }): ProbeChoice {
  if (spec) return { probe: spec, source: 'policy', why: `test_restore.probe: ${describeProbe(spec)}` };
  return vm.hasAgentChannel
    ? { probe: { kind: 'agent' }, source: 'default', why: 'default: the VM has a guest agent channel' }
    : { probe: { kind: 'console', pattern: DEFAULT_CONSOLE_PATTERN }, source: 'default', why: 'default: the VM has no guest agent channel, so a prompt on the serial console' };
}

/** Why this probe cannot run on this copy at all (checked before anything is restored). */
export function probeRefusal(p: ProbeSpec, copy: { hasAgentChannel: boolean; network: string; nics: number }): string | undefined {
  if (p.kind === 'agent' && !copy.hasAgentChannel) return 'test_restore.probe is agent, but the VM has no guest agent channel (org.qemu.guest_agent.0)';
  if (p.kind === 'tcp' && copy.network !== 'isolated') return `test_restore.probe is tcp ${p.port}, which needs the copy on the isolated network (network: isolated / --network isolated), not "${copy.network}"`;
  if (p.kind === 'tcp' && copy.nics === 0) return `test_restore.probe is tcp ${p.port}, but the VM has no network interface`;
  return undefined;
}

export function describeProbe(p: ProbeSpec): string {
  return p.kind === 'agent' ? 'agent' : p.kind === 'console' ? `console /${p.pattern}/` : `tcp ${p.port}`;
}

/**
 * Console bytes as text a pattern can be run on: the newest CONSOLE_WINDOW_BYTES, CRLF as LF,
 * terminal escape sequences and other control characters removed (tabs and newlines kept).
 */
export function cleanConsole(raw: string): string {
  const tail = raw.length > CONSOLE_WINDOW_BYTES ? raw.slice(-CONSOLE_WINDOW_BYTES) : raw;
  return tail
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[@-_]/g, '')
    .replace(/\r\n?/g, '\n')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** The line of console text around a match, for the evidence (bounded). */
export function matchExcerpt(text: string, index: number): string {
  const start = text.lastIndexOf('\n', index - 1) + 1;
  const end = text.indexOf('\n', index);
  const line = text.slice(start, end === -1 ? undefined : end).trim();
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}
