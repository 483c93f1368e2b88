/**
 * The HTTP layer of the registry client: one exchange follows redirects by hand (at most 10, a
 * relative `Location` resolved, `Authorization` dropped once scheme, host or port change, https
 * to http refused), requests are retried with backoff and jitter on network errors, 408, 429 and
 * 5xx (honouring `Retry-After`, bounded in attempts and time, never on other 4xx), and a
 * connection that sends nothing for the stall timeout is aborted, before or after its headers.
 *
 * @module
 */
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { RegistryError } from "./errors.ts";

/**
 * How requests are retried: on network errors, stalls, 408, 429 and 5xx, with exponential
 * backoff and jitter, honouring `Retry-After`; never on other 4xx.
 *
 * @example Fail fast in a CI job
 * ```ts
 * import { openRegistry, type RetryPolicy } from "@ocipack/ocipack";
 *
 * const retry: Partial<RetryPolicy> = { attempts: 2, maxRetryAfter: 5_000 };
 * await using registry = openRegistry({ retry, stallTimeout: 10_000 });
 * ```
 */
export interface RetryPolicy {
  /** Attempts in all, the first included (default 5). */
  attempts: number;
  /** The first backoff delay in milliseconds, doubled on each retry (default 250). */
  baseDelay: number;
  /** The longest backoff delay in milliseconds (default 8000). */
  maxDelay: number;
  /** The longest `Retry-After` honoured, in milliseconds; longer ones are capped (default 60000). */
  maxRetryAfter: number;
  /** No retry starts once this many milliseconds have passed since the first attempt (default 180000). */
  maxElapsed: number;
}

/** The default retry policy. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({
  attempts: 5,
  baseDelay: 250,
  maxDelay: 8_000,
  maxRetryAfter: 60_000,
  maxElapsed: 180_000,
});

/** The default stall timeout: how long a connection may send nothing, in milliseconds. */
export const DEFAULT_STALL_TIMEOUT = 30_000;

/** The most redirects one request follows. */
export const MAX_REDIRECTS = 10;

/** Options of an {@linkcode HttpClient}. */
export interface HttpClientOptions {
  /** Deno's HTTP client, for extra CA certificates. */
  client?: Deno.HttpClient;
  /** Aborts every request. */
  signal?: AbortSignal;
  /** How requests are retried. */
  retry?: Partial<RetryPolicy>;
  /** How long a connection may send nothing, in milliseconds. */
  stallTimeout?: number;
  /** Whether TLS certificates of a URL's host go unverified (`--skip-verify`). */
  skipVerify?: (url: URL) => boolean;
}

/** One request. */
export interface HttpRequest {
  /** `GET` unless given. */
  method?: "GET" | "HEAD" | "POST";
  url: URL;
  headers?: Record<string, string>;
  body?: string;
  /**
   * The `Authorization` header, sent to the request's own origin only: a redirect that changes
   * scheme, host or port drops it for good.
   */
  authorization?: string;
  /** What errors are about (`127.0.0.1:5000/app:1`); the URL's host when not given. */
  label?: string;
}

/** An answer: status and headers, with a body read under the stall timeout. */
export interface Reply {
  status: number;
  statusText: string;
  headers: Headers;
  /** The URL that answered, after redirects. */
  url: URL;
  /** The body; reads fail with a retryable {@linkcode TransportError} on a stall or a drop. */
  body: ReadableStream<Uint8Array>;
  /** How many attempts it took. */
  attempts: number;
  /**
   * Reads the body's next bytes into `target` (a BYOB read into a buffer of the reply's own,
   * copied out: no allocation per chunk), or null at the end. Use it or `body`, not both.
   */
  readInto(target: Uint8Array): Promise<number | null>;
  /** Drops the body and closes the connection. */
  cancel(): Promise<void>;
}

/** The largest BYOB read into a reply's own buffer. */
const SCRATCH_SIZE = 1024 * 1024;

/** A network failure or stall: the request may be retried. */
export class TransportError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "TransportError";
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Whether a status is worth retrying: 408, 429 and 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * `Retry-After` in milliseconds: delay-seconds or an HTTP date; `undefined` when absent or
 * unreadable.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The registry client's HTTP: redirects by hand, retries, stall timeouts. */
export class HttpClient {
  readonly #client?: Deno.HttpClient;
  readonly #signal?: AbortSignal;
  readonly #retry: RetryPolicy;
  readonly #stallTimeout: number;
  readonly #skipVerify?: (url: URL) => boolean;

  constructor(options: HttpClientOptions = {}) {
    this.#client = options.client;
    this.#signal = options.signal;
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#stallTimeout = options.stallTimeout ?? DEFAULT_STALL_TIMEOUT;
    this.#skipVerify = options.skipVerify;
  }

  /** The retry policy in force. */
  get retry(): Readonly<RetryPolicy> {
    return this.#retry;
  }

  /** The signal every request is aborted by, if any. */
  get signal(): AbortSignal | undefined {
    return this.#signal;
  }

  /**
   * Sends a request, retrying on network errors, stalls, 408, 429 and 5xx. Resolves with the
   * last answer whatever its status (one that is still retryable means the retries ran out).
   *
   * @throws {RegistryError} when the network fails on every attempt, or a redirect is refused.
   */
  async send(request: HttpRequest): Promise<Reply> {
    const started = Date.now();
    for (let attempt = 1;; attempt++) {
      let reply: Reply | undefined;
      let failure: TransportError | undefined;
      try {
        reply = await this.exchange(request);
      } catch (error) {
        if (!(error instanceof TransportError)) throw error;
        failure = error;
      }
      if (reply !== undefined && !isRetryableStatus(reply.status)) {
        reply.attempts = attempt;
        return reply;
      }
      const hinted = reply && parseRetryAfter(reply.headers.get("retry-after"));
      const delay = hinted === undefined
        ? this.backoff(attempt)
        : Math.min(hinted, this.#retry.maxRetryAfter);
      const outOfTime = Date.now() - started + delay > this.#retry.maxElapsed;
      if (attempt >= this.#retry.attempts || outOfTime) {
        if (reply !== undefined) {
          reply.attempts = attempt;
          return reply;
        }
        throw new RegistryError(
          `${labelOf(request)}: ${failure!.message} (gave up after ${attempt} attempt${
            attempt === 1 ? "" : "s"
          })`,
          { cause: failure },
        );
      }
      await reply?.cancel();
      await this.sleep(delay);
    }
  }

  /** The backoff before retry `attempt` (1-based): exponential, capped, with full jitter above half. */
  backoff(attempt: number): number {
    const ceiling = Math.min(this.#retry.maxDelay, this.#retry.baseDelay * 2 ** (attempt - 1));
    return ceiling / 2 + Math.random() * ceiling / 2;
  }

  /** Waits, or rejects with the signal's reason when it aborts. */
  sleep(ms: number): Promise<void> {
    const signal = this.#signal;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * One exchange: the request and its redirects, no retries.
   *
   * @throws {TransportError} on a network failure or stall before the headers.
   * @throws {RegistryError} on a refused or endless redirect.
   */
  async exchange(request: HttpRequest): Promise<Reply> {
    let url = request.url;
    let authorization = request.authorization;
    let method = request.method ?? "GET";
    let body = request.body;
    for (let hop = 0;; hop++) {
      const headers = new Headers(request.headers);
      if (authorization !== undefined) headers.set("Authorization", authorization);
      const reply = await this.#fetch(url, { method, headers, body });
      const location = reply.headers.get("location");
      if (!REDIRECTS.has(reply.status) || location === null) return reply;
      await reply.cancel();
      if (hop === MAX_REDIRECTS) {
        throw new RegistryError(`${labelOf(request)}: more than ${MAX_REDIRECTS} redirects`);
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new RegistryError(
          `${labelOf(request)}: invalid redirect location ${JSON.stringify(location)}`,
        );
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new RegistryError(`${labelOf(request)}: refused a redirect to ${next.protocol} URL`);
      }
      if (url.protocol === "https:" && next.protocol === "http:") {
        throw new RegistryError(
          `${labelOf(request)}: refused a redirect from https to plain http (${next.origin})`,
        );
      }
      if (next.origin !== url.origin) authorization = undefined;
      if (reply.status === 303 && method !== "HEAD") {
        method = "GET";
        body = undefined;
      }
      url = next;
    }
  }

  async #fetch(
    url: URL,
    init: { method: string; headers: Headers; body?: string },
  ): Promise<Reply> {
    const local = new AbortController();
    const signal = this.#signal ? AbortSignal.any([this.#signal, local.signal]) : local.signal;
    let stalled = false;
    const timeout = this.#stallTimeout;
    /**
     * A promise that rejects when nothing came for the stall timeout, aborting the request. It is
     * raced with each wait, since an abort does not always end a body read already pending.
     */
    const stallTimer = () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const expired = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          stalled = true;
          const error = new TransportError(`${url.host} sent nothing for ${timeout / 1000} s`);
          reject(error);
          local.abort(error);
        }, timeout);
      });
      expired.catch(() => {});
      return { expired, clear: () => clearTimeout(timer) };
    };
    let response: Response;
    const headerTimer = stallTimer();
    try {
      const fetching = url.protocol === "https:" && this.#skipVerify?.(url)
        ? unverifiedFetch(url, { ...init, signal })
        : fetch(url, {
          ...init,
          redirect: "manual",
          signal,
          ...(this.#client ? { client: this.#client } : {}),
        });
      fetching.then((r) => {
        if (stalled) r.body?.cancel().catch(() => {});
      }, () => {});
      response = await Promise.race([fetching, headerTimer.expired]);
    } catch (error) {
      throw this.#failure(error, url, stalled, timeout);
    } finally {
      headerTimer.clear();
    }
    const source = response.body;
    // One watchdog per body rather than a timer per chunk: it fires only while a read has been
    // waiting for the whole stall timeout (a body nobody reads is not stalled).
    let readingSince = 0;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    let stallBody: (error: TransportError) => void = () => {};
    const bodyExpired = new Promise<never>((_, reject) => stallBody = reject);
    bodyExpired.catch(() => {});
    const check = () => {
      watchdog = undefined;
      if (readingSince === 0) return;
      const waited = performance.now() - readingSince;
      if (waited < timeout) {
        watchdog = setTimeout(check, timeout - waited);
        return;
      }
      stalled = true;
      const error = new TransportError(`${url.host} sent nothing for ${timeout / 1000} s`);
      stallBody(error);
      local.abort(error);
    };
    let reader: ReadableStreamDefaultReader<Uint8Array> | ReadableStreamBYOBReader | undefined;
    /** One read, under the watchdog; errors classified. */
    const guarded = async <T>(read: Promise<T>): Promise<T> => {
      readingSince = performance.now();
      watchdog ??= setTimeout(check, timeout);
      try {
        return await Promise.race([read, bodyExpired]);
      } catch (error) {
        if (stalled) reader?.cancel().catch(() => {});
        clearTimeout(watchdog);
        throw this.#failure(error, url, stalled, timeout);
      } finally {
        readingSince = 0;
      }
    };
    const close = (reason?: unknown) => {
      clearTimeout(watchdog);
      // Not awaited: a read left pending by a stall may keep a cancel waiting.
      if (reader !== undefined) reader.cancel(reason).catch(() => {});
      else source?.cancel(reason).catch(() => {});
    };
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (source === null) return controller.close();
        reader ??= source.getReader();
        const result = await guarded((reader as ReadableStreamDefaultReader<Uint8Array>).read());
        if (result.done) {
          clearTimeout(watchdog);
          controller.close();
        } else {
          controller.enqueue(result.value);
        }
      },
      cancel: (reason) => close(reason),
    }, { highWaterMark: 0 });
    let scratch = new ArrayBuffer(0);
    /** Bytes of a chunk from a body that has no BYOB reads, not yet handed out. */
    let leftover: Uint8Array | undefined;
    const readInto = async (target: Uint8Array): Promise<number | null> => {
      if (source === null) return null;
      if (target.length === 0) return 0;
      if (reader === undefined) {
        try {
          reader = source.getReader({ mode: "byob" });
        } catch {
          reader = source.getReader(); // not a byte stream (node:https): copy its chunks
        }
      }
      if (!(reader instanceof ReadableStreamBYOBReader)) {
        if (leftover === undefined || leftover.length === 0) {
          const result = await guarded((reader as ReadableStreamDefaultReader<Uint8Array>).read());
          if (result.done) {
            clearTimeout(watchdog);
            return null;
          }
          leftover = result.value;
        }
        const n = Math.min(target.length, leftover.length);
        target.set(leftover.subarray(0, n));
        leftover = leftover.subarray(n);
        return n;
      }
      const want = Math.min(target.length, SCRATCH_SIZE);
      if (scratch.byteLength < want) scratch = new ArrayBuffer(SCRATCH_SIZE);
      const result = await guarded(
        (reader as ReadableStreamBYOBReader).read(new Uint8Array(scratch, 0, want)),
      );
      if (result.value !== undefined) scratch = result.value.buffer as ArrayBuffer;
      if (result.done) {
        clearTimeout(watchdog);
        return null;
      }
      target.set(result.value);
      return result.value.length;
    };
    return {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
      url,
      body,
      attempts: 1,
      readInto,
      cancel: () => Promise.resolve(close()),
    };
  }

  /** Classifies a fetch or body-read failure: aborted by the caller, permission, network. */
  #failure(error: unknown, url: URL, stalled: boolean, timeout: number): unknown {
    if (stalled) {
      return new TransportError(`${url.host} sent nothing for ${timeout / 1000} s`, {
        cause: error,
      });
    }
    if (this.#signal?.aborted) return this.#signal.reason;
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      return error;
    }
    const message = messageChain(error);
    if (/certificate|UnknownIssuer|InvalidCertificate/i.test(message)) {
      return new RegistryError(
        `TLS verification of ${url.host} failed: ${message} ` +
          "(trust its CA with caCerts / --tlscacert)",
        { cause: error },
      );
    }
    return new TransportError(`${url.host}: ${message}`, { cause: error });
  }
}

function labelOf(request: HttpRequest): string {
  return request.label ?? request.url.host;
}

/**
 * A request over https without certificate verification (Deno's fetch cannot skip it per
 * client; node:https can). No redirects are followed.
 */
function unverifiedFetch(
  url: URL,
  init: { method: string; headers: Headers; body?: string; signal: AbortSignal },
): Promise<Response> {
  return new Promise((resolve, reject) => {
    const request = httpsRequest(url, {
      method: init.method,
      headers: Object.fromEntries(init.headers),
      rejectUnauthorized: false,
      signal: init.signal,
    }, (message) => {
      const headers = new Headers();
      for (const [key, value] of Object.entries(message.headers)) {
        if (Array.isArray(value)) value.forEach((v) => headers.append(key, v));
        else if (value !== undefined) headers.set(key, String(value));
      }
      const status = message.statusCode ?? 502;
      const empty = init.method === "HEAD" || status === 204 || status === 304;
      if (empty) message.resume();
      const body = empty ? null : Readable.toWeb(message) as ReadableStream<Uint8Array>;
      resolve(new Response(body, { status, statusText: message.statusMessage, headers }));
    });
    request.on("error", reject);
    if (init.body !== undefined) request.write(init.body);
    request.end();
  });
}

/** An error's message with those of its causes (Deno's fetch says only "fetch failed"). */
function messageChain(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && depth < 5; depth++) {
    const text = e instanceof Error ? e.message : String(e);
    if (text !== "" && !parts.some((p) => p.includes(text))) parts.push(text);
    e = e instanceof Error ? e.cause : undefined;
  }
  return parts.join(": ");
}
