// The process-wide vault: the composition root, the CLI's error output, the logger and the state
// file share it, so a value filled anywhere in the process is scrubbed everywhere.
import { SecretVault } from './vault.js';

export const defaultVault = new SecretVault();
