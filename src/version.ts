// The version printed by --version and recorded in backup manifests.
export const VERSION = '0.1.0';
