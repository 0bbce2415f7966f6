// Terminal styling that respects NO_COLOR (https://no-color.org) and plain pipes.
import { styleText } from 'node:util';

type Fmt = Parameters<typeof styleText>[0];

export function colorEnabled(stream: NodeJS.WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return Boolean(stream.isTTY);
}

/** A styler bound once per command so the check is not repeated per line. */
export function styler(stream: NodeJS.WriteStream = process.stdout): (fmt: Fmt, text: string) => string {
  const on = colorEnabled(stream);
  return (fmt, text) => (on ? styleText(fmt, text) : text);
}
