/**
 * Registry references: a `docker://` image reference, normalized as docker does, split into the
 * parts a registry client needs (API host, repository, tag or digest) and the name the image is
 * exported under.
 *
 * @module
 */
import { InvalidArgumentError } from "../../oci/errors.ts";
import {
  formatReference,
  parseDockerRef,
  parseNormalizedNamed,
  type Reference,
} from "../../oci/reference.ts";

/** Docker Hub's name in references. */
export const DOCKER_HUB_DOMAIN = "docker.io";
/** Docker Hub's registry API host. */
export const DOCKER_HUB_HOST = "registry-1.docker.io";
/** Docker Hub's key in docker's `config.json`. */
export const DOCKER_HUB_CREDENTIAL_KEY = "https://index.docker.io/v1/";

/** A repository in a registry. */
export interface RegistryRepository {
  /** The domain as the reference names it (`docker.io`, `127.0.0.1:5000`). */
  domain: string;
  /** The host (with port) the registry API is reached at (`registry-1.docker.io`). */
  host: string;
  /** The repository path (`library/alpine`). */
  repository: string;
}

/** An image reference in a registry: a repository and a tag or digest. */
export interface RegistryReference extends RegistryRepository {
  /** The normalized reference, the name the image is exported under. */
  name: string;
  /** The tag, when the reference has no digest. */
  tag?: string;
  /** The digest, when the reference has one (a tag given with it is dropped, as docker does). */
  digest?: string;
}

/** The `docker://` prefix of registry references, as skopeo writes them. */
export const DOCKER_TRANSPORT = "docker://";

function stripTransport(text: string): string {
  return text.startsWith(DOCKER_TRANSPORT) ? text.slice(DOCKER_TRANSPORT.length) : text;
}

function repositoryOf(ref: Reference): RegistryRepository {
  if (ref.domain === "") throw new InvalidArgumentError(`Image reference has no registry`);
  const host = ref.domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_HOST : ref.domain;
  return { domain: ref.domain, host, repository: ref.path };
}

/**
 * Parses an image reference (`alpine`, `ghcr.io/org/app:1.2`, `host:5000/app@sha256:...`, with
 * or without `docker://`) as docker normalizes it: `alpine` is
 * `docker.io/library/alpine:latest`, served by `registry-1.docker.io`.
 *
 * @throws {InvalidArgumentError} when the reference does not parse.
 */
export function parseRegistryReference(text: string): RegistryReference {
  const ref = parseDockerRef(stripTransport(text));
  const result: RegistryReference = { ...repositoryOf(ref), name: formatReference(ref) };
  if (ref.digest !== undefined) result.digest = ref.digest;
  else result.tag = ref.tag;
  return result;
}

/**
 * Parses a repository name (`alpine`, `docker://127.0.0.1:5000/app`), without tag or digest.
 *
 * @throws {InvalidArgumentError} when the name does not parse or has a tag or digest.
 */
export function parseRegistryRepository(text: string): RegistryRepository {
  const bare = stripTransport(text);
  const ref = parseNormalizedNamed(bare);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new InvalidArgumentError(`${bare} is an image reference, not a repository`);
  }
  return repositoryOf(ref);
}

/** Whether a reference names a repository only (no tag, no digest), after `docker://`. */
export function isRepositoryOnly(text: string): boolean {
  try {
    const ref = parseNormalizedNamed(stripTransport(text));
    return ref.tag === undefined && ref.digest === undefined;
  } catch {
    return false;
  }
}

/**
 * The host name without its port, as containerd's distribution-source labels use it
 * (`127.0.0.1:5000` -> `127.0.0.1`, `[::1]:5000` -> `::1`): Go's `url.Hostname()`.
 */
export function hostnameOf(domain: string): string {
  if (domain.startsWith("[")) {
    const end = domain.indexOf("]");
    return domain.slice(1, end < 0 ? undefined : end);
  }
  const colon = domain.indexOf(":");
  return colon < 0 ? domain : domain.slice(0, colon);
}
