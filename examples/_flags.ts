// Copyright 2025 the sockkit authors. MIT license.
/**
 * Command-line value parsers shared by the example programs: `HOST:PORT`, numbers with a range,
 * `A..B` ranges. Each throws a {@linkcode UsageError} naming the flag, for the program to print
 * with its usage and exit 2.
 *
 * @module
 */

/** A bad command line: print the message and the usage, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Parses `HOST:PORT` (`[::1]:PORT` for IPv6).
 *
 * @example Usage
 * ```ts
 * import { parseHostPort } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseHostPort("--listen", "127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
 * assert.deepEqual(parseHostPort("--target", "[::1]:9527"), { hostname: "::1", port: 9527 });
 * assert.throws(() => parseHostPort("--target", "9527"));
 * ```
 */
export function parseHostPort(flag: string, text: string): { hostname: string; port: number } {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw new UsageError(`${flag} must be HOST:PORT, got "${text}"`);
  return { hostname: match[1] ?? match[2], port };
}

/**
 * Parses a number from `min` to `max`.
 *
 * @example Usage
 * ```ts
 * import { parseNumber } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(parseNumber("--loss", "0.25", 0, 1), 0.25);
 * assert.throws(() => parseNumber("--loss", "2", 0, 1));
 * assert.throws(() => parseNumber("--loss", "lots", 0, 1));
 * ```
 */
export function parseNumber(flag: string, text: string, min = 0, max = Infinity): number {
  const value = text.trim() === "" ? NaN : Number(text);
  if (!(value >= min && value <= max)) {
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/**
 * Parses `A..B` (or one number `A`, meaning `A..A`) as two integers ≥ 1 with A ≤ B.
 *
 * @example Usage
 * ```ts
 * import { parseRange } from "./_flags.ts";
 * import assert from "node:assert/strict";
 *
 * assert.deepEqual(parseRange("--slice", "1..7"), [1, 7]);
 * assert.deepEqual(parseRange("--slice", "4"), [4, 4]);
 * assert.throws(() => parseRange("--slice", "7..1"));
 * ```
 */
export function parseRange(flag: string, text: string): [number, number] {
  const match = /^(\d+)(?:\.\.(\d+))?$/.exec(text);
  const a = match ? Number(match[1]) : NaN, b = match ? Number(match[2] ?? match[1]) : NaN;
  if (!(a >= 1 && b >= a && Number.isSafeInteger(b))) {
    throw new UsageError(`${flag} must be A..B with 1 ≤ A ≤ B, got "${text}"`);
  }
  return [a, b];
}
