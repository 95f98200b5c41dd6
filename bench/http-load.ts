// A light closed-loop HTTP/1.1 load generator for bench/serve: C keep-alive connections, each sending
// one prebuilt POST and reading its answer before the next, over plain sockets. Why not fetch: on the
// bench machine Node's fetch (undici) cost the client 0.88 ms of CPU per request, a quarter of the
// engine's time for a GLAM request, taken from the same cores as the server; http.request cost 0.23
// ms; this 0.05-0.2 ms (bench/serve prints the generator's own CPU in every run), so the server /
// in-process ratio measures the server, not the load generator. wrk-style: the generator
// parses only the status line and Content-Length (the server under test always sends it).
// Subtle: a connection the server closes (its shutdown, a 413) is reopened; an answer without
// Content-Length (chunked) is an error, since glam serve never sends one for these routes.
import { connect, type Socket } from 'node:net';

export interface Answer {
  status: number;
  ms: number;
}

/** One keep-alive connection that sends requests one at a time. */
export class Connection {
  readonly #host: string;
  readonly #port: number;
  #socket: Socket | null = null;
  #buf: Buffer = Buffer.alloc(0);
  #waiting: { resolve: (a: Answer) => void; reject: (e: Error) => void; t0: number } | null = null;

  constructor(url: string) {
    const u = new URL(url);
    this.#host = u.hostname;
    this.#port = Number(u.port);
  }

  /** Sends a prebuilt request (see request()) and resolves with the status when the whole body is in. */
  send(req: Buffer): Promise<Answer> {
    const s = this.#open();
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject, t0: performance.now() };
      s.write(req);
    });
  }

  close(): void {
    this.#socket?.destroy();
    this.#socket = null;
  }

  #open(): Socket {
    if (this.#socket && !this.#socket.destroyed) return this.#socket;
    const s = connect({ host: this.#host, port: this.#port, noDelay: true });
    s.on('data', (d: Buffer) => {
      this.#buf = this.#buf.length ? Buffer.concat([this.#buf, d]) : d;
      this.#parse();
    });
    const fail = (e: Error) => {
      this.#socket = null;
      this.#buf = Buffer.alloc(0);
      const w = this.#waiting;
      this.#waiting = null;
      w?.reject(e);
    };
    s.on('error', fail);
    s.on('close', () => fail(new Error('connection closed')));
    this.#socket = s;
    return s;
  }

  #parse(): void {
    const end = this.#buf.indexOf('\r\n\r\n');
    if (end < 0 || !this.#waiting) return;
    const head = this.#buf.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!m) {
      this.#waiting.reject(new Error(`answer without Content-Length: ${head.split('\r\n')[0]}`));
      this.#waiting = null;
      this.close();
      return;
    }
    const total = end + 4 + Number(m[1]);
    if (this.#buf.length < total) return;
    this.#buf = this.#buf.subarray(total);
    const w = this.#waiting;
    this.#waiting = null;
    w.resolve({ status, ms: performance.now() - w.t0 });
  }
}

/** A POST of a JSON body as bytes, ready to send on a keep-alive connection. */
export function request(url: string, path: string, body: string, headers: Record<string, string> = {}): Buffer {
  const u = new URL(url);
  const b = Buffer.from(body, 'utf8');
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${b.length}\r\n${extra}\r\n`, 'latin1'), b]);
}
