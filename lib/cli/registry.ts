/**
 * `docker://` references on the command line: the registry options of ctr's pull flags
 * (`--plain-http`, `--user`, `--tlscacert`, `--skip-verify`), export requests for a mix of store
 * names and registry references, a store that routes each blob to where its image came from, and
 * the listings of `ocipack list docker://...` (a repository's tags, an image's platforms).
 *
 * @module
 */
import {
  type BlobInfo,
  type ContentProvider,
  type Image,
  type ImageStore,
  type OpenedBlob,
  readVerified,
} from "../stores/content.ts";
import { openRegistry, type Registry } from "../stores/registry/registry.ts";
import { isRepositoryOnly, parseRegistryReference } from "../stores/registry/reference.ts";
import type { RegistryCredentials } from "../stores/registry/credentials.ts";
import type { ManifestRequest } from "../export/options.ts";
import { decodeIndex, decodeManifest, type Descriptor } from "../oci/documents.ts";
import { InvalidArgumentError, NotFoundError } from "../oci/errors.ts";
import { isIndexType, isManifestType } from "../oci/media_types.ts";
import { formatPlatform, normalizePlatform, type Platform } from "../oci/platforms.ts";
import { resolveImage } from "./images.ts";

/** The prefix that marks a registry reference, as skopeo writes it. */
export const REGISTRY_PREFIX = "docker://";

/** Whether a command-line image is a registry reference. */
export function isRegistryArgument(image: string): boolean {
  return image.startsWith(REGISTRY_PREFIX);
}

/** ctr's registry flags. */
export interface RegistryFlags {
  /** `--plain-http`: http for the registries named. */
  plainHttp?: boolean;
  /** `-u, --user USER[:PASSWORD]`. */
  user?: string;
  /** `--tlscacert FILE`. */
  tlscacert?: string;
  /** `--skip-verify`. */
  skipVerify?: boolean;
}

/** How the CLI talks to its user. */
export interface Terminal {
  /** Prints a warning line on stderr. */
  warn(text: string): void;
  /** Asks for a password without echo; `undefined` when stdin is not a terminal. */
  readPassword(prompt: string): Promise<string | undefined>;
}

/**
 * A registry source for the references given, configured from ctr's flags: `--user` goes to the
 * registries of those references only.
 */
export async function openRegistryFromFlags(
  flags: RegistryFlags,
  references: readonly string[],
  signal: AbortSignal,
  terminal: Terminal,
): Promise<Registry> {
  const domains = new Set(
    references.map((r) => {
      try {
        return parseRegistryReference(r).domain;
      } catch {
        return "";
      }
    }),
  );
  let credentials: RegistryCredentials | undefined;
  if (flags.user !== undefined) {
    const colon = flags.user.indexOf(":");
    const username = colon < 0 ? flags.user : flags.user.slice(0, colon);
    let password = colon < 0 ? undefined : flags.user.slice(colon + 1);
    if (username === "") throw new InvalidArgumentError("--user needs a user name");
    password ??= await terminal.readPassword(`Password for ${username}: `);
    if (password === undefined) {
      throw new InvalidArgumentError(
        "--user without a password needs a terminal to ask on; give USER:PASSWORD",
      );
    }
    credentials = { username, password };
  }
  const caCerts = flags.tlscacert === undefined
    ? undefined
    : [await Deno.readTextFile(flags.tlscacert)];
  if (flags.skipVerify) {
    terminal.warn(
      "warning: --skip-verify: TLS certificates of registries are not verified; anyone on the " +
        "network path can read and change what is fetched",
    );
  }
  return openRegistry({
    plainHttp: flags.plainHttp ? true : undefined,
    caCerts,
    skipVerify: flags.skipVerify ? true : undefined,
    credentials: credentials === undefined
      ? undefined
      : (domain) => (domains.has(domain) ? credentials : undefined),
    signal,
  });
}

/**
 * A store over a local store and a registry source: blobs reached from a registry image come
 * from the registry, others from the local store; names resolve in the local store.
 */
export class RoutedStore implements ContentProvider, ImageStore {
  readonly #local?: ContentProvider & ImageStore;
  readonly #registry?: Registry;

  constructor(local?: ContentProvider & ImageStore, registry?: Registry) {
    this.#local = local;
    this.#registry = registry;
  }

  #route(descriptor: Descriptor): ContentProvider {
    if (this.#registry?.holds(descriptor)) return this.#registry;
    if (this.#local !== undefined) return this.#local;
    throw new NotFoundError(`Blob ${descriptor.digest} not found`, { digest: descriptor.digest });
  }

  stat(descriptor: Descriptor): Promise<BlobInfo> {
    try {
      return this.#route(descriptor).stat(descriptor);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  open(descriptor: Descriptor): Promise<OpenedBlob> {
    try {
      return this.#route(descriptor).open(descriptor);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  listImages(): Promise<Image[]> {
    return this.#local?.listImages() ?? Promise.resolve([]);
  }

  getImage(name: string): Promise<Image> {
    if (this.#local === undefined) {
      return Promise.reject(new NotFoundError(`Image ${name} not found`));
    }
    return this.#local.getImage(name);
  }
}

/** Export requests for command-line images: `docker://` ones from the registry, others from the store. */
export async function resolveRequests(
  local: (ContentProvider & ImageStore) | undefined,
  registry: Registry | undefined,
  images: readonly string[],
): Promise<ManifestRequest[]> {
  const requests: ManifestRequest[] = [];
  for (const image of images) {
    if (isRegistryArgument(image)) {
      const { name, target } = await registry!.getImage(image);
      requests.push({ descriptor: target, names: [name] });
    } else {
      requests.push(await resolveImage(local!, image));
    }
  }
  return requests;
}

/** One platform of a registry image, for `ocipack list docker://REF`. */
export interface PlatformEntry {
  /** `os/arch[/variant]`, or `unknown`. */
  platform: string;
  /** The manifest's digest. */
  digest: string;
  /** The manifest's media type. */
  mediaType: string;
  /** The manifest's size in bytes. */
  size: number;
}

/** The listing of `ocipack list docker://...`: tags of a repository, or platforms of an image. */
export type RegistryListing =
  | { repository: string; tags: string[] }
  | { name: string; digest: string; mediaType: string; platforms: PlatformEntry[] };

/** Lists a repository's tags, or an image's platforms (its index entries, or its one manifest). */
export async function listRegistry(registry: Registry, argument: string): Promise<RegistryListing> {
  if (isRepositoryOnly(argument)) {
    return {
      repository: argument.slice(REGISTRY_PREFIX.length),
      tags: await registry.listTags(argument),
    };
  }
  const { name, target } = await registry.getImage(argument);
  const platforms: PlatformEntry[] = [];
  const entry = (desc: Descriptor, platform: Platform | undefined) => ({
    platform: platform === undefined ? "unknown" : formatPlatform(platform),
    digest: desc.digest,
    mediaType: desc.mediaType,
    size: desc.size,
  });
  if (isIndexType(target.mediaType)) {
    const index = decodeIndex(await readVerified(registry, target, { image: name }));
    for (const child of index.manifests) platforms.push(entry(child, child.platform));
  } else if (isManifestType(target.mediaType)) {
    const manifest = decodeManifest(await readVerified(registry, target, { image: name }));
    const config = JSON.parse(
      new TextDecoder().decode(await readVerified(registry, manifest.config, { image: name })),
    );
    const platform: Platform = {
      os: String(config?.os ?? ""),
      architecture: String(config?.architecture ?? ""),
    };
    if (typeof config?.variant === "string" && config.variant) platform.variant = config.variant;
    platforms.push(entry(target, normalizePlatform(platform)));
  }
  return { name, digest: target.digest, mediaType: target.mediaType, platforms };
}

/** Reads a password from a terminal without echo; `undefined` when stdin is not a terminal. */
export async function readPasswordFromTerminal(prompt: string): Promise<string | undefined> {
  if (!Deno.stdin.isTerminal()) return undefined;
  const encoder = new TextEncoder();
  // No echo from before the prompt shows, so that nothing typed early is echoed.
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  try {
    await Deno.stderr.write(encoder.encode(prompt));
    const buffer = new Uint8Array(1);
    while (true) {
      const n = await Deno.stdin.read(buffer);
      if (n === null) break;
      const c = buffer[0];
      if (c === 13 || c === 10) break;
      if (c === 3) throw new InvalidArgumentError("Password entry interrupted");
      if (c === 127 || c === 8) bytes.pop();
      else bytes.push(c);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(encoder.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}
