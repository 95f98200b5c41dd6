// Typed, coded errors: every failure that reaches a user of glam is a GlamError with a stable `code`.
// Subtle: native code throws C++ exceptions whose message starts with "CODE: "; lib/native/addon.ts
// maps them back to GlamError so that JS callers can switch on `err.code` whichever layer failed.

export type GlamErrorCode =
  | 'ConfigMissing'
  | 'ConfigInvalid'
  | 'UnsupportedArchitecture'
  | 'SafetensorsMissing'
  | 'SafetensorsInvalid'
  | 'TensorMissing'
  | 'TensorShapeMismatch'
  | 'TensorDtypeUnsupported'
  | 'TokenizerMissing'
  | 'TokenizerInvalid'
  | 'EmptyPrompt'
  | 'EmptyCandidates'
  | 'EmptyCandidate'
  | 'SequenceTooLong'
  | 'TokenOutOfRange'
  | 'BatchInvalid'
  | 'Disposed'
  | 'InvalidArgument'
  | 'NativeAddonMissing'
  | 'DeviceUnavailable'
  | 'CudaError'
  | 'BatchTooLarge'
  | 'NotImplemented'
  | 'HandleInvalid'
  | 'IoError'
  | 'MpiUnavailable'
  | 'LearnerLost'
  | 'Internal';

export class GlamError extends Error {
  readonly code: GlamErrorCode;
  constructor(code: GlamErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GlamError';
    this.code = code;
  }
}

const CODES = new Set<string>([
  'ConfigMissing', 'ConfigInvalid', 'UnsupportedArchitecture', 'SafetensorsMissing', 'SafetensorsInvalid',
  'TensorMissing', 'TensorShapeMismatch', 'TensorDtypeUnsupported', 'TokenizerMissing', 'TokenizerInvalid',
  'EmptyPrompt', 'EmptyCandidates', 'EmptyCandidate', 'SequenceTooLong', 'TokenOutOfRange', 'BatchInvalid',
  'Disposed', 'InvalidArgument', 'NativeAddonMissing', 'DeviceUnavailable', 'CudaError', 'BatchTooLarge', 'NotImplemented',
  'HandleInvalid', 'IoError', 'MpiUnavailable', 'LearnerLost', 'Internal',
]);

/** Turns an error thrown by the addon ("Code: message") into a GlamError; other errors pass through as Internal. */
export function fromNative(err: unknown): GlamError {
  if (err instanceof GlamError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  const m = /^([A-Za-z]+): ([\s\S]*)$/.exec(msg);
  if (m && CODES.has(m[1]!)) return new GlamError(m[1] as GlamErrorCode, m[2]!, { cause: err });
  return new GlamError('Internal', `native engine failed: ${msg}`, { cause: err });
}
