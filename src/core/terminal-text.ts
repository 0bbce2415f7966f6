// Text from the repository (names, keys, descriptions, template output) can hold terminal control
// sequences; every text output escapes them so a pull request cannot drive the reader's terminal.

// C0 controls except \t and \n, DEL, and the C1 controls (U+0080..U+009F, e.g. U+009B is a CSI).
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `s` with every control character but \n and \t shown as `\xHH` (ESC → `\x1b`); idempotent. */
export function escapeTerminal(s: string): string {
  return s.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
