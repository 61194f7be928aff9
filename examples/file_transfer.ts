/**
 * Sends and receives files over TCP: the tutorial's big-file transfer, made safe.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write --allow-sys=statfs \
 *   --allow-env=NO_COLOR examples/file_transfer.ts receive --listen 127.0.0.1:9527 --dir ./inbox
 * deno run --allow-net=127.0.0.1 --allow-read examples/file_transfer.ts \
 *   send big.iso notes.txt --connect 127.0.0.1:9527
 * ```
 *
 * Either side may listen or connect. Exit codes: 0 every file done, 1 a transfer failed, 2 usage
 * error. Run with `--help` for the options.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { connectFramed, type FramedConn, listenFramed } from "../tcp/mod.ts";
import {
  escapeFileName,
  type FileProgress,
  type FileTransferResult,
  type FileWire,
  receiveFiles,
  sendFiles,
} from "../tcp/transfer/mod.ts";

/** Every message of this program starts with its name. */
const PROGRAM = "file_transfer";

function say(message: string): void {
  console.error(`${PROGRAM}: ${message}`);
}

const USAGE = `Usage:
  file_transfer.ts send FILE... (--listen HOST:PORT | --connect HOST:PORT) [options]
  file_transfer.ts receive (--listen HOST:PORT | --connect HOST:PORT) [--dir DIR] [--overwrite] [options]

Either side may listen or connect; a listener takes one connection. With --listen and port 0
the chosen port is printed on stderr ("listening on HOST:PORT").

Options:
  --wire sockkit|seed  sockkit (default): several files per connection, SHA-256 verified,
                       acknowledged and resumable. seed: the tutorial's exact layout
                       (int32 little-endian length, JSON {"filename","filesize"}, bytes, close):
                       one file, no hash, no acknowledgement; talks to the tutorial's Python code.
  --dir DIR            receive into DIR (default: the current directory); it must exist
  --overwrite          replace a file that already exists (default: refuse it)
  --no-resume          receive: discard partial data of an interrupted transfer
  --timeout SECONDS    fail after this long without progress on the connection, either way
                       (default 30; 0: no limit)
  --progress           draw the progress bar even when stderr is not a terminal
  --quiet              print nothing but errors
  -h, --help           show this help

Exit codes: 0 every file done, 1 a transfer failed, 2 usage error, 130 / 143 stopped by
SIGINT / SIGTERM (a receiver keeps the partial data: run the same transfer again to resume).
`;

/** Exit code: every file transferred. */
export const EXIT_OK = 0;
/** Exit code: a transfer failed (refused, corrupt, interrupted, cannot connect). */
export const EXIT_FAILED = 1;
/** Exit code: bad command line. */
export const EXIT_USAGE = 2;
/** Exit code for a signal: 128 + its number (SIGINT 130, SIGTERM 143), as shells report it. */
export const EXIT_SIGNAL: Readonly<Record<"SIGINT" | "SIGTERM", number>> = Object.freeze({
  SIGINT: 130,
  SIGTERM: 143,
});

class UsageError extends Error {}

interface Endpoint {
  hostname: string;
  port: number;
}

function parseEndpoint(flag: string, value: string): Endpoint {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  if (!match) throw new UsageError(`${flag} needs HOST:PORT, got "${value}"`);
  const port = Number(match[3]);
  if (port > 65535) {
    throw new UsageError(`${flag} ${value}: port out of range (0 to 65535), got ${match[3]}`);
  }
  return { hostname: match[1] ?? match[2], port };
}

function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "-- B";
  if (n < 1000) return `${Math.round(n)} B`;
  const units = ["kB", "MB", "GB", "TB"];
  let value = n;
  let unit = "B";
  for (const u of units) {
    if (value < 1000) break;
    value /= 1000;
    unit = u;
  }
  return `${value.toFixed(value < 10 ? 2 : value < 100 ? 1 : 0)} ${unit}`;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "--:--";
  const s = Math.round(seconds);
  const mm = String(Math.floor(s / 60) % 60).padStart(2, "0");
  const ss = String(s % 60).padStart(2, "0");
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** A one-line progress bar on stderr: bytes, percent, rate, ETA. */
class ProgressBar {
  #color: boolean;
  #last = 0;
  #start = 0;
  #name = "";
  #phase = "";
  #startBytes = 0;
  #drawn = false;

  constructor(color: boolean) {
    this.#color = color;
  }

  update(p: FileProgress): void {
    const now = performance.now();
    if (p.name !== this.#name || p.phase !== this.#phase) {
      this.#name = p.name;
      this.#phase = p.phase;
      this.#start = now;
      this.#startBytes = p.phase === "hashing" ? 0 : p.offset;
    } else if (now - this.#last < 100 && p.done < p.total) {
      return;
    }
    this.#last = now;
    const fraction = p.total === 0 ? 1 : p.done / p.total;
    const elapsed = (now - this.#start) / 1000;
    const rate = elapsed > 0 ? (p.done - this.#startBytes) / elapsed : 0;
    const eta = rate > 0 ? (p.total - p.done) / rate : Infinity;
    const width = 24;
    const filled = Math.round(fraction * width);
    let bar = "#".repeat(filled) + "-".repeat(width - filled);
    if (this.#color) {
      bar = `\x1b[36m${"#".repeat(filled)}\x1b[2m${"-".repeat(width - filled)}\x1b[0m`;
    }
    const line = `${p.phase === "hashing" ? "hashing" : p.phase === "sending" ? "send" : "recv"} ${
      escapeFileName(p.name)
    } [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${formatBytes(p.done)}/${
      formatBytes(p.total)
    } ${formatBytes(rate)}/s ETA ${formatDuration(eta)}`;
    Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[2K${line}`));
    this.#drawn = true;
  }

  clear(): void {
    if (this.#drawn) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[2K"));
    this.#drawn = false;
  }
}

/**
 * Listens for one connection, or connects. Either ends early, with `null`, when `stop` fires
 * (a signal): the listener is closed, a pending connect given up.
 */
async function connectOrAccept(
  listen: Endpoint | undefined,
  connect: Endpoint | undefined,
  quiet: boolean,
  timeoutMs: number,
  stop: AbortSignal,
): Promise<FramedConn | null> {
  const deadlines = { idleTimeout: timeoutMs, writeTimeout: timeoutMs };
  if (listen !== undefined) {
    await using listener = listenFramed({ ...listen, ...deadlines, signal: stop });
    const addr = listener.addr;
    const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
    if (!quiet) say(`listening on ${host}:${addr.port}`);
    return await listener.accept();
  }
  try {
    return await connectFramed({
      ...connect!,
      ...deadlines,
      connectTimeout: timeoutMs,
      signal: stop,
    });
  } catch (error) {
    if (stop.aborted) return null;
    throw error;
  }
}

/** Whether an environment variable may be read (without prompting). */
function envGranted(variable: string): boolean {
  return Deno.permissions.querySync({ name: "env", variable }).state === "granted";
}

/** Advice of this tool for a failure code (the library's messages name no flags). */
const HINTS: Partial<Record<string, string>> = {
  exists: " (use --overwrite to replace it)",
  busy: " (wait for the other receive, or use another --dir)",
};

function report(
  results: FileTransferResult[],
  command: "send" | "receive",
  wire: FileWire,
  quiet: boolean,
): boolean {
  let ok = true;
  for (const r of results) {
    if (r.ok) {
      if (quiet) continue;
      const resumed = r.resumedFrom > 0 ? `, resumed at ${r.resumedFrom}` : "";
      const sha = r.sha256 ? ` sha256 ${r.sha256}` : "";
      if (command === "receive") {
        console.log(
          `received ${escapeFileName(r.name)} -> ${
            escapeFileName(r.path)
          } ${r.size} bytes${sha}${resumed}`,
        );
      } else if (r.acknowledged) {
        console.log(`sent ${escapeFileName(r.name)} ${r.size} bytes${sha}${resumed}`);
      } else {
        console.log(
          `wrote ${escapeFileName(r.name)} ${r.size} bytes to the connection (the ${wire} wire ` +
            "has no acknowledgement: whether the receiver kept it is unknown)",
        );
      }
    } else {
      ok = false;
      const name = r.name === "" ? "" : ` ${escapeFileName(r.name)}`;
      const code = r.error?.code ?? "io";
      say(`failed${name}: ${code}: ${r.error?.message}${HINTS[code] ?? ""}`);
    }
  }
  return ok;
}

/** The files to send, checked before any connection is made. */
async function checkSources(files: string[]): Promise<string | undefined> {
  for (const file of files) {
    try {
      const info = await Deno.stat(file);
      if (!info.isFile) return `${escapeFileName(file)}: not a regular file`;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return `${escapeFileName(file)}: no such file`;
      return `${escapeFileName(file)}: ${(error as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Runs the command line.
 *
 * @param args The arguments (without the program name).
 * @returns The exit code.
 */
export async function main(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        listen: { type: "string" },
        connect: { type: "string" },
        wire: { type: "string", default: "sockkit" },
        dir: { type: "string", default: "." },
        overwrite: { type: "boolean", default: false },
        "no-resume": { type: "boolean", default: false },
        timeout: { type: "string", default: "30" },
        progress: { type: "boolean", default: false },
        quiet: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    say(`${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return EXIT_OK;
  }
  let command: "send" | "receive";
  let listen: Endpoint | undefined;
  let connect: Endpoint | undefined;
  let timeoutMs: number;
  const files = positionals.slice(1);
  try {
    const given = positionals[0];
    if (given !== "send" && given !== "receive") {
      throw new UsageError(given === undefined ? "missing command" : `unknown command "${given}"`);
    }
    command = given;
    if ((values.listen === undefined) === (values.connect === undefined)) {
      throw new UsageError("give exactly one of --listen HOST:PORT and --connect HOST:PORT");
    }
    if (values.listen !== undefined) listen = parseEndpoint("--listen", values.listen);
    if (values.connect !== undefined) connect = parseEndpoint("--connect", values.connect);
    if (values.wire !== "sockkit" && values.wire !== "seed") {
      throw new UsageError(`--wire must be sockkit or seed, got "${values.wire}"`);
    }
    if (values.progress && values.quiet) throw new UsageError("--progress and --quiet conflict");
    const seconds = Number(values.timeout);
    if (!(seconds >= 0) || !Number.isFinite(seconds)) {
      throw new UsageError(`--timeout needs a number of seconds, got "${values.timeout}"`);
    }
    timeoutMs = seconds === 0 ? Infinity : seconds * 1000;
    if (command === "send") {
      if (files.length === 0) throw new UsageError("send needs at least one FILE");
      if (values.wire === "seed" && files.length > 1) {
        throw new UsageError("--wire seed carries one file per connection; use --wire sockkit");
      }
      if (values.overwrite || values["no-resume"] || values.dir !== ".") {
        throw new UsageError("--dir, --overwrite and --no-resume are options of receive");
      }
    } else if (files.length > 0) {
      throw new UsageError(`receive takes no FILE arguments (got ${files.length})`);
    }
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    say(`${error.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (command === "receive") {
    try {
      if (!(await Deno.stat(values.dir)).isDirectory) throw new Error("not a directory");
    } catch (error) {
      say(`--dir ${escapeFileName(values.dir)}: ${(error as Error).message}`);
      return EXIT_USAGE;
    }
  } else {
    const problem = await checkSources(files);
    if (problem !== undefined) {
      say(`${problem}: nothing sent`);
      return EXIT_FAILED;
    }
  }
  return await run(command, files, values, listen, connect, timeoutMs);
}

interface Flags {
  wire: string;
  dir: string;
  overwrite: boolean;
  "no-resume": boolean;
  progress: boolean;
  quiet: boolean;
}

async function run(
  command: "send" | "receive",
  files: string[],
  values: Flags,
  listen: Endpoint | undefined,
  connect: Endpoint | undefined,
  timeoutMs: number,
): Promise<number> {
  const quiet = values.quiet;
  const wire = values.wire as FileWire;
  const showBar = !quiet && (values.progress || Deno.stderr.isTerminal());
  const noColor = envGranted("NO_COLOR") && (Deno.env.get("NO_COLOR") ?? "") !== "";
  const bar = showBar ? new ProgressBar(Deno.stderr.isTerminal() && !noColor) : undefined;
  const onProgress = bar ? (p: FileProgress) => bar.update(p) : undefined;
  // A signal stops everything at once: the listener, a connect, the transfer (a receiver keeps
  // its partial data, synced, and releases its lock before the exit).
  const controller = new AbortController();
  let caught: "SIGINT" | "SIGTERM" | undefined;
  const handlers =
    (Deno.build.os === "windows" ? ["SIGINT"] as const : ["SIGINT", "SIGTERM"] as const)
      .map((signal) => {
        const handler = () => {
          caught ??= signal;
          controller.abort();
        };
        Deno.addSignalListener(signal, handler);
        return [signal, handler] as const;
      });
  let conn: FramedConn | null = null;
  try {
    try {
      conn = await connectOrAccept(listen, connect, quiet, timeoutMs, controller.signal);
    } catch (error) {
      say(`cannot connect: ${(error as Error).message}`);
      return EXIT_FAILED;
    }
    if (conn === null) {
      say(`stopped by ${caught ?? "a signal"} before a connection was made`);
      return caught ? EXIT_SIGNAL[caught] : EXIT_FAILED;
    }
    const started = performance.now();
    const common = { wire, signal: controller.signal, onProgress };
    const results = command === "send"
      ? await sendFiles(conn, files, common)
      : await receiveFiles(conn, {
        ...common,
        dir: values.dir,
        overwrite: values.overwrite,
        resume: !values["no-resume"],
      });
    bar?.clear();
    const ok = report(results, command, wire, quiet);
    if (!quiet) {
      const seconds = (performance.now() - started) / 1000;
      const bytes = results.reduce((n, r) => n + r.transferred, 0);
      const good = results.filter((r) => r.ok).length;
      const verb = command === "receive" ? "received" : wire === "seed" ? "written" : "sent";
      say(
        `${good} of ${results.length} file(s) ${verb}, ${formatBytes(bytes)} in ${
          seconds.toFixed(2)
        } s (${formatBytes(seconds > 0 ? bytes / seconds : NaN)}/s)`,
      );
    }
    if (caught !== undefined) {
      say(`stopped by ${caught}${command === "receive" ? "; run it again to resume" : ""}`);
      return EXIT_SIGNAL[caught];
    }
    return ok ? EXIT_OK : EXIT_FAILED;
  } finally {
    bar?.clear();
    for (const [signal, handler] of handlers) Deno.removeSignalListener(signal, handler);
    if (caught !== undefined) conn?.abort();
    else await conn?.close();
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
