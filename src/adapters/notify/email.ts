// Sends plain-text e-mail over SMTP with nodemailer, classifying failures for the retry queue:
// connection problems and 4xx SMTP replies are transient, 5xx replies and auth errors are not.
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

  constructor(private readonly cfg: EmailChannel) {}

  private connect(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then((m) => m.default.createTransport({
      host: this.cfg.host,
      port: this.cfg.port,
      secure: this.cfg.port === 465,
      ...(this.cfg.user ? { auth: { user: this.cfg.user, pass: this.cfg.password ?? '' } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    }));
    return this.transport;
  }

  async send(subject: string, text: string): Promise<void> {
    try {
      await (await this.connect()).sendMail({ from: this.cfg.from, to: this.cfg.to, subject, text });
    } catch (e) {
      throw classifySmtpError(e, this.cfg.password ? [this.cfg.password] : []);
    }
  }

  close(): void {
    void this.transport?.then((t) => t.close(), () => undefined);
  }
}
