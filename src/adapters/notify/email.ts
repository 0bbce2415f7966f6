// Sends plain-text e-mail over SMTP with nodemailer, classifying failures for the retry queue:
// connection problems and 4xx SMTP replies are transient, 5xx replies and auth errors are not.
// Credentials travel only inside TLS (implicit on 465, else STARTTLS required) unless the daemon's
// own configuration allows plain text; the repository that names the server cannot.
import type { Transporter } from 'nodemailer';
import { DeliveryError } from './http.js';
import { scrubSecrets } from './secrets.js';

export interface EmailChannel {
  host: string;
  port: number;
  from: string;
  to: string[];
  user?: string;
  /** Already resolved from its SecretRef. */
  password?: string;
  /** Set only from the daemon's environment (VMBACKUP_ALLOW_PLAINTEXT_SMTP=1), never from the repo. */
  allowPlaintext?: boolean;
}

/** Extra trust for the server's certificate (a private CA); verification itself is never turned off. */
export interface MailerTls { ca?: string | Buffer }

/** nodemailer transport options: TLS is required whenever credentials are sent, unless allowed otherwise. */
export function smtpTransportOptions(cfg: EmailChannel, tls: MailerTls = {}): Record<string, unknown> {
  const secure = cfg.port === 465;
  const auth = cfg.user !== undefined;
  return {
    host: cfg.host,
    port: cfg.port,
    secure,
    ...(auth && !secure && !cfg.allowPlaintext ? { requireTLS: true } : {}),
    ...(auth ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
    tls: { rejectUnauthorized: true, ...(tls.ca ? { ca: tls.ca } : {}) },
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  };
}

const TRANSIENT_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET', 'EPROTOCOL']);

/** Maps a nodemailer error to a DeliveryError whose message carries no credentials. */
export function classifySmtpError(e: unknown, secrets: readonly string[]): DeliveryError {
  const err = e as Error & { code?: string; responseCode?: number };
  const msg = scrubSecrets(`SMTP ${err.code ?? 'error'}${err.responseCode ? ` ${err.responseCode}` : ''}: ${err.message}`, secrets);
  if (err.responseCode !== undefined) return new DeliveryError(msg, err.responseCode >= 400 && err.responseCode < 500, undefined, err.responseCode);
  return new DeliveryError(msg, err.code !== undefined && TRANSIENT_CODES.has(err.code));
}

export class Mailer {
  // nodemailer is loaded on the first mail: most `vmbackup backup` runs send none, and start-up counts.
  private transport: Promise<Transporter> | undefined;

  constructor(private readonly cfg: EmailChannel, private readonly tls: MailerTls = {}, private readonly scrub: (s: string) => string = (s) => s) {}

  private connect(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then((m) => m.default.createTransport(smtpTransportOptions(this.cfg, this.tls)));
    return this.transport;
  }

  async send(subject: string, text: string): Promise<void> {
    try {
      await (await this.connect()).sendMail({ from: this.cfg.from, to: this.cfg.to, subject: this.scrub(subject), text: this.scrub(text) });
    } catch (e) {
      const d = classifySmtpError(e, this.cfg.password ? [this.cfg.password] : []);
      throw new DeliveryError(this.scrub(d.message), d.retryable, d.retryAfterMs, d.status);
    }
  }

  close(): void {
    void this.transport?.then((t) => t.close(), () => undefined);
  }
}
