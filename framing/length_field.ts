/**
 * The one table of length fields: how each {@linkcode LengthFormat} is sized, read and written.
 * The encoder and the decoder both go through it, so the two cannot disagree about a format.
 *
 * @module
 */

import { CorruptFrameError } from "./errors.ts";

/**
 * The format of the length field.
 *
 * | format   | bytes | range             | note                                                   |
 * | -------- | ----- | ----------------- | ------------------------------------------------------ |
 * | `u8`     | 1     | 0 … 255           |                                                        |
 * | `u16be`  | 2     | 0 … 65,535        | network order                                          |
 * | `u16le`  | 2     | 0 … 65,535        |                                                        |
 * | `u24be`  | 3     | 0 … 16,777,215    |                                                        |
 * | `u32be`  | 4     | 0 … 2^32−1        | the default (network order, tokio and Netty's default) |
 * | `u32le`  | 4     | 0 … 2^32−1        |                                                        |
 * | `i32le`  | 4     | 0 … 2^31−1        | Python's `struct.pack('i', n)`; negative is corrupt    |
 * | `u64be`  | 8     | 0 … 2^53−1        | larger values are refused                              |
 * | `varint` | 1–10  | 0 … 2^53−1        | unsigned LEB128 (protobuf, libp2p); minimal encoding   |
 */
export type LengthFormat =
  | "u8"
  | "u16be"
  | "u16le"
  | "u24be"
  | "u32be"
  | "u32le"
  | "i32le"
  | "u64be"
  | "varint";

/** How one length format is sized, read and written. */
export interface LengthField {
  /** Size in bytes; 0 for `varint` (1 to 10). */
  readonly size: number;
  /** The largest length the field holds. */
  readonly max: number;
  /** Whether values above `max` read as negative numbers (`i32le`): corrupt, not too large. */
  readonly signed: boolean;
  /**
   * Reads the field at `pos` as an unsigned number. Returns −1 when `end` leaves too few bytes.
   * A varint whose value already exceeds `limit` is returned as soon as that is known (later
   * bytes only make it larger), so a hostile header is refused early.
   */
  read(buf: Uint8Array, pos: number, end: number, limit: number): number;
  /** Writes `value` (0 … `max`) at `pos`; returns the offset just past it. */
  write(buf: Uint8Array, pos: number, value: number): number;
}

const TWO_32 = 0x100000000;

function fixed(
  size: number,
  max: number,
  read: LengthField["read"],
  write: LengthField["write"],
  signed = false,
): LengthField {
  return Object.freeze({ size, max, signed, read, write });
}

// Each reader and writer is its own function (no shared wrapper), so the codecs' call sites stay
// cheap to inline; each reader checks that its bytes are there.
const putU32le = (b: Uint8Array, p: number, v: number) => {
  b[p] = v & 0xff;
  b[p + 1] = (v >>> 8) & 0xff;
  b[p + 2] = (v >>> 16) & 0xff;
  b[p + 3] = v >>> 24;
  return p + 4;
};
const readU32le = (b: Uint8Array, p: number, end: number) =>
  end - p < 4 ? -1 : b[p + 3] * 0x1000000 + ((b[p + 2] << 16) | (b[p + 1] << 8) | b[p]);

/** Every length format's field. */
export const LENGTH_FIELDS: Readonly<Record<LengthFormat, LengthField>> = Object.freeze({
  u8: fixed(1, 0xff, (b, p, end) => end - p < 1 ? -1 : b[p], (b, p, v) => {
    b[p] = v;
    return p + 1;
  }),
  u16be: fixed(2, 0xffff, (b, p, end) => end - p < 2 ? -1 : (b[p] << 8) | b[p + 1], (b, p, v) => {
    b[p] = v >>> 8;
    b[p + 1] = v & 0xff;
    return p + 2;
  }),
  u16le: fixed(2, 0xffff, (b, p, end) => end - p < 2 ? -1 : b[p] | (b[p + 1] << 8), (b, p, v) => {
    b[p] = v & 0xff;
    b[p + 1] = v >>> 8;
    return p + 2;
  }),
  u24be: fixed(
    3,
    0xffffff,
    (b, p, end) => end - p < 3 ? -1 : (b[p] << 16) | (b[p + 1] << 8) | b[p + 2],
    (b, p, v) => {
      b[p] = v >>> 16;
      b[p + 1] = (v >>> 8) & 0xff;
      b[p + 2] = v & 0xff;
      return p + 3;
    },
  ),
  u32be: fixed(
    4,
    0xffffffff,
    (b, p, end) =>
      end - p < 4 ? -1 : b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]),
    (b, p, v) => {
      b[p] = v >>> 24;
      b[p + 1] = (v >>> 16) & 0xff;
      b[p + 2] = (v >>> 8) & 0xff;
      b[p + 3] = v & 0xff;
      return p + 4;
    },
  ),
  u32le: fixed(4, 0xffffffff, readU32le, putU32le),
  i32le: fixed(4, 0x7fffffff, (b, p, end) => readU32le(b, p, end), putU32le, true),
  u64be: fixed(
    8,
    Number.MAX_SAFE_INTEGER,
    (b, p, end) =>
      end - p < 8
        ? -1
        : (b[p] * 0x1000000 + ((b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3])) * TWO_32 +
          b[p + 4] * 0x1000000 + ((b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]),
    (b, p, v) => {
      const hi = Math.floor(v / TWO_32);
      b[p] = 0;
      b[p + 1] = 0;
      b[p + 2] = (hi >>> 8) & 0xff;
      b[p + 3] = hi & 0xff;
      const lo = v >>> 0;
      b[p + 4] = lo >>> 24;
      b[p + 5] = (lo >>> 16) & 0xff;
      b[p + 6] = (lo >>> 8) & 0xff;
      b[p + 7] = lo & 0xff;
      return p + 8;
    },
  ),
  varint: Object.freeze({
    size: 0,
    max: Number.MAX_SAFE_INTEGER,
    signed: false,
    read: readVarint,
    write(b: Uint8Array, p: number, v: number) {
      while (v >= 0x80) {
        b[p++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      b[p++] = v;
      return p;
    },
  }),
});

/** Unsigned LEB128: at most 10 bytes, minimal encoding. */
function readVarint(buf: Uint8Array, pos: number, end: number, limit: number): number {
  let value = 0;
  let scale = 1;
  for (let p = pos; p < end;) {
    const byte = buf[p++];
    if (p - pos === 10 && byte > 1) {
      throw new CorruptFrameError(`varint length longer than 64 bits (bytes ${hex(buf, pos, p)})`, {
        headerBytes: buf.slice(pos, p),
      });
    }
    value += (byte & 0x7f) * scale;
    scale *= 0x80;
    if (byte < 0x80) {
      if (byte === 0 && p - pos > 1) {
        throw new CorruptFrameError(
          `overlong (non-minimal) varint length (bytes ${hex(buf, pos, p)})`,
          { headerBytes: buf.slice(pos, p) },
        );
      }
      return value;
    }
    if (value > limit) return value;
  }
  return -1;
}

/** Bytes a field of `format` takes for `value`. */
export function fieldLength(field: LengthField, value: number): number {
  if (field.size !== 0) return field.size;
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/** Up to 12 bytes as hex, for error messages. */
export function hex(buf: Uint8Array, from: number, to: number): string {
  const parts: string[] = [];
  for (let i = from; i < to && i < from + 12; i++) parts.push(buf[i].toString(16).padStart(2, "0"));
  return parts.join(" ") + (to - from > 12 ? " …" : "");
}
