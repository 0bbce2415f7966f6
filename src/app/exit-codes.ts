// Exit codes are part of the interface (documented in README "Exit codes"); scripts depend on them.
export const EXIT = {
  OK: 0,
  /** An error: invalid policy repo, failed backup, unreachable host, bad arguments. */
  ERROR: 1,
  /** `plan` only: the change has effects (Terraform's -detailed-exitcode). */
  CHANGES: 2,
  /** Another run holds the VM's lock (EX_TEMPFAIL): try again later. */
  BUSY: 75,
} as const;
