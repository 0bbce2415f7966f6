// The HTTP surface's answers that are not 2xx: a stable machine code in a fastify-style body
// ({statusCode, code, error, message}); the message is fixed text, never an exception's message.
import { STATUS_CODES } from 'node:http';

/** Every code an error body of the daemon's HTTP surface can carry (documented in docs/operations.md). */
export type HttpErrorCode =
  | 'NOT_FOUND' | 'METHOD_NOT_ALLOWED' | 'INTERNAL_ERROR' | 'METRICS_UNAVAILABLE'
  | 'WEBHOOK_NOT_CONFIGURED' | 'WEBHOOK_BAD_SIGNATURE' | 'WEBHOOK_BODY_TOO_LARGE'
  | 'WEBHOOK_BAD_DELIVERY_ID' | 'WEBHOOK_REPLAYED_DELIVERY' | 'WEBHOOK_HANDLER_FAILED';

export interface HttpErrorBody { statusCode: number; code: HttpErrorCode; error: string; message: string }

export function errorBody(statusCode: number, code: HttpErrorCode, message: string): HttpErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message };
}
