// Copyright 2025 the sockkit authors. MIT license.
/**
 * What every lesson shares: the verdict it ends with, how it prints, how it runs as a program,
 * and a few socket chores (a connected TCP pair on loopback, reading a stream to the end while
 * recording the read sizes). The lessons stay one idea each; the chores live here.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** The one-line result of a lesson. */
export interface Verdict {
  /** The tutorial's claim, in a few words. */
  claim: string;
  /** The claim's letter, `"a"` to `"n"` (later lessons continue the alphabet). */
  id: string;
  /** Whether the claim happened as the tutorial says, here and now. */
  reproduced: boolean;
  /** The numbers behind the verdict. */
  summary: string;
  /** The measurements, for programs that want more than the summary. */
  data?: unknown;
}

/** What a lesson's `run()` accepts. */
export interface LessonOptions {
  /**
   * Where the lesson's story goes, line by line.
   *
   * @default {nothing: the story is not printed}
   */
  log?: (line: string) => void;
}

/** A lesson module, as the runner sees it. */
export interface Lesson {
  run(options?: LessonOptions): Promise<Verdict>;
}

/** Formats a verdict as the one line `deno task lessons` prints for it. */
export function verdictLine(verdict: Verdict): string {
  const mark = verdict.reproduced ? "reproduced    " : "NOT reproduced";
  return `(${verdict.id}) ${mark} ${verdict.claim}: ${verdict.summary}`;
}

/** Runs a lesson as a program: prints its story and its verdict; exit code 1 if not reproduced. */
export async function main(lesson: Lesson): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: { json: { type: "boolean", default: false }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log("Runs one lesson and prints what happened. Options: --json (the verdict as data)");
    return;
  }
  const verdict = await lesson.run({ log: values.json ? undefined : (line) => console.log(line) });
  console.log(values.json ? JSON.stringify(verdict, null, 2) : "\n" + verdictLine(verdict));
  if (!verdict.reproduced) Deno.exitCode = 1;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A client and the server's side of one TCP connection on 127.0.0.1. */
export interface TcpPair extends AsyncDisposable {
  client: Deno.TcpConn;
  server: Deno.TcpConn;
}

/**
 * Connects a client to a fresh listener on 127.0.0.1 and returns both ends.
 * `connectTo` lets the client go through a relay in front of the listener.
 */
export async function tcpPair(
  connectTo?: (server: Deno.NetAddr) => Promise<Deno.NetAddr> | Deno.NetAddr,
): Promise<TcpPair> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const target = connectTo ? await connectTo(listener.addr) : listener.addr;
    const [client, server] = await Promise.all([
      Deno.connect({ hostname: target.hostname, port: target.port }),
      listener.accept(),
    ]);
    return {
      client,
      server,
      [Symbol.asyncDispose]() {
        for (const conn of [client, server]) {
          try {
            conn.close();
          } catch { /* already closed */ }
        }
        return Promise.resolve();
      },
    };
  } finally {
    listener.close();
  }
}

/**
 * Reads `conn` like Python's `recv(bufferSize)` until `total` bytes came (or the stream ended)
 * and returns the size of every read.
 */
export async function readSizes(
  conn: Deno.Conn,
  total: number,
  bufferSize = 65_536,
): Promise<number[]> {
  const buffer = new Uint8Array(bufferSize);
  const sizes: number[] = [];
  for (let got = 0; got < total;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    sizes.push(n);
    got += n;
  }
  return sizes;
}

/** Reads once (`recv(bufferSize)`) and decodes the bytes as text; `""` at the end of the stream. */
export async function recvText(conn: Deno.Conn, bufferSize: number): Promise<string> {
  const buffer = new Uint8Array(bufferSize);
  const n = await conn.read(buffer);
  return n === null ? "" : new TextDecoder().decode(buffer.subarray(0, n));
}

/** Formats milliseconds with two significant decimals. */
export function ms(value: number): string {
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
}

/** The median of some numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Reads exactly `length` bytes (Python's loop of `recv` until the count is reached). */
export async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  for (let got = 0; got < length;) {
    const n = await conn.read(out.subarray(got));
    if (n === null) {
      throw new Deno.errors.UnexpectedEof(`stream ended after ${got} of ${length} bytes`);
    }
    got += n;
  }
  return out;
}
