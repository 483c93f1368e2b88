/**
 * Test support: an HTTP proxy on 127.0.0.1 in front of a real registry, which records every
 * request and can inject faults (a drop mid-blob, a flipped byte, 429s, endless 503s, redirects
 * to another origin, stalls) or add latency. Faults are functions of the request: return a
 * response to answer with, or call `forward()` for the registry's own answer (and change it).
 */

/** One request the proxy saw. */
export interface SeenRequest {
  method: string;
  /** Path and query. */
  path: string;
  authorization: string | null;
  range: string | null;
  acceptEncoding: string | null;
}

/** A fault: answers a request itself, or alters the registry's answer. */
export type Fault = (
  request: Request,
  forward: () => Promise<Response>,
  seen: SeenRequest,
) => Promise<Response | undefined> | Response | undefined;

/** Options of {@linkcode FaultProxy.start}. */
export interface ProxyOptions {
  /** Milliseconds added before every answer (latency). */
  delay?: number;
}

/** A recording, fault-injecting proxy. */
export class FaultProxy {
  /** `127.0.0.1:PORT`. */
  readonly host: string;
  readonly requests: SeenRequest[] = [];
  /** The fault in force; `undefined` forwards everything. */
  fault?: Fault;
  readonly #server: Deno.HttpServer;
  readonly #stopping = new AbortController();

  private constructor(upstream: string, options: ProxyOptions) {
    this.#server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      async (request) => {
        const url = new URL(request.url);
        const seen: SeenRequest = {
          method: request.method,
          path: url.pathname + url.search,
          authorization: request.headers.get("authorization"),
          range: request.headers.get("range"),
          acceptEncoding: request.headers.get("accept-encoding"),
        };
        this.requests.push(seen);
        if (options.delay) await new Promise((r) => setTimeout(r, options.delay));
        const forward = async () => {
          const headers = new Headers(request.headers);
          headers.delete("host");
          return await fetch(upstream + seen.path, {
            method: request.method,
            headers,
            body: request.body,
            redirect: "manual",
          });
        };
        const answer = await this.fault?.(request, forward, seen);
        return answer ?? await forward();
      },
    );
    this.host = `127.0.0.1:${(this.#server.addr as Deno.NetAddr).port}`;
  }

  /** Starts a proxy forwarding to `upstream` (`http://127.0.0.1:PORT`). */
  static start(upstream: string, options: ProxyOptions = {}): FaultProxy {
    return new FaultProxy(upstream, options);
  }

  /** A signal that aborts when the proxy stops, for faults that wait forever. */
  get stopping(): AbortSignal {
    return this.#stopping.signal;
  }

  /** Requests for blobs (`/blobs/sha256:...`), by method. */
  blobRequests(method = "GET"): SeenRequest[] {
    return this.requests.filter((r) => r.method === method && r.path.includes("/blobs/"));
  }

  /** The digests of the manifests and blobs requested (GET). */
  fetchedDigests(): string[] {
    const digests: string[] = [];
    for (const r of this.requests) {
      const match = /\/(?:blobs|manifests)\/(sha256:[0-9a-f]{64})/.exec(r.path);
      if (r.method === "GET" && match !== null) digests.push(match[1]);
    }
    return digests;
  }

  async stop(): Promise<void> {
    this.#stopping.abort();
    await this.#server.shutdown();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Whether a request is a blob GET. */
export function isBlobGet(request: Request): boolean {
  return request.method === "GET" && new URL(request.url).pathname.includes("/blobs/");
}

/** The registry's answer with its body cut after `keep` bytes: the connection drops. */
export async function truncated(response: Response, keep: number): Promise<Response> {
  const body = new Uint8Array(await response.arrayBuffer());
  const headers = new Headers(response.headers);
  let sent = false;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(body.slice(0, keep));
      } else {
        controller.error(new Error("connection dropped by the test proxy"));
      }
    },
  });
  return new Response(stream, { status: response.status, headers });
}

/** The registry's answer with one byte of its body changed. */
export async function flipped(response: Response, at: number): Promise<Response> {
  const body = new Uint8Array(await response.arrayBuffer());
  body[Math.min(at, body.length - 1)] ^= 0xff;
  return new Response(body, { status: response.status, headers: response.headers });
}

/** An answer whose headers come, then nothing, until the client gives up or the proxy stops. */
export function stalled(signal: AbortSignal): Response {
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const end = () => {
        try {
          controller.error(new Error("test proxy stopped"));
        } catch {
          // already cancelled by the client
        }
      };
      if (signal.aborted) end();
      else signal.addEventListener("abort", end, { once: true });
    },
  });
  return new Response(stream, {
    status: 200,
    headers: { "Content-Type": "application/octet-stream" },
  });
}
