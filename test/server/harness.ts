// Shared harness of the server tests: the built-in model served in-process on a free loopback port,
// and a JSON POST helper that returns status, headers and the parsed body.
import type { Policy } from '../../lib/policy/policy.js';
import { SERVE_DEFAULTS, type ServeOptions } from '../../lib/server/context.js';
import { createServer, type GlamServer } from '../../lib/server/server.js';

export interface Served {
  url: string;
  server: GlamServer;
}

export async function serve(policy: Policy, opts: Partial<ServeOptions> = {}): Promise<Served> {
  const server = createServer(policy, { ...SERVE_DEFAULTS, port: 0, modelName: 'glam-builtin', logLevel: 'silent', ...opts }, false);
  return { url: await server.listen(), server };
}

export interface Answer<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function post<T = any>(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : null };
}

export async function get<T = any>(url: string, headers: Record<string, string> = {}): Promise<Answer<T>> {
  const r = await fetch(url, { headers });
  const text = await r.text();
  let body: unknown = text;
  try { body = JSON.parse(text); } catch { /* /metrics is text */ }
  return { status: r.status, headers: r.headers, body: body as T };
}
