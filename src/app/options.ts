// The options each command's action receives, as commander parses them (src/cli/ declares the flags).
export interface EngineCliOptions { repo?: string; stateDir?: string; json?: boolean; logLevel?: string; onHypervisor?: string }

export interface DaemonCliOptions {
  repo: string; stateDir: string; branch: string; poll: string; listen?: string; bacula: boolean;
  baculaConfigDir: string; bconsoleConfig: string; cronFile?: string; allowedSigners?: string; gpgKeyring?: string; acceptRewrittenHistory?: boolean; requireSignedHistory?: boolean;
  push: boolean; once?: boolean; stopTimeout: string; logLevel: string;
  maxConnections: string; headerTimeout: string; requestTimeout: string; webhookMaxBody: string;
}
