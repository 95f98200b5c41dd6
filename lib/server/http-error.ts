// HTTP errors of `glam serve`: every failure answers with a status and a JSON body
// {"error": {"message", "type", "code"}} (the OpenAI error shape, which the `openai` client parses),
// where `code` is the engine's GlamError code or one of the server's own codes below.
// Subtle: bad input is a 4xx with the code of the layer that found it (schema → RequestInvalid,
// shape/limits → the engine's code); only a bug or a native failure is a 5xx.
import { GlamError, type GlamErrorCode } from '../errors.js';

export type ServerErrorCode =
  | 'RequestInvalid' | 'Unauthorized' | 'NotFound' | 'PayloadTooLarge' | 'UnsupportedMediaType'
  | 'Overloaded' | 'ShuttingDown' | 'GenerationNotServed' | 'EchoNotServed' | 'TrainingDisabled' | 'PathOutsideRoot'
  | 'SavePathConflict' | 'SaveNotWritable' | 'InsufficientStorage';

export class ServerError extends Error {
  constructor(readonly code: ServerErrorCode, readonly status: number, message: string, readonly retryAfterS?: number) {
    super(message);
    this.name = 'ServerError';
  }
}

/** Status of each engine error code seen by a request: shape problems 400, limits of the model 422. */
const GLAM_STATUS: Partial<Record<GlamErrorCode, number>> = {
  EmptyPrompt: 400, EmptyCandidates: 400, EmptyCandidate: 400, BatchInvalid: 400, InvalidArgument: 400, HandleInvalid: 400,
  SequenceTooLong: 422, TokenOutOfRange: 422, BatchTooLarge: 422, UnsupportedArchitecture: 422, NotImplemented: 400, DeviceUnavailable: 503, Disposed: 503,
};

export interface ErrorBody {
  error: { message: string; type: string; code: string };
}

/** Status, body and headers for anything thrown while serving a request. */
export function toHttpError(e: unknown): { status: number; body: ErrorBody; headers: Record<string, string> } {
  if (e instanceof ServerError) {
    const headers: Record<string, string> = e.retryAfterS !== undefined ? { 'retry-after': String(e.retryAfterS) } : {};
    if (e.code === 'Unauthorized') headers['www-authenticate'] = 'Bearer';
    return { status: e.status, body: body(e.code, e.message, e.status), headers };
  }
  if (e instanceof GlamError) {
    const status = GLAM_STATUS[e.code] ?? 500;
    return { status, body: body(e.code, e.message, status), headers: {} };
  }
  const f = e as { statusCode?: number; code?: string; message?: string; validation?: unknown };
  if (f?.validation) return { status: 400, body: body('RequestInvalid', `${f.message}; see the README's serving section for the request shape`, 400), headers: {} };
  if (typeof f?.statusCode === 'number' && f.statusCode >= 400 && f.statusCode < 500) {
    const code = f.statusCode === 413 ? 'PayloadTooLarge' : f.statusCode === 415 ? 'UnsupportedMediaType' : 'RequestInvalid';
    const hint = f.statusCode === 413 ? ' (the server\'s --max-body-bytes); send fewer prompts per request'
      : f.statusCode === 415 ? '; send Content-Type: application/json' : '';
    return { status: f.statusCode, body: body(code, `${f.message ?? 'bad request'}${hint}`, f.statusCode), headers: {} };
  }
  return { status: 500, body: body('Internal', `internal error: ${f?.message ?? String(e)}`, 500), headers: {} };
}

function body(code: string, message: string, status: number): ErrorBody {
  const type = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  return { error: { message, type, code } };
}
