/**
 * The remote-command tool's flag parsers and terminal helpers (see `remote_exec.ts`).
 *
 * @module
 */

export class UsageError extends Error {}

export function parseHostPort(
  text: string | undefined,
  what: string,
): { hostname: string; port: number } {
  if (text === undefined) throw new UsageError(`${what} is required`);
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  if (m === null) {
    throw new UsageError(`${what}: expected [HOST:]PORT, got ${JSON.stringify(text)}`);
  }
  const port = Number(m[3]);
  if (port > 65535) throw new UsageError(`${what}: port out of range: ${port}`);
  return { hostname: m[1] || m[2] || "127.0.0.1", port };
}

/** Parses `10s`, `500ms`, `2m`, or plain seconds; returns milliseconds. */
export function parseDuration(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (m === null) {
    throw new UsageError(`${what}: expected a duration like 10s or 500ms, got ${text}`);
  }
  const n = Number(m[1]);
  return Math.round(m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000);
}

/** Parses `16MiB`, `512KiB`, `1GiB`, `1000` (bytes). */
export function parseSize(text: string, what: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB|KB|MB|GB|k|K|M|G)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`${what}: expected a size like 16MiB, got ${text}`);
  const unit: Record<string, number> = {
    B: 1,
    KiB: 1024,
    MiB: 1024 ** 2,
    GiB: 1024 ** 3,
    KB: 1000,
    MB: 1e6,
    GB: 1e9,
    k: 1024,
    K: 1024,
    M: 1024 ** 2,
    G: 1024 ** 3,
  };
  return Math.floor(Number(m[1]) * unit[m[2] ?? "B"]);
}

export function parseCount(text: string, what: string): number {
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${what}: expected a positive integer, got ${text}`);
  }
  return Number(text);
}

export function makeDecoder(encoding: string | undefined): TextDecoder | undefined {
  if (encoding === undefined) return undefined;
  try {
    return new TextDecoder(encoding); // RangeError for an unknown label
  } catch {
    throw new UsageError(`unknown encoding: ${encoding}`);
  }
}

export const encoder = new TextEncoder();

/**
 * Splits a command line into words: whitespace separates, '…' and "…" quote, \ escapes.
 * No variables, globs or operators: there is no shell.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && i + 1 < line.length) word += line[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= "";
    } else if (c === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (quote !== undefined) throw new UsageError(`unclosed ${quote} quote`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Lines of stdin, one at a time (stdin is read only as far as needed). */
export async function* stdinLines(): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffered = "";
  const buf = new Uint8Array(4096);
  for (;;) {
    const nl = buffered.indexOf("\n");
    if (nl >= 0) {
      yield buffered.slice(0, nl).replace(/\r$/, "");
      buffered = buffered.slice(nl + 1);
      continue;
    }
    const n = await Deno.stdin.read(buf);
    if (n === null) {
      buffered += decoder.decode();
      if (buffered !== "") yield buffered;
      return;
    }
    buffered += decoder.decode(buf.subarray(0, n), { stream: true });
  }
}
