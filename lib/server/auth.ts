// Bearer-token check of `glam serve`: the key is compared in constant time (SHA-256 digests of both
// sides, so lengths never leak either), else 401 with WWW-Authenticate: Bearer.
import { createHash, timingSafeEqual } from 'node:crypto';

import { ServerError } from './http-error.js';

export function bearerCheck(apiKey: string): (authorization: string | undefined) => void {
  const want = createHash('sha256').update(apiKey).digest();
  return (authorization) => {
    const m = /^Bearer +(.+)$/i.exec(authorization ?? '');
    const got = createHash('sha256').update(m ? m[1]!.trim() : '').digest();
    if (!m || !timingSafeEqual(want, got)) {
      throw new ServerError('Unauthorized', 401, 'missing or wrong API key: send the header "Authorization: Bearer <key>" with the key the server was started with (--api-key or $GLAM_API_KEY)');
    }
  };
}
