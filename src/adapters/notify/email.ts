// Sends plain-text e-mail over SMTP with nodemailer, classifying failures for the retry queue:
// connection problems and 4xx SMTP replies are transient, 5xx replies and auth errors are not.
import nodemailer from 'nodemailer';
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
  private readonly transport: Transporter;

  constructor(private readonly cfg: EmailChannel) {
    this.transport = nodemailer.createTransport({
      host: cfg.host,
      port: cfg.port,
      secure: cfg.port === 465,
      ...(cfg.user ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(subject: string, text: string): Promise<void> {
    try {
      await this.transport.sendMail({ from: this.cfg.from, to: this.cfg.to, subject, text });
    } catch (e) {
      throw classifySmtpError(e, this.cfg.password ? [this.cfg.password] : []);
    }
  }

  close(): void {
    this.transport.close();
  }
}
