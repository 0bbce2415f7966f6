// The console API's answers that are not 2xx: `{error: {code, message}}` with a stable code
// (documented in docs/api.md and docs/errors.md); the message is fixed or scrubbed text.
export type ApiErrorCode =
  | 'API_UNAUTHORIZED' | 'API_FORBIDDEN' | 'API_NOT_FOUND' | 'API_BAD_REQUEST' | 'API_BODY_TOO_LARGE'
  | 'API_UNSUPPORTED_MEDIA_TYPE' | 'API_TOO_MANY_STREAMS' | 'API_INTERNAL_ERROR'
  | 'VM_NOT_FOUND' | 'SCREENSHOT_NOT_FOUND' | 'RUN_NOT_FOUND' | 'ACTION_NOT_FOUND' | 'ACTION_NOT_QUEUED' | 'BACKUP_NOT_FOUND'
  | 'NO_APPLIED_REVISION' | 'QUEUE_STOPPING' | 'QUEUE_FULL' | 'BAD_UNTIL' | 'BAD_REASON' | 'RESTORE_REFUSED' | 'PRUNE_REFUSED';

export interface ApiErrorBody { error: { code: string; message: string } }

export const apiError = (code: ApiErrorCode | string, message: string): ApiErrorBody => ({ error: { code, message } });

/** The JSON schema of an error body (every route's 4xx/5xx response). */
export const ERROR_SCHEMA = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
  required: ['error'],
} as const;
