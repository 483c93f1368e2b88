/**
 * Content digests (`algorithm:encoded`), validated as go-digest does, and incremental hashing
 * through `node:crypto`.
 *
 * @module
 */
import { createHash, type Hash } from "node:crypto";
import { InvalidDigestError } from "./errors.ts";

/** The digest algorithms ocipack can verify, with the length of their hex encoding. */
const ENCODED_LENGTH: Readonly<Record<string, number>> = Object.freeze({
  sha256: 64,
  sha384: 96,
  sha512: 128,
});

/** The algorithms accepted in a digest, as go-digest registers them. */
export const DIGEST_ALGORITHMS: readonly string[] = Object.freeze(Object.keys(ENCODED_LENGTH));

/** A digest split into its parts. */
export interface ParsedDigest {
  /** The algorithm, for example `sha256`. */
  algorithm: string;
  /** The lower-case hex encoding of the hash. */
  encoded: string;
}

const HEX = /^[0-9a-f]+$/;

/** The length of a registered algorithm's hex encoding, or undefined for any other name. */
export function encodedLength(algorithm: string): number | undefined {
  return Object.hasOwn(ENCODED_LENGTH, algorithm) ? ENCODED_LENGTH[algorithm] : undefined;
}

/** Whether a string is non-empty lower-case hex. */
export function isLowerHex(text: string): boolean {
  return HEX.test(text);
}

/**
 * Validates a digest as go-digest's `Digest.Validate` does and splits it into algorithm and hex.
 * Nothing derived from a digest (a path, a hash) is used before this returns.
 *
 * @throws {InvalidDigestError} when the value is not a string of a registered algorithm followed
 * by lower-case hex of that algorithm's exact length.
 */
export function parseDigest(value: unknown): ParsedDigest {
  if (typeof value !== "string") {
    throw new InvalidDigestError(`Invalid digest ${describe(value)}: not a string`);
  }
  const colon = value.indexOf(":");
  if (colon <= 0 || colon === value.length - 1) {
    throw new InvalidDigestError(
      `Invalid digest ${describe(value)}: not of the form algorithm:hex`,
    );
  }
  const algorithm = value.slice(0, colon);
  const encoded = value.slice(colon + 1);
  const length = encodedLength(algorithm);
  if (length === undefined) {
    throw new InvalidDigestError(
      `Invalid digest ${describe(value)}: unsupported algorithm (${DIGEST_ALGORITHMS.join(", ")})`,
    );
  }
  if (encoded.length !== length) {
    throw new InvalidDigestError(
      `Invalid digest ${describe(value)}: ${algorithm} needs ${length} hex digits`,
    );
  }
  if (!isLowerHex(encoded)) {
    throw new InvalidDigestError(`Invalid digest ${describe(value)}: not lower-case hex`);
  }
  return { algorithm, encoded };
}

/** Whether a value is a valid digest, as {@linkcode parseDigest} decides. */
export function isDigest(value: unknown): boolean {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** The path of a blob relative to a store or archive root: `blobs/<algorithm>/<hex>`. */
export function blobPath(digest: string): string {
  const { algorithm, encoded } = parseDigest(digest);
  return `blobs/${algorithm}/${encoded}`;
}

/** An incremental hash of one of {@linkcode DIGEST_ALGORITHMS}. */
export class Digester {
  readonly algorithm: string;
  #hash: Hash;

  /** Starts a hash for the algorithm of a valid digest or an algorithm name. */
  constructor(algorithm: string) {
    if (!Object.hasOwn(ENCODED_LENGTH, algorithm)) {
      throw new InvalidDigestError(`Unsupported digest algorithm ${describe(algorithm)}`);
    }
    this.algorithm = algorithm;
    this.#hash = createHash(algorithm);
  }

  /** Feeds bytes into the hash. */
  update(bytes: Uint8Array): void {
    this.#hash.update(bytes);
  }

  /** Finishes the hash and returns the digest string, `algorithm:hex`. */
  digest(): string {
    return `${this.algorithm}:${this.#hash.digest("hex")}`;
  }
}

/** Computes the digest of bytes held in memory. */
export function digestOf(bytes: Uint8Array, algorithm = "sha256"): string {
  const digester = new Digester(algorithm);
  digester.update(bytes);
  return digester.digest();
}

/** A short, printable rendering of a value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === "string") {
    return JSON.stringify(value.length > 150 ? value.slice(0, 150) + "..." : value);
  }
  if (value === undefined) return "undefined";
  try {
    const text = JSON.stringify(value) ?? String(value);
    return text.length > 150 ? text.slice(0, 150) + "..." : text;
  } catch {
    return String(value);
  }
}
