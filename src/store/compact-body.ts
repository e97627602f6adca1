import { brotliCompressSync, brotliDecompressSync, constants, type BrotliOptions } from 'node:zlib';

/**
 * The one codec for stored certificate bodies (the bench's SQLite store and the central store keep
 * the same bytes). A stored body is
 *
 *   byte 0      format tag: 0x01 = brotli, parameters below
 *   bytes 1..   one complete brotli stream of the body's canonical JSON (UTF-8), nothing after it
 *
 * What is hashed and signed is the canonical JSON, never these bytes: the compressed form is only
 * storage, and any stream that decodes to the same canonical bytes verifies the same. Decoding
 * does not depend on the parameters. They are fixed, so that the same body gives the same bytes
 * with the same zlib; two sets, by what is being stored:
 *
 *   'certificate' (every new certificate): quality 10, lgwin 22 (4 MB window, brotli's default: a
 *     whole body in reach), mode text, size hint the body's length. A 24-fiber, two-wavelength,
 *     both-ends certificate: 38,195 bytes of JSON in 2,448, about 8 ms to compress, 0.03 ms to
 *     decompress. Quality 11 saves 1.5 % more in ten times the time; quality 9 is 15 % larger,
 *     which at a 16 kB page puts four such certificates on a page instead of five (database.ts).
 *   'conversion' (the one-time migration of an old database's bodies): quality 5, otherwise the
 *     same: 2,844 bytes in 0.25 ms, so a large database converts at start-up within systemd's
 *     start timeout (at quality 10, 100,000 certificates would take 14 minutes). A converted
 *     database keeps its 4 kB pages, where a row of either size fills a page alone: the larger
 *     body costs nothing there.
 *
 * A later format gets a new tag; decompressBody keeps reading every tag ever written.
 */
export const BODY_FORMAT_BROTLI = 0x01;

/**
 * The largest body this codec writes or reads back: 4 MB (a 144-fiber, four-wavelength certificate
 * is about 0.5 MB). A stored blob that would decode to more is refused unread past the cap: a
 * decompression bomb written into a row must not exhaust the daemon's memory.
 */
export const MAX_BODY_BYTES = 4 * 1024 * 1024;

/** A stored body that is not one this codec wrote (altered, truncated, garbage, or too large). */
export class BodyFormatError extends Error {
  readonly code = 'BODY_FORMAT';
  constructor(message: string) {
    super(message);
    this.name = 'BodyFormatError';
  }
}

/** How hard to compress: see the module comment. */
export type BodyCompression = 'certificate' | 'conversion';

const BROTLI_PARAMS: Record<BodyCompression, Record<number, number>> = {
  certificate: {
    [constants.BROTLI_PARAM_QUALITY]: 10,
    [constants.BROTLI_PARAM_LGWIN]: 22,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  },
  conversion: {
    [constants.BROTLI_PARAM_QUALITY]: 5,
    [constants.BROTLI_PARAM_LGWIN]: 22,
    [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  },
};

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The stored form of a body (canonical JSON). Refuses a body it could not read back. */
export function compressBody(canonicalJson: string, compression: BodyCompression = 'certificate'): Buffer {
  return compressBodyBytes(Buffer.from(canonicalJson, 'utf8'), compression);
}

/**
 * The stored form of a body given as bytes, kept exactly (the migration of an old database keeps
 * an acknowledged altered body byte for byte, even bytes that are not UTF-8).
 */
export function compressBodyBytes(bytes: Uint8Array, compression: BodyCompression = 'certificate'): Buffer {
  if (bytes.length > MAX_BODY_BYTES) throw new BodyFormatError(`a certificate body of ${bytes.length} bytes is larger than the ${MAX_BODY_BYTES} bytes a stored body may hold`);
  const stream = brotliCompressSync(bytes, { params: { ...BROTLI_PARAMS[compression], [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
  const stored = Buffer.concat([Buffer.of(BODY_FORMAT_BROTLI), stream]);
  // Never store what does not read back as exactly these bytes (0.05 ms against 8 ms of compression).
  if (!decompressBodyBytes(stored).equals(bytes)) throw new Error('a compressed body does not decompress to the same bytes (zlib fault): not stored');
  return stored;
}

/** The canonical JSON a stored body holds; BodyFormatError for anything this codec did not write. */
export function decompressBody(stored: Buffer | Uint8Array): string {
  const bytes = decompressBodyBytes(stored);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new BodyFormatError('the stored body does not decode to UTF-8 text');
  }
}

/**
 * The canonical JSON's bytes (not checked to be UTF-8: for replies built from bytes already
 * verified). BodyFormatError for a blob that is not a body.
 */
export function decompressBodyBytes(stored: Buffer | Uint8Array): Buffer {
  if (!(stored instanceof Uint8Array)) throw new BodyFormatError(`the stored body is ${stored === null ? 'NULL' : `a ${typeof stored}`}, not a compressed body`);
  if (stored.length < 2) throw new BodyFormatError(`the stored body is ${stored.length} byte(s) long, not a compressed body`);
  const tag = stored[0]!;
  if (tag !== BODY_FORMAT_BROTLI) throw new BodyFormatError(`the stored body has format tag 0x${tag.toString(16).padStart(2, '0')}, which this mpocert does not know`);
  const stream = stored.subarray(1);
  let out: Buffer;
  let consumed: number;
  try {
    // `info`: the engine says how much input the decoder consumed (sync mode counts what it read).
    const r = brotliDecompressSync(stream, { maxOutputLength: MAX_BODY_BYTES, info: true } as BrotliOptions) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    out = r.buffer;
    consumed = r.engine.bytesWritten;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ERR_BUFFER_TOO_LARGE') throw new BodyFormatError(`the stored body decompresses to more than ${MAX_BODY_BYTES} bytes: refused`);
    throw new BodyFormatError(`the stored body is not a valid brotli stream (${e.message})`);
  }
  // The stream must end exactly at the blob's end: brotli stops at its last block and ignores what
  // follows, so a blob with bytes appended would otherwise read as the body.
  if (consumed !== stream.length) throw new BodyFormatError(`the stored body has ${stream.length - consumed} byte(s) after its brotli stream`);
  return out;
}
