// `glam serve`'s HTTP server: fastify (JSON-schema validation without type coercion, pino logs,
// bodyLimit → 413), the Bearer check, error mapping (http-error.ts), metrics, and the routes.
// Auth: with a key, every route but GET /health and GET /metrics needs it (as vLLM guards /v1 only,
// but the tokenizer routes are guarded too). Shutdown (close()): stop accepting, answer requests
// still arriving on open connections with 503, let in-flight requests finish within the deadline, then
// wait for the engine to go idle.
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';

import type { Policy } from '../policy/policy.js';
import { bearerCheck } from './auth.js';
import { Batcher } from './batcher.js';
import { registerCompletionsRoute } from './completions-route.js';
import type { ServeOptions, ServerContext } from './context.js';
import { ServerError, toHttpError } from './http-error.js';
import { ServerMetrics } from './metrics.js';
import { registerScoreRoute } from './score-route.js';
import { registerTokenizerRoutes } from './tokenizer-routes.js';
import { registerTrainingRoutes } from './training-routes.js';
import { GlamError } from '../errors.js';

const OPEN = new Set(['/health', '/metrics']);

export interface GlamServer {
  app: FastifyInstance;
  ctx: ServerContext;
  /** Listens; resolves with the URL. */
  listen(): Promise<string>;
  /** Drains (see the header) within the deadline; resolves true when everything finished in time. */
  close(deadlineS?: number): Promise<boolean>;
}

export function createServer(policy: Policy, opts: ServeOptions, logger: FastifyServerOptions['logger'] = { level: opts.logLevel }): GlamServer {
  if (opts.allowTraining && !opts.apiKey) {
    throw new GlamError('InvalidArgument', 'training over HTTP changes the model: --allow-training needs an API key (--api-key or $GLAM_API_KEY)');
  }
  if (opts.allowTraining && !opts.trainRoot) throw new GlamError('InvalidArgument', '--allow-training needs --train-root DIR: checkpoints are saved only under it');
  let closing = false;
  const batcher = new Batcher(policy, opts, (s) => metrics.pass(s));
  const metrics = new ServerMetrics(() => batcher.waiting);
  const ctx: ServerContext = { policy, batcher, metrics, opts };
  const app = Fastify({
    logger, bodyLimit: opts.maxBodyBytes, return503OnClosing: true, forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, allErrors: false, removeAdditional: false } },
  });
  app.removeContentTypeParser('text/plain'); // JSON only: anything else is 415
  const check = opts.apiKey ? bearerCheck(opts.apiKey) : null;

  app.addHook('onRequest', async (req) => {
    (req as { t0?: number }).t0 = performance.now();
    if (closing && req.url !== '/health') throw new ServerError('ShuttingDown', 503, 'the server is shutting down; retry against another instance');
    if (check && !OPEN.has(req.url.split('?')[0]!)) check(req.headers.authorization);
  });
  app.addHook('onSend', async (_req, reply, payload) => {
    if (closing) reply.header('connection', 'close'); // a kept-alive socket would hold close() open after its last answer
    return payload;
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unknown';
    metrics.responses.inc({ route, status: String(reply.statusCode) });
    const t0 = (req as { t0?: number }).t0;
    if (t0 !== undefined) metrics.latency.observe({ route }, (performance.now() - t0) / 1000);
  });
  app.setErrorHandler(async (err, req, reply) => {
    const { status, body, headers } = toHttpError(err);
    metrics.rejections.inc({ reason: body.error.code });
    if (status >= 500) req.log.error({ err }, 'request failed');
    else req.log.info({ code: body.error.code, status }, body.error.message);
    return reply.code(status).headers(headers).send(body);
  });
  app.setNotFoundHandler(async (req, reply) => {
    metrics.rejections.inc({ reason: 'NotFound' });
    return reply.code(404).send({ error: { message: `no route ${req.method} ${req.url.slice(0, 200)}; see GET /v1/models and the README's serving section`, type: 'invalid_request_error', code: 'NotFound' } });
  });

  app.get('/health', async (_req, reply) => (closing ? reply.code(503).send({ status: 'closing' }) : { status: 'ok', model: opts.modelName, device: policy.device }));
  app.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
  registerScoreRoute(app, ctx);
  registerCompletionsRoute(app, ctx);
  registerTokenizerRoutes(app, ctx);
  if (opts.allowTraining) {
    if (!policy.trainingInfo().enabled) policy.enableTraining({ mode: 'full' });
    registerTrainingRoutes(app, ctx);
  } else {
    app.post('/v1/train/*', async () => {
      throw new ServerError('TrainingDisabled', 403, 'training is off on this server: start it with --allow-training --api-key KEY --train-root DIR');
    });
  }

  return {
    app, ctx,
    async listen() {
      await app.listen({ host: opts.host, port: opts.port });
      const a = app.server.address();
      const port = typeof a === 'object' && a ? a.port : opts.port;
      const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
      return `http://${host}:${port}`;
    },
    async close(deadlineS = opts.shutdownTimeoutS) {
      closing = true;
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), deadlineS * 1000)));
      const drained = (async () => {
        await app.close();
        await batcher.idle();
        return true;
      })();
      const ok = await Promise.race([drained, deadline]);
      clearTimeout(timer);
      if (!ok) app.server.closeAllConnections();
      return ok;
    },
  };
}
