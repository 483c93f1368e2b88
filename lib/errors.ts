/**
 * Error classes thrown by ocipack. Every error the library raises on purpose is an
 * {@linkcode OcipackError}; the subclasses say what kind of problem it was, so callers can branch
 * on `instanceof` rather than on message text.
 *
 * @module
 */

/** Where an error was found: the blob and the image it was reached from, when known. */
export interface ErrorContext {
  /** The digest of the blob the error concerns. */
  digest?: string;
  /** The name (or digest) of the requested image the blob was reached from. */
  image?: string;
  /** The underlying error, if any. */
  cause?: unknown;
}

/** Escapes control characters, so a message stays on one line whatever it quotes. */
export function oneLine(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f\u2028\u2029]/g, (c) => {
    const escapes: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    return escapes[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
  });
}

/** The base class of every error ocipack raises on purpose. */
export class OcipackError extends Error {
  /** The digest of the blob the error concerns, when there is one. */
  readonly digest?: string;
  /** The requested image the blob was reached from, when known. */
  readonly image?: string;

  /**
   * Creates an error with optional context. The message is kept to one line: control characters
   * (which names, annotations and parser messages quoting a document may carry) are escaped.
   */
  constructor(message: string, context: ErrorContext = {}) {
    super(oneLine(message), context.cause === undefined ? undefined : { cause: context.cause });
    this.name = new.target.name;
    this.digest = context.digest;
    this.image = context.image;
  }
}

/** A blob, image or platform that was asked for is not there. */
export class NotFoundError extends OcipackError {}

/** A blob's bytes hash to a different digest than its descriptor names. */
export class DigestMismatchError extends OcipackError {
  /** The digest the descriptor names. */
  readonly expected: string;
  /** The digest of the bytes that were read. */
  readonly actual: string;

  /** Creates the error for a blob whose bytes hash to `actual` instead of `expected`. */
  constructor(message: string, expected: string, actual: string, context: ErrorContext = {}) {
    super(message, context);
    this.expected = expected;
    this.actual = actual;
  }
}

/** A blob holds a different number of bytes than its descriptor says. */
export class SizeMismatchError extends OcipackError {
  /** The size the descriptor gives. */
  readonly expected: number;
  /**
   * The size found: the stored size, or a lower bound (`expected + 1`) when the blob was longer
   * than expected and reading stopped there.
   */
  readonly actual: number;

  /** Creates the error for a blob of `actual` bytes where `expected` were due. */
  constructor(message: string, expected: number, actual: number, context: ErrorContext = {}) {
    super(message, context);
    this.expected = expected;
    this.actual = actual;
  }
}

/**
 * A digest string that is not valid: an unknown algorithm, or an encoded part that is not
 * lower-case hex of the algorithm's exact length.
 */
export class InvalidDigestError extends OcipackError {}

/**
 * Content in the store that cannot be used as it is: a JSON document (index.json, a manifest, an
 * index) that does not parse, is too large, has fields of the wrong type or claims to be what its
 * media type says it is not; a blob that is not a regular file; a walk that nests too deep.
 */
export class InvalidDocumentError extends OcipackError {}

/**
 * An argument the caller gave that cannot be used: an option of the wrong shape, a name or platform
 * that does not parse, a descriptor that is not a manifest or an index.
 */
export class InvalidArgumentError extends OcipackError {}
