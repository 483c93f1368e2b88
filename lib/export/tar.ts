/**
 * Tar headers byte-identical to those Go's `archive/tar` Writer writes for a
 * `Header{Name, Mode, Size, Typeflag}` with every other field zero and no format chosen, which is
 * how containerd's image exporter calls it.
 *
 * Go picks USTAR when it can: numeric fields are zero-padded octal ending in NUL, the checksum is
 * six octal digits, NUL and a space, the magic is `ustar\0` with version `00`, and a name over 100
 * bytes is split at a `/` into the 155-byte prefix and the 100-byte name field. When USTAR cannot
 * hold the entry (a non-ASCII name, a name too long and not splittable, a size of 8 GiB or more)
 * Go writes a PAX extended header (typeflag `x`) with `path` and/or `size` records, then a main
 * header in which the fields that do not fit are left as Go's formatter leaves them.
 *
 * @module
 */
import { goPathJoin } from "../oci/go_path.ts";

/** One entry of a tar archive: what ocipack passes to the header encoder. */
export interface TarEntry {
  /** The entry's path inside the archive, e.g. `blobs/sha256/<hex>` or `blobs/` for a directory. */
  name: string;
  /** The permission bits, e.g. `0o444`; an integer from 0 to `0o7777777`. */
  mode: number;
  /** The size of the body in bytes: a non-negative safe integer (0 for directories). */
  size: number;
  /** `"0"` for a regular file, `"5"` for a directory. */
  typeflag: "0" | "5";
}

/** The size of a tar block; headers, bodies and the end of the archive are padded to it. */
export const BLOCK_SIZE = 512;

// Field offsets and lengths of a USTAR header block.
const NAME_OFFSET = 0;
const NAME_SIZE = 100;
const MODE_OFFSET = 100;
const UID_OFFSET = 108;
const GID_OFFSET = 116;
const SIZE_OFFSET = 124;
const MTIME_OFFSET = 136;
const CHECKSUM_OFFSET = 148;
const TYPEFLAG_OFFSET = 156;
const MAGIC_OFFSET = 257;
const DEVMAJOR_OFFSET = 329;
const DEVMINOR_OFFSET = 337;
const PREFIX_OFFSET = 345;
const PREFIX_SIZE = 155;

/** The largest size an 11-digit octal size field holds: 8 GiB - 1. */
const MAX_OCTAL_SIZE = 0o77777777777;
/** The largest mode a 7-digit octal mode field holds. */
const MAX_MODE = 0o7777777;
/** Go refuses PAX records longer than this (`maxSpecialFileSize`). */
const MAX_PAX_RECORDS = 1 << 20;

const SLASH = 0x2f;
const TYPEFLAG_PAX = 0x78; // 'x'

/** How an entry's header is written: USTAR without a prefix, USTAR split at a slash, or PAX. */
const USTAR = -1;
const PAX = -2;

const encoder = new TextEncoder();

function validate(entry: TarEntry): void {
  const { name, mode, size, typeflag } = entry;
  if (typeflag !== "0" && typeflag !== "5") {
    throw new TypeError(`Tar entry typeflag must be "0" or "5", not ${JSON.stringify(typeflag)}`);
  }
  if (typeof name !== "string") {
    throw new TypeError(`Tar entry name must be a string, not ${typeof name}`);
  }
  if (name.includes("\0")) {
    throw new TypeError(`Tar entry name must not contain NUL: ${JSON.stringify(name)}`);
  }
  if (typeflag === "0" && name.endsWith("/")) {
    // Go refuses this too: "filename may not have trailing slash".
    throw new TypeError(`A regular file's name must not end with a slash: ${JSON.stringify(name)}`);
  }
  checkSize(size);
  if (!Number.isInteger(mode) || mode < 0 || mode > MAX_MODE) {
    throw new RangeError(`Tar entry mode must be an integer from 0 to 0o7777777, not ${mode}`);
  }
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Tar entry size must be a non-negative safe integer, not ${size}`);
  }
}

function isASCII(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) >= 0x80) return false;
  }
  return true;
}

/** Go's toASCII: drops every character that is not ASCII (NUL was rejected before). */
function toASCII(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) < 0x80) out += name[i];
  }
  return out;
}

/**
 * Go's splitUSTARPath for an ASCII name longer than 100 bytes: the index of the slash that splits
 * it into prefix and name, or -1 when it cannot be split.
 */
function splitIndex(name: string): number {
  let length = name.length;
  if (length > PREFIX_SIZE + 1) {
    length = PREFIX_SIZE + 1;
  } else if (name.charCodeAt(length - 1) === SLASH) {
    length--;
  }
  const i = length === 0 ? -1 : name.lastIndexOf("/", length - 1);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > NAME_SIZE || nlen === 0 || i > PREFIX_SIZE) return -1;
  return i;
}

/** Whether Go would emit a `path` PAX record for this name (when it writes PAX at all). */
function needsPathRecord(name: string, ascii: boolean): boolean {
  return !ascii || name.length > NAME_SIZE;
}

/**
 * USTAR (no split), a split index (> 0), or PAX, as Go's allowedFormats decides for a
 * validated entry.
 */
function classify(entry: TarEntry): number {
  const name = entry.name;
  const ascii = isASCII(name);
  let split = USTAR;
  if (needsPathRecord(name, ascii)) {
    split = ascii ? splitIndex(name) : -1;
    if (split < 0) return PAX;
  }
  return entry.size > MAX_OCTAL_SIZE ? PAX : split;
}

/** Length in bytes of Go's formatPAXRecord(key, value) for a value of `valueLength` bytes. */
function paxRecordLength(keyLength: number, valueLength: number): number {
  let size = keyLength + valueLength + 3;
  size += String(size).length;
  const actual = String(size).length + keyLength + valueLength + 3;
  return actual === size ? size : actual;
}

/** The PAX records Go writes for an entry it encodes as PAX: `path` and/or `size`, sorted. */
function paxRecords(entry: TarEntry): Uint8Array {
  const name = entry.name;
  const path = needsPathRecord(name, isASCII(name)) ? encoder.encode(name) : null;
  const sizeValue = entry.size > MAX_OCTAL_SIZE ? String(entry.size) : null;
  const pathLength = path === null ? 0 : paxRecordLength(4, path.length);
  const sizeLength = sizeValue === null ? 0 : paxRecordLength(4, sizeValue.length);
  const total = pathLength + sizeLength;
  if (total > MAX_PAX_RECORDS) {
    throw new RangeError(
      `Tar entry name is too long: its PAX records would take ${total} bytes, over 1 MiB`,
    );
  }
  const out = new Uint8Array(total);
  let at = 0;
  if (path !== null) {
    at = writeASCII(out, at, `${pathLength} path=`);
    out.set(path, at);
    at += path.length;
    out[at++] = 0x0a;
  }
  if (sizeValue !== null) {
    at = writeASCII(out, at, `${sizeLength} size=${sizeValue}\n`);
  }
  return out;
}

function roundUp(n: number): number {
  return n + paddingLength(n);
}

function writeASCII(target: Uint8Array, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) target[at++] = s.charCodeAt(i);
  return at;
}

/** Go's formatOctal on a zeroed field: digits zero-padded to `length - 1`, then NUL. */
function writeOctal(target: Uint8Array, at: number, length: number, value: number): void {
  const digits = length - 1;
  if (value >= 8 ** digits) value = 0; // Go writes zero when the value does not fit
  for (let i = digits - 1; i >= 0; i--) {
    target[at + i] = 0x30 + (value % 8);
    value = Math.floor(value / 8);
  }
}

/** Fills in the fields every header shares, then the magic and the checksum. */
function finishBlock(
  target: Uint8Array,
  at: number,
  mode: number,
  size: number,
  typeflag: number,
  devNumbers: boolean,
): void {
  writeOctal(target, at + MODE_OFFSET, 8, mode);
  writeOctal(target, at + UID_OFFSET, 8, 0);
  writeOctal(target, at + GID_OFFSET, 8, 0);
  writeOctal(target, at + SIZE_OFFSET, 12, size);
  writeOctal(target, at + MTIME_OFFSET, 12, 0);
  target[at + TYPEFLAG_OFFSET] = typeflag;
  if (devNumbers) {
    writeOctal(target, at + DEVMAJOR_OFFSET, 8, 0);
    writeOctal(target, at + DEVMINOR_OFFSET, 8, 0);
  }
  // "ustar\0" "00"
  target[at + MAGIC_OFFSET] = 0x75;
  target[at + MAGIC_OFFSET + 1] = 0x73;
  target[at + MAGIC_OFFSET + 2] = 0x74;
  target[at + MAGIC_OFFSET + 3] = 0x61;
  target[at + MAGIC_OFFSET + 4] = 0x72;
  target[at + MAGIC_OFFSET + 6] = 0x30;
  target[at + MAGIC_OFFSET + 7] = 0x30;
  let sum = 8 * 0x20; // the checksum field counts as spaces
  for (let i = 0; i < CHECKSUM_OFFSET; i++) sum += target[at + i];
  for (let i = CHECKSUM_OFFSET + 8; i < BLOCK_SIZE; i++) sum += target[at + i];
  writeOctal(target, at + CHECKSUM_OFFSET, 7, sum);
  target[at + CHECKSUM_OFFSET + 7] = 0x20;
}

/**
 * The name of the PAX extended header, as Go writes it: `path.Join(dir, "PaxHeaders.0", base)`,
 * then ASCII only, cut to 100 bytes, trailing slashes trimmed.
 */
function paxHeaderName(name: string): string {
  const slash = name.lastIndexOf("/");
  const dir = name.slice(0, slash + 1);
  const file = name.slice(slash + 1);
  let ascii = toASCII(goPathJoin(dir, "PaxHeaders.0", file));
  if (ascii.length > NAME_SIZE) ascii = ascii.slice(0, NAME_SIZE);
  let end = ascii.length;
  while (end > 0 && ascii.charCodeAt(end - 1) === SLASH) end--;
  return ascii.slice(0, end);
}

/** Writes the header of a validated entry whose classification is `kind` into a zeroed region. */
function writeHeader(
  entry: TarEntry,
  kind: number,
  records: Uint8Array | null,
  target: Uint8Array,
  at: number,
): number {
  const typeflag = entry.typeflag.charCodeAt(0);
  const name = entry.name;
  if (kind !== PAX) {
    if (kind === USTAR) {
      writeASCII(target, at + NAME_OFFSET, name);
    } else {
      for (let i = 0; i < kind; i++) target[at + PREFIX_OFFSET + i] = name.charCodeAt(i);
      for (let i = kind + 1, j = at + NAME_OFFSET; i < name.length; i++, j++) {
        target[j] = name.charCodeAt(i);
      }
    }
    finishBlock(target, at, entry.mode, entry.size, typeflag, true);
    return BLOCK_SIZE;
  }

  const recs = records ?? paxRecords(entry);
  // The extended header: Go's writeRawFile leaves uname, gname and the device numbers all NUL.
  writeASCII(target, at + NAME_OFFSET, paxHeaderName(name));
  finishBlock(target, at, 0, recs.length, TYPEFLAG_PAX, false);
  let pos = at + BLOCK_SIZE;
  target.set(recs, pos);
  pos += roundUp(recs.length);

  // The main header: the name as Go's formatString leaves it (ASCII only, cut to 100 bytes, and
  // a slash in the last byte replaced by NUL at the start of the run of slashes it ends), and a
  // size over 8 GiB - 1 written as zero.
  const ascii = toASCII(name);
  const length = Math.min(ascii.length, NAME_SIZE);
  for (let i = 0; i < length; i++) target[pos + NAME_OFFSET + i] = ascii.charCodeAt(i);
  if (ascii.length > NAME_SIZE && ascii.charCodeAt(NAME_SIZE - 1) === SLASH) {
    let n = NAME_SIZE;
    while (n > 0 && ascii.charCodeAt(n - 1) === SLASH) n--;
    target[pos + NAME_OFFSET + n] = 0;
  }
  finishBlock(target, pos, entry.mode, entry.size, typeflag, true);
  return pos + BLOCK_SIZE - at;
}

function lengthOf(kind: number, records: Uint8Array | null): number {
  return kind === PAX ? 2 * BLOCK_SIZE + roundUp(records!.length) : BLOCK_SIZE;
}

/**
 * The bytes Go's `tar.Writer.WriteHeader` writes for a `Header{Name, Mode, Size, Typeflag}` with
 * every other field zero (Uid/Gid 0, ModTime zero -> 0, empty Uname/Gname, Format unspecified):
 * one 512-byte USTAR block, or a PAX extended header (its header block, records, padding)
 * followed by the main block.
 *
 * @throws {TypeError} when the typeflag is not `"0"` or `"5"`, the name contains NUL, or a
 *   regular file's name ends with `/` (Go refuses that header).
 * @throws {RangeError} when the size is not a non-negative safe integer, the mode is not an
 *   integer from 0 to `0o7777777`, or the name needs PAX records over 1 MiB.
 */
export function encodeHeader(entry: TarEntry): Uint8Array {
  validate(entry);
  const kind = classify(entry);
  const records = kind === PAX ? paxRecords(entry) : null;
  const out = new Uint8Array(lengthOf(kind, records));
  writeHeader(entry, kind, records, out, 0);
  return out;
}

/**
 * Like {@linkcode encodeHeader}, writing into `target` at `offset`; returns the number of bytes
 * written (the same as {@linkcode headerLength}). Every byte of that range is overwritten, so the
 * buffer need not be zeroed first. Nothing is written when the entry is invalid.
 *
 * @throws {TypeError} for an invalid entry, as {@linkcode encodeHeader}.
 * @throws {RangeError} for an invalid entry, or when the header does not fit in `target` at
 *   `offset`.
 */
export function encodeHeaderInto(entry: TarEntry, target: Uint8Array, offset: number): number {
  validate(entry);
  const kind = classify(entry);
  const records = kind === PAX ? paxRecords(entry) : null;
  const length = lengthOf(kind, records);
  if (!Number.isSafeInteger(offset) || offset < 0 || offset + length > target.length) {
    throw new RangeError(
      `A tar header of ${length} bytes does not fit at offset ${offset} of a ${target.length}-byte buffer`,
    );
  }
  target.fill(0, offset, offset + length);
  return writeHeader(entry, kind, records, target, offset);
}

/**
 * How many bytes {@linkcode encodeHeader} produces for `entry`: 512 for a USTAR header, more for
 * a PAX one.
 *
 * @throws {TypeError} for an invalid entry, as {@linkcode encodeHeader}.
 * @throws {RangeError} for an invalid entry, as {@linkcode encodeHeader}.
 */
export function headerLength(entry: TarEntry): number {
  validate(entry);
  const kind = classify(entry);
  return lengthOf(kind, kind === PAX ? paxRecords(entry) : null);
}

/**
 * How many zero bytes follow a body of `size` bytes to reach a 512-byte boundary (0 to 511).
 *
 * @throws {RangeError} when `size` is not a non-negative safe integer.
 */
export function paddingLength(size: number): number {
  checkSize(size);
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/**
 * The end of an archive as `tar.Writer.Close` writes it: two zero blocks (1024 bytes), with no
 * further record padding. Returns a new array on each call.
 */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK_SIZE);
}
