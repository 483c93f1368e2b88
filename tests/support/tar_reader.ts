/**
 * A small tar reader for tests: splits an archive into its records, keeping each record's raw
 * header bytes, so tests can compare archives record by record and rebuild one with a changed
 * body. Written independently of lib/export/tar.ts (it parses; the library only writes).
 */

/** One record of a tar archive. */
export interface TarRecord {
  /** The full name (PAX `path`, else prefix + name). */
  name: string;
  /** The typeflag character of the main header. */
  typeflag: string;
  /** Permission bits. */
  mode: number;
  /** Body size (PAX `size`, else the octal field). */
  size: number;
  /** Every header byte of the record: PAX header and records if any, then the main block. */
  header: Uint8Array;
  /** The body, without padding. */
  body: Uint8Array;
}

const decoder = new TextDecoder();

function field(block: Uint8Array, offset: number, length: number): string {
  const bytes = block.subarray(offset, offset + length);
  const end = bytes.indexOf(0);
  return decoder.decode(end === -1 ? bytes : bytes.subarray(0, end));
}

function octal(block: Uint8Array, offset: number, length: number): number {
  const text = field(block, offset, length).trim();
  return text === "" ? 0 : parseInt(text, 8);
}

function parsePax(body: Uint8Array): Record<string, string> {
  const records: Record<string, string> = {};
  let text = decoder.decode(body);
  while (text.length > 0) {
    const space = text.indexOf(" ");
    const length = parseInt(text.slice(0, space), 10);
    const record = text.slice(space + 1, length - 1);
    const eq = record.indexOf("=");
    records[record.slice(0, eq)] = record.slice(eq + 1);
    text = text.slice(length);
  }
  return records;
}

/**
 * Parses an archive. Throws when it is malformed: a bad checksum, a truncated body, or a missing
 * end-of-archive marker (two zero blocks).
 */
export function readTar(archive: Uint8Array): TarRecord[] {
  const records: TarRecord[] = [];
  let offset = 0;
  let headerStart = 0;
  let pax: Record<string, string> = {};
  while (true) {
    if (offset + 512 > archive.length) throw new Error("Tar archive ends without two zero blocks");
    const block = archive.subarray(offset, offset + 512);
    if (block.every((b) => b === 0)) {
      const next = archive.subarray(offset + 512, offset + 1024);
      if (next.length !== 512 || !next.every((b) => b === 0)) {
        throw new Error(`Tar archive has a lone zero block at ${offset}`);
      }
      if (offset + 1024 !== archive.length) {
        throw new Error(`Tar archive has ${archive.length - offset - 1024} bytes after its end`);
      }
      return records;
    }
    let sum = 0;
    for (let i = 0; i < 512; i++) sum += i >= 148 && i < 156 ? 32 : block[i];
    if (sum !== octal(block, 148, 8)) throw new Error(`Bad tar checksum at offset ${offset}`);
    const typeflag = String.fromCharCode(block[156]);
    const size = pax.size !== undefined ? Number(pax.size) : octal(block, 124, 12);
    const bodyStart = offset + 512;
    const body = archive.subarray(bodyStart, bodyStart + size);
    if (body.length !== size) throw new Error(`Tar record at ${offset} is truncated`);
    const next = bodyStart + Math.ceil(size / 512) * 512;
    if (typeflag === "x") {
      pax = parsePax(body);
      offset = next;
      continue;
    }
    const prefix = field(block, 345, 155);
    const name = pax.path ?? (prefix ? `${prefix}/${field(block, 0, 100)}` : field(block, 0, 100));
    records.push({
      name,
      typeflag,
      mode: octal(block, 100, 8),
      size,
      header: archive.slice(headerStart, bodyStart),
      body: archive.slice(bodyStart, bodyStart + size),
    });
    pax = {};
    offset = next;
    headerStart = next;
  }
}

/** Finds a record by name; throws when absent. */
export function entry(records: readonly TarRecord[], name: string): TarRecord {
  const found = records.find((r) => r.name === name);
  if (found === undefined) throw new Error(`No ${name} in the archive`);
  return found;
}

/** The body of a record as text. */
export function text(records: readonly TarRecord[], name: string): string {
  return decoder.decode(entry(records, name).body);
}
