/**
 * The registry source: a {@linkcode ContentProvider} and {@linkcode ImageStore} over the OCI
 * distribution API. `getImage` resolves a tag or digest with one manifest GET (full `Accept`
 * list, body capped at 4 MiB and hashed: a digest reference must match; for a tag the hash is the
 * digest); manifests are kept by digest, so the export's walk reads them from memory; `open`
 * streams blobs, resuming a dropped connection with `Range`; `stat` gives the size and the
 * `containerd.io/distribution.source.HOST` label a containerd pull would set.
 *
 * Latency is hidden by a bounded read-ahead: the exporter looks up every blob (`stat`) in the
 * order it then opens them, so the next blobs' requests are sent while one streams; small blobs
 * are read whole in parallel, large ones only up to their headers.
 *
 * @module
 */
import {
  type BlobInfo,
  type ContentProvider,
  type Image,
  type ImageStore,
  LABEL_DISTRIBUTION_SOURCE,
  MAX_DOCUMENT_SIZE,
  type OpenedBlob,
  readFull,
} from "../content.ts";
import { Digester, isDigest, parseDigest } from "../../oci/digest.ts";
import { checkDocumentKind, type Descriptor, DocumentError } from "../../oci/documents.ts";
import {
  DigestMismatchError,
  InvalidArgumentError,
  InvalidDocumentError,
  NotFoundError,
  SizeMismatchError,
} from "../../oci/errors.ts";
import {
  DOCKER_MANIFEST,
  DOCKER_MANIFEST_LIST,
  isIndexType,
  isManifestType,
  OCI_INDEX,
  OCI_MANIFEST,
} from "../../oci/media_types.ts";
import { Authorizer } from "./auth.ts";
import type { CredentialOption } from "./credentials.ts";
import { describeErrorResponse, RegistryError } from "./errors.ts";
import { type CappedBody, readAtMost } from "./_body.ts";
import { HttpClient, type Reply, type RetryPolicy, TransportError } from "./http.ts";
import {
  hostnameOf,
  parseRegistryReference,
  parseRegistryRepository,
  type RegistryRepository,
} from "./reference.ts";

/**
 * Options of {@linkcode openRegistry}.
 *
 * @example A private registry over plain HTTP, with credentials
 * ```ts
 * import { openRegistry, type RegistryOptions } from "@ocipack/ocipack";
 *
 * const options: RegistryOptions = {
 *   plainHttp: ["127.0.0.1:5000"],
 *   credentials: { "127.0.0.1:5000": { username: "ci", password: "secret" } },
 *   concurrency: 4,
 *   signal: AbortSignal.timeout(10 * 60_000),
 * };
 * await using registry = openRegistry(options);
 * ```
 */
export interface RegistryOptions {
  /**
   * Credentials by registry (`127.0.0.1:5000`, `docker.io`) or registry and repository prefix,
   * or a function; registries not covered fall back to the auth files docker and podman write.
   */
  credentials?: CredentialOption;
  /** Registries reached over plain HTTP (as written in references), or `true` for all. */
  plainHttp?: boolean | readonly string[];
  /** Extra CA certificates to trust, PEM. */
  caCerts?: readonly string[];
  /**
   * Registries whose TLS certificates are not verified (as written in references), or `true` for
   * all: for test set-ups only, anyone on the path can then read and change what is sent.
   */
  skipVerify?: boolean | readonly string[];
  /**
   * Blob requests in flight at once, beside the blob being read (default 8); 0 fetches each blob
   * only when it is opened.
   */
  concurrency?: number;
  /** Aborts every request. */
  signal?: AbortSignal;
  /** How long a connection may send nothing before it is dropped and retried, in ms (30000). */
  stallTimeout?: number;
  /** How requests are retried (5 attempts, from 250 ms backoff with jitter). */
  retry?: Partial<RetryPolicy>;
}

/** The `Accept` list of manifest requests: OCI index and manifest, Docker list and schema 2. */
export const MANIFEST_ACCEPT: string = [
  OCI_INDEX,
  OCI_MANIFEST,
  DOCKER_MANIFEST_LIST,
  DOCKER_MANIFEST,
]
  .join(", ");

const SCHEMA1_TYPES = new Set([
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

/** Blobs up to this size are read whole when fetched ahead; larger ones only to their headers. */
const SMALL_BLOB = 1024 * 1024;

const DEFAULT_CONCURRENCY = 8;

/** Where a blob is fetched from. */
interface Source extends RegistryRepository {
  origin: string;
}

/** A blob fetched ahead: its bytes, or an answer whose body is not read yet. */
type Prefetched = { bytes: Uint8Array } | { reply: Reply };

interface Ahead {
  descriptor: Descriptor;
  state: "waiting" | "started" | "taken";
  fetched?: Promise<Prefetched>;
  /** A small blob read whole: it holds memory, not a connection. */
  buffered?: boolean;
}

/** The most bytes of small blobs held in memory ahead of the exporter. */
const READ_AHEAD_BYTES = 16 * 1024 * 1024;

/**
 * Images in registries, read over the OCI distribution API: a {@linkcode ContentProvider} and
 * {@linkcode ImageStore} to export from. Create one with {@linkcode openRegistry}; one instance
 * serves any number of registries and repositories.
 *
 * @example Export an image from a registry to a file
 * ```ts ignore
 * import { exportArchive, openRegistry } from "@ocipack/ocipack";
 *
 * await using registry = openRegistry({ plainHttp: ["127.0.0.1:5000"] });
 * using file = await Deno.open("app.tar", { write: true, create: true, truncate: true });
 * await exportArchive(registry, { images: ["127.0.0.1:5000/app:1"] }).pipeTo(file.writable);
 * ```
 */
export class Registry implements ContentProvider, ImageStore, AsyncDisposable {
  readonly #http: HttpClient;
  readonly #client?: Deno.HttpClient;
  readonly #options: RegistryOptions;
  readonly #concurrency: number;
  readonly #authorizers = new Map<string, Authorizer>();
  /** Verified manifests and indexes, by digest. */
  readonly #documents = new Map<string, Uint8Array>();
  /** Where each digest reached so far comes from. */
  readonly #sources = new Map<string, Source[]>();
  readonly #images: Image[] = [];
  /** Blobs in the order they were looked up, which is the order the exporter opens them. */
  readonly #order: Ahead[] = [];
  readonly #ahead = new Map<string, Ahead>();
  #cursor = 0;
  #closed = false;

  /** Use {@linkcode openRegistry} rather than this constructor. */
  constructor(options: RegistryOptions = {}) {
    this.#options = options;
    const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isSafeInteger(concurrency) || concurrency < 0) {
      throw new InvalidArgumentError(`concurrency must be a whole number, not ${concurrency}`);
    }
    this.#concurrency = concurrency;
    if (options.caCerts !== undefined && options.caCerts.length > 0) {
      this.#client = Deno.createHttpClient({ caCerts: [...options.caCerts] });
    }
    this.#http = new HttpClient({
      client: this.#client,
      signal: options.signal,
      retry: options.retry,
      stallTimeout: options.stallTimeout,
      skipVerify: options.skipVerify === undefined ? undefined : (url) => {
        const skip = options.skipVerify;
        return skip === true || (Array.isArray(skip) && skip.includes(url.host));
      },
    });
  }

  /**
   * Resolves a reference (`alpine`, `127.0.0.1:5000/app:1`, `host/app@sha256:...`, with or
   * without `docker://`) to its manifest or index, with one request. The image's name is the
   * normalized reference (`docker.io/library/alpine:latest`).
   *
   * @throws {NotFoundError} when the registry has no such manifest.
   * @throws {RegistryError} when the registry refuses or fails.
   * @throws {DigestMismatchError} when a digest reference's manifest hashes otherwise.
   */
  async getImage(reference: string): Promise<Image> {
    const label = reference.replace(/^docker:\/\//, "");
    const ref = parseRegistryReference(reference);
    const source = this.#source(ref);
    const { bytes, mediaType, digest } = await this.#fetchManifest(
      source,
      ref.digest ?? ref.tag!,
      label,
      ref.digest,
    );
    const image = { name: ref.name, target: { mediaType, digest, size: bytes.length } };
    this.#images.push({ name: image.name, target: { ...image.target } });
    return image;
  }

  /** The images resolved so far by {@linkcode Registry.getImage}; a registry is not listed. */
  listImages(): Promise<Image[]> {
    return Promise.resolve(this.#images.map((i) => ({ name: i.name, target: { ...i.target } })));
  }

  /**
   * Lists a repository's tags (`docker://127.0.0.1:5000/app`, `alpine`), following pagination.
   *
   * @throws {NotFoundError} when the registry has no such repository.
   */
  async listTags(repository: string): Promise<string[]> {
    const label = repository.replace(/^docker:\/\//, "");
    const source = this.#source(parseRegistryRepository(repository));
    const tags: string[] = [];
    let path: string | undefined = `/v2/${source.repository}/tags/list`;
    for (let page = 0; path !== undefined && page < 1000; page++) {
      const reply = await this.#request(source, path, { Accept: "application/json" }, label);
      if (reply.status !== 200) throw await this.#failure(reply, label);
      const text = await readCapped(reply, MAX_DOCUMENT_SIZE, label);
      let body: { tags?: unknown };
      try {
        body = JSON.parse(new TextDecoder().decode(text));
      } catch {
        throw new RegistryError(`${label}: the registry's tag list is not JSON`);
      }
      if (Array.isArray(body.tags)) {
        for (const tag of body.tags) if (typeof tag === "string") tags.push(tag);
      }
      path = nextLink(reply.headers.get("link"), source.origin);
    }
    return tags;
  }

  /** Whether a blob was reached from an image this registry resolved (so it can serve it). */
  holds(descriptor: Descriptor): boolean {
    return this.#sources.has(descriptor.digest);
  }

  /**
   * A blob's size and its distribution-source labels
   * (`containerd.io/distribution.source.HOST` = repositories), as a containerd pull sets them.
   * Blobs looked up here are fetched ahead, in this order, for {@linkcode Registry.open}.
   *
   * @throws {NotFoundError} for a blob not reached from an image resolved here.
   */
  stat(descriptor: Descriptor): Promise<BlobInfo> {
    const sources = this.#sources.get(descriptor.digest);
    if (sources === undefined) return Promise.reject(unknownBlob(descriptor));
    const labels: Record<string, string> = {};
    const byHost = new Map<string, Set<string>>();
    for (const s of sources) {
      const key = `${LABEL_DISTRIBUTION_SOURCE}.${hostnameOf(s.domain)}`;
      let repositories = byHost.get(key);
      if (repositories === undefined) byHost.set(key, repositories = new Set());
      repositories.add(s.repository);
    }
    for (const [key, repositories] of byHost) labels[key] = [...repositories].sort().join(",");
    const document = this.#documents.get(descriptor.digest);
    if (document !== undefined) return Promise.resolve({ size: document.length, labels });
    if (!isManifestType(descriptor.mediaType) && !isIndexType(descriptor.mediaType)) {
      this.#enqueue(descriptor);
    }
    // The registry is asked when the blob is opened; the exporter checks size and digest then.
    return Promise.resolve({ size: descriptor.size, labels });
  }

  /**
   * Opens a blob: a manifest from memory (or `/manifests/<digest>`), anything else streamed from
   * `/blobs/<digest>`. A connection dropped mid-blob is resumed with `Range`.
   *
   * @throws {NotFoundError} when the registry does not have it.
   */
  async open(descriptor: Descriptor): Promise<OpenedBlob> {
    if (this.#closed) throw new InvalidArgumentError("The registry source is closed");
    const sources = this.#sources.get(descriptor.digest);
    if (sources === undefined) throw unknownBlob(descriptor);
    const document = this.#documents.get(descriptor.digest);
    if (document !== undefined) {
      return { size: document.length, stream: ReadableStream.from([document.slice()]) };
    }
    const source = sources[0];
    if (isManifestType(descriptor.mediaType) || isIndexType(descriptor.mediaType)) {
      const label = `${source.domain}/${source.repository}@${descriptor.digest}`;
      const { bytes } = await this.#fetchManifest(
        source,
        descriptor.digest,
        label,
        descriptor.digest,
      );
      return { size: bytes.length, stream: ReadableStream.from([bytes.slice()]) };
    }
    parseDigest(descriptor.digest);
    const ahead = this.#ahead.get(descriptor.digest);
    let fetched: Promise<Prefetched>;
    if (ahead !== undefined) {
      this.#ahead.delete(descriptor.digest);
      const position = this.#order.indexOf(ahead);
      this.#cursor = Math.max(this.#cursor, position + 1);
      fetched = ahead.fetched ?? this.#fetchAhead(descriptor, false);
      ahead.state = "taken";
      ahead.fetched = undefined;
      this.#pump();
    } else {
      fetched = this.#fetchAhead(descriptor, false);
    }
    const got = await fetched;
    if ("bytes" in got) return { size: descriptor.size, stream: ReadableStream.from([got.bytes]) };
    // read() lets the exporter read straight into its own buffers.
    const blob = this.#resumable(source, descriptor, got.reply);
    return { size: descriptor.size, stream: blob.stream, read: blob.read };
  }

  /** Drops every blob fetched ahead and not opened, and the HTTP client. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const pending = [...this.#ahead.values()];
    this.#ahead.clear();
    for (const ahead of pending) {
      ahead.state = "taken";
      const got = await ahead.fetched?.catch(() => undefined);
      if (got !== undefined && "reply" in got) await got.reply.cancel();
    }
    this.#client?.close();
  }

  /** Same as {@linkcode Registry.close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #enqueue(descriptor: Descriptor): void {
    if (this.#closed || this.#ahead.has(descriptor.digest)) return;
    const ahead: Ahead = { descriptor, state: "waiting" };
    this.#ahead.set(descriptor.digest, ahead);
    this.#order.push(ahead);
    this.#pump();
  }

  /** Keeps up to `concurrency` of the next blobs fetched ahead. */
  #pump(): void {
    // Up to `concurrency` requests in flight (a large blob holds its connection until it is
    // opened); small blobs read whole stay in memory, at most READ_AHEAD_BYTES of them.
    let inFlight = 0;
    let buffered = 0;
    for (let i = this.#cursor; i < this.#order.length; i++) {
      const ahead = this.#order[i];
      if (ahead.state === "taken") continue;
      const size = ahead.descriptor.size;
      if (ahead.state === "started") {
        if (ahead.buffered) buffered += size;
        else inFlight++;
        continue;
      }
      if (inFlight >= this.#concurrency) break;
      if (size <= SMALL_BLOB && buffered + size > READ_AHEAD_BYTES) break;
      ahead.state = "started";
      const fetched = this.#fetchAhead(ahead.descriptor, true);
      ahead.fetched = fetched;
      inFlight++;
      fetched.then((got) => {
        if ("bytes" in got && ahead.state === "started") {
          ahead.buffered = true;
          this.#pump(); // its request is done: start the next
        }
      }, () => {}); // open() reports a failure
    }
    // Forget what was opened, so the list does not grow with every blob.
    if (this.#cursor > 1024) {
      this.#order.splice(0, this.#cursor);
      this.#cursor = 0;
    }
  }

  /** Starts a blob's GET; a small blob is read whole. */
  async #fetchAhead(descriptor: Descriptor, readSmall: boolean): Promise<Prefetched> {
    const source = this.#sources.get(descriptor.digest)![0];
    const reply = await this.#getBlob(source, descriptor, 0);
    if (!readSmall || descriptor.size > SMALL_BLOB) return { reply };
    const blob = this.#resumable(source, descriptor, reply);
    const bytes = new Uint8Array(descriptor.size + 1);
    let filled = 0;
    try {
      filled = await readFull((buffer) => blob.read(buffer), bytes);
    } finally {
      await blob.stream.cancel().catch(() => {});
    }
    // One byte too many is kept, for the exporter to report.
    return { bytes: bytes.subarray(0, filled) };
  }

  /** GET of a blob, from byte `offset` on. */
  async #getBlob(source: Source, descriptor: Descriptor, offset: number): Promise<Reply> {
    const label = `${source.domain}/${source.repository}@${descriptor.digest}`;
    const headers: Record<string, string> = { "Accept-Encoding": "identity" };
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    const path = `/v2/${source.repository}/blobs/${descriptor.digest}`;
    const reply = await this.#request(source, path, headers, label);
    if (offset === 0) {
      if (reply.status !== 200) throw await this.#failure(reply, `Blob ${descriptor.digest}`);
      const length = reply.headers.get("content-length");
      if (length !== null && /^\d+$/.test(length) && Number(length) !== descriptor.size) {
        await reply.cancel();
        throw new SizeMismatchError(
          `Blob ${descriptor.digest} is ${length} bytes in ${source.domain}/${source.repository}, ` +
            `but its descriptor says ${descriptor.size}`,
          descriptor.size,
          Number(length),
          { digest: descriptor.digest },
        );
      }
      return reply;
    }
    const range = reply.headers.get("content-range");
    const match = range === null ? null : /^bytes (\d+)-\d+\/(?:\d+|\*)$/.exec(range.trim());
    if (reply.status !== 206 || match === null || Number(match[1]) !== offset) {
      await reply.cancel();
      throw new RegistryError(
        `Blob ${descriptor.digest}: the connection dropped at byte ${offset} and the registry ` +
          `did not resume there (HTTP ${reply.status}${range ? `, Content-Range ${range}` : ""})`,
        { digest: descriptor.digest, status: reply.status },
      );
    }
    return reply;
  }

  /**
   * A blob's bytes, resuming with `Range` after a dropped or stalled connection: `read()` into a
   * caller's buffer, and a stream over the same reads whose cancel closes the blob.
   */
  #resumable(
    source: Source,
    descriptor: Descriptor,
    first: Reply,
  ): { read(target: Uint8Array): Promise<number | null>; stream: ReadableStream<Uint8Array> } {
    let reply: Reply | undefined = first;
    let received = 0;
    let resumes = 0;
    let closed = false;
    const http = this.#http;
    const read = async (target: Uint8Array): Promise<number | null> => {
      while (true) {
        if (closed) throw new InvalidArgumentError(`Blob ${descriptor.digest} is closed`);
        reply ??= await this.#getBlob(source, descriptor, received);
        try {
          const n = await reply.readInto(target);
          if (n !== null) received += n;
          return n;
        } catch (error) {
          if (!(error instanceof TransportError)) throw error;
          resumes++;
          if (resumes >= http.retry.attempts) {
            throw new RegistryError(
              `Blob ${descriptor.digest}: ${error.message} (gave up after ${resumes} attempts)`,
              { digest: descriptor.digest, cause: error },
            );
          }
          await reply.cancel();
          reply = undefined;
          await http.sleep(http.backoff(resumes));
        }
      }
    };
    const stream = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const buffer = new Uint8Array(256 * 1024);
        const n = await read(buffer);
        if (n === null) controller.close();
        else controller.enqueue(buffer.subarray(0, n));
      },
      async cancel() {
        closed = true;
        await reply?.cancel();
      },
    }, { highWaterMark: 0 });
    return { read, stream };
  }

  /** GET of a manifest by tag or digest: capped, hashed, its media type checked. */
  async #fetchManifest(
    source: Source,
    reference: string,
    label: string,
    expected?: string,
  ): Promise<{ bytes: Uint8Array; mediaType: string; digest: string }> {
    // A digest is validated before it goes into a URL.
    const algorithm = expected === undefined ? "sha256" : parseDigest(expected).algorithm;
    const path = `/v2/${source.repository}/manifests/${reference}`;
    const reply = await this.#request(source, path, { Accept: MANIFEST_ACCEPT }, label);
    if (reply.status !== 200) throw await this.#failure(reply, label);
    const contentType = (reply.headers.get("content-type") ?? "").split(";")[0].trim()
      .toLowerCase();
    if (SCHEMA1_TYPES.has(contentType)) {
      await reply.cancel();
      throw new InvalidDocumentError(
        `${label}: the registry serves a Docker schema 1 manifest, which is deprecated and not ` +
          "supported; push the image again with a current client",
      );
    }
    const bytes = await readCapped(reply, MAX_DOCUMENT_SIZE, label);
    const digester = new Digester(algorithm);
    digester.update(bytes);
    const digest = digester.digest();
    if (expected !== undefined && digest !== expected) {
      throw new DigestMismatchError(
        `${label}: the registry sent a manifest with digest ${digest}`,
        expected,
        digest,
        { digest: expected },
      );
    }
    const mediaType = documentType(bytes, contentType, label);
    this.#documents.set(digest, bytes);
    this.#addSource(digest, source);
    for (const child of childDigests(bytes)) this.#addSource(child, source);
    return { bytes, mediaType, digest };
  }

  #addSource(digest: string, source: Source): void {
    const sources = this.#sources.get(digest);
    if (sources === undefined) this.#sources.set(digest, [source]);
    else if (
      !sources.some((s) => s.domain === source.domain && s.repository === source.repository)
    ) {
      sources.push(source);
    }
  }

  /** A request with authorization: preemptive when the registry's scheme is known, else on 401. */
  async #request(
    source: Source,
    path: string,
    headers: Record<string, string>,
    label: string,
  ): Promise<Reply> {
    const url = new URL(path, source.origin);
    const authorizer = this.#authorizer(source);
    let authorization = await authorizer.header(source.repository, label);
    let reply = await this.#http.send({ url, headers, authorization, label });
    for (let round = 0; reply.status === 401 && round < 2; round++) {
      const renew = authorization?.startsWith("Bearer ") ?? false;
      const next = await authorizer.answer(reply, source.repository, label, renew);
      if (next === undefined || (next === authorization && !renew)) break;
      await reply.cancel();
      authorization = next;
      reply = await this.#http.send({ url, headers, authorization, label });
    }
    return reply;
  }

  #authorizer(source: Source): Authorizer {
    let authorizer = this.#authorizers.get(source.origin);
    if (authorizer === undefined) {
      authorizer = new Authorizer(this.#http, {
        domain: source.domain,
        origin: source.origin,
        credentials: this.#options.credentials,
      });
      this.#authorizers.set(source.origin, authorizer);
    }
    return authorizer;
  }

  #source(repository: RegistryRepository): Source {
    const plain = this.#options.plainHttp;
    const http = plain === true ||
      (Array.isArray(plain) &&
        (plain.includes(repository.domain) || plain.includes(repository.host)));
    return {
      domain: repository.domain,
      host: repository.host,
      repository: repository.repository,
      origin: `${http ? "http" : "https"}://${repository.host}`,
    };
  }

  /** The error for a failed answer: not found, or the registry's code and message. */
  async #failure(reply: Reply, label: string): Promise<Error> {
    const { text, code } = await describeErrorResponse(reply);
    const retried = reply.attempts > 1 ? ` (gave up after ${reply.attempts} attempts)` : "";
    const message = `${label}: ${text}${retried}`;
    if (reply.status === 404) return new NotFoundError(`${label} not found: ${text}`);
    return new RegistryError(message, { status: reply.status, code });
  }
}

/**
 * Opens a registry source: images are resolved with `getImage(reference)` (or by the exporter's
 * `images` option) and their blobs streamed from the registry, verified by the exporter. Nothing
 * is requested until then. Close it (or `await using` it) to drop blobs fetched ahead of a failed
 * export.
 *
 * @example Export an image straight from a registry
 * ```ts ignore
 * import { exportArchive, openRegistry } from "@ocipack/ocipack";
 *
 * await using registry = openRegistry({ plainHttp: ["127.0.0.1:5000"] });
 * using file = await Deno.open("app.tar", { write: true, create: true, truncate: true });
 * await exportArchive(registry, { images: ["127.0.0.1:5000/app:1"] }).pipeTo(file.writable);
 * ```
 *
 * @example Stream a registry image to an HTTP client
 * ```ts ignore
 * import { exportArchive, openRegistry } from "@ocipack/ocipack";
 *
 * Deno.serve(async (request, info) => {
 *   const image = new URL(request.url).searchParams.get("image") ?? "alpine";
 *   const registry = openRegistry();
 *   // Once the response is delivered (or the client has gone), drop what is left.
 *   info.completed.catch(() => {}).then(() => registry.close());
 *   try {
 *     // Resolve first, so that a missing image is a 404 rather than a broken download.
 *     const { name } = await registry.getImage(image);
 *     const archive = exportArchive(registry, { images: [name], platform: "linux/amd64" });
 *     return new Response(archive, { headers: { "Content-Type": "application/x-tar" } });
 *   } catch (error) {
 *     await registry.close();
 *     return new Response(`${(error as Error).message}\n`, { status: 404 });
 *   }
 * });
 * ```
 *
 * @example Resolve a reference without exporting
 * ```ts
 * import assert from "node:assert/strict";
 * import { openRegistry } from "@ocipack/ocipack";
 *
 * await using registry = openRegistry();
 * // Nothing is requested until an image is asked for.
 * assert.deepEqual(await registry.listImages(), []);
 * ```
 */
export function openRegistry(options: RegistryOptions = {}): Registry {
  return new Registry(options);
}

function unknownBlob(descriptor: Descriptor): NotFoundError {
  return new NotFoundError(
    `Blob ${descriptor.digest} not found: it was not reached from an image resolved in a registry`,
    { digest: descriptor.digest },
  );
}

/** The media type of a manifest: its `mediaType` field, which must agree with `Content-Type`. */
function documentType(bytes: Uint8Array, contentType: string, label: string): string {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new InvalidDocumentError(`${label}: the registry's manifest is not JSON`);
  }
  if (typeof fields !== "object" || fields === null) {
    throw new InvalidDocumentError(`${label}: the registry's manifest is not a JSON object`);
  }
  if (fields.schemaVersion === 1) {
    throw new InvalidDocumentError(
      `${label}: the registry serves a Docker schema 1 manifest, which is deprecated and not ` +
        "supported; push the image again with a current client",
    );
  }
  const known = (type: string) => isManifestType(type) || isIndexType(type);
  const declared = typeof fields.mediaType === "string" ? fields.mediaType : "";
  if (declared !== "") {
    if (known(contentType) && declared !== contentType) {
      throw new InvalidDocumentError(
        `${label}: the registry sent a ${declared} manifest as Content-Type ${contentType}`,
      );
    }
    if (!known(declared)) {
      throw new InvalidDocumentError(`${label}: unsupported manifest media type ${declared}`);
    }
    return declared;
  }
  if (known(contentType)) {
    try {
      checkDocumentKind(bytes, contentType);
    } catch (error) {
      if (!(error instanceof DocumentError)) throw error;
      throw new InvalidDocumentError(`${label}: ${error.message} (Content-Type ${contentType})`);
    }
    return contentType;
  }
  throw new InvalidDocumentError(
    `${label}: the registry's manifest has no mediaType and Content-Type ${
      JSON.stringify(contentType)
    }`,
  );
}

/** The digests a manifest or index refers to (config, layers, manifests), if well-formed. */
function childDigests(bytes: Uint8Array): string[] {
  let fields: Record<string, unknown>;
  try {
    fields = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return [];
  }
  const found: string[] = [];
  const add = (d: unknown) => {
    const digest = (d as { digest?: unknown } | null)?.digest;
    if (isDigest(digest)) found.push(digest as string);
  };
  add(fields?.config);
  for (const list of [fields?.layers, fields?.manifests]) {
    if (Array.isArray(list)) list.forEach(add);
  }
  return found;
}

/** Reads a body of at most `limit` bytes. */
async function readCapped(reply: Reply, limit: number, label: string): Promise<Uint8Array> {
  const length = reply.headers.get("content-length");
  if (length !== null && Number(length) > limit) {
    await reply.cancel();
    throw new InvalidDocumentError(`${label}: the registry's answer is over ${limit} bytes`);
  }
  let read: CappedBody;
  try {
    read = await readAtMost(reply.body, limit);
  } catch (error) {
    if (error instanceof TransportError) {
      throw new RegistryError(`${label}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  if (read.over) {
    throw new InvalidDocumentError(`${label}: the registry's answer is over ${limit} bytes`);
  }
  return read.bytes;
}

/** The path of a `Link: <...>; rel="next"` header, on the same origin. */
function nextLink(header: string | null, origin: string): string | undefined {
  if (header === null) return undefined;
  const match = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header);
  if (match === null) return undefined;
  const url = new URL(match[1], origin);
  return url.origin === origin ? url.pathname + url.search : undefined;
}
