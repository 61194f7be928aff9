/**
 * Running a command in its own process group, with a wall-clock timeout that stops the whole
 * group (SIGTERM, then SIGKILL after a grace period), an output cap, and output streamed to
 * callbacks as it is produced.
 *
 * @module
 */

import { checkSearchPath, commandEnv, resolveProgram, SAFE_PATH } from "./command_env.ts";

/** Settings of {@linkcode runProcessGroup}. */
export interface ProcessGroupOptions {
  /**
   * The working directory.
   *
   * @default {undefined} (the current one)
   */
  cwd?: string;
  /**
   * The command's whole environment: nothing else is inherited. Its `PATH` (the search path for
   * `argv[0]`) must hold absolute directories only.
   *
   * @default {commandEnv()} (`PATH` = {@linkcode SAFE_PATH} and the variables of
   *   {@linkcode COMMAND_ENV_ALLOW} that are set)
   */
  env?: Record<string, string>;
  /**
   * Wall-clock limit in milliseconds; then the group gets SIGTERM. 0 means none.
   *
   * @default {0}
   */
  timeout?: number;
  /**
   * Milliseconds between SIGTERM and SIGKILL to the group.
   *
   * @default {2000}
   */
  killGrace?: number;
  /**
   * The most bytes of stdout plus stderr passed on; past it the output is cut, `truncated` is
   * set and the group is stopped.
   *
   * @default {Infinity}
   */
  maxOutput?: number;
  /**
   * Called with each stdout chunk as it arrives; awaited (a slow consumer slows the command down
   * instead of buffering its output).
   *
   * @default {undefined} (discarded)
   */
  onStdout?: (chunk: Uint8Array) => void | Promise<void>;
  /**
   * Called with each stderr chunk as it arrives; awaited.
   *
   * @default {undefined} (discarded)
   */
  onStderr?: (chunk: Uint8Array) => void | Promise<void>;
  /**
   * Stops the group (SIGTERM, then SIGKILL) when aborted.
   *
   * @default {undefined}
   */
  signal?: AbortSignal;
  /**
   * Called once the process is running, with its pid (also its process group id).
   *
   * @default {undefined}
   */
  onSpawn?: (pid: number) => void;
}

/** How a command ended. */
export interface ProcessResult {
  /** The exit code, or `null` when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or `null`. */
  signal: Deno.Signal | null;
  /** Whether the timeout stopped it. */
  timedOut: boolean;
  /** Whether the output went over the cap (and was cut). */
  truncated: boolean;
  /** Whether the abort signal stopped it. */
  aborted: boolean;
  /** Bytes of stdout and stderr passed on. */
  outputBytes: number;
  /** Wall-clock run time in milliseconds. */
  durationMs: number;
  /** The pid, which is also the process group id. */
  pid: number;
}

const SIGNAL_NUMBERS: Partial<Record<Deno.Signal, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};

/**
 * The exit status a shell would report: 124 after a timeout (as `timeout(1)`), 128 + the signal's
 * number when a signal ended the command, else the exit code.
 *
 * @param result How the command ended.
 * @returns The status, 0 to 255.
 *
 * @example
 * ```ts
 * import { exitStatusOf } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * assert.equal(exitStatusOf({ code: 3, signal: null, timedOut: false }), 3);
 * assert.equal(exitStatusOf({ code: null, signal: "SIGKILL", timedOut: false }), 137);
 * assert.equal(exitStatusOf({ code: null, signal: "SIGTERM", timedOut: true }), 124);
 * ```
 */
export function exitStatusOf(
  result: { code: number | null; signal: string | null; timedOut: boolean },
): number {
  if (result.timedOut) return 124;
  if (result.signal !== null) {
    return 128 + (SIGNAL_NUMBERS[result.signal as Deno.Signal] ?? 0);
  }
  return result.code ?? 1;
}

function killGroup(pid: number, signal: Deno.Signal): void {
  try {
    Deno.kill(-pid, signal);
  } catch (error) {
    // ESRCH: the group is gone already.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

function checkMs(name: string, value: number, allowInfinity: boolean): void {
  if (
    typeof value !== "number" || Number.isNaN(value) || value < 0 ||
    (!allowInfinity && !Number.isFinite(value))
  ) {
    throw new RangeError(`${name} must be a number ≥ 0, got ${value}`);
  }
}

const setsidPaths = new Map<string, string>();

/** util-linux `setsid`, found once per search path. */
function setsidIn(path: string): string {
  let found = setsidPaths.get(path);
  if (found === undefined) {
    found = resolveProgram("setsid", path);
    setsidPaths.set(path, found);
  }
  return found;
}

/**
 * Runs a command (argv, no shell) in a new session and process group (via util-linux `setsid`,
 * which execs the command in place, so its pid is the group's id), with a cleared environment
 * (only `env`, by default {@linkcode commandEnv}: a safe `PATH` and a short allow-list). The timeout, the output cap
 * and the abort signal stop the whole group: SIGTERM, then SIGKILL after `killGrace`, so
 * children that ignore SIGTERM and grandchildren die too. When the command exits, what is left of
 * its group is killed. A command that cannot be found ends with code 127 and a message on stderr.
 *
 * Requires `allow-run` permission (for `setsid`), `allow-read` (to find it) and `allow-env`
 * (for the default environment).
 *
 * @param argv The program and its arguments.
 * @param options Limits and output callbacks.
 * @returns How the command ended.
 * @throws {RangeError} On an empty argv or a bad limit.
 *
 * @example Streaming output and the exit code
 * ```ts
 * import { runProcessGroup } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * const chunks: Uint8Array[] = [];
 * const result = await runProcessGroup(["sh", "-c", "echo hi; exit 3"], {
 *   onStdout: (chunk) => void chunks.push(chunk),
 * });
 * assert.equal(result.code, 3);
 * assert.equal(new TextDecoder().decode(chunks[0]), "hi\n");
 * ```
 *
 * @example A timeout stops a child that ignores SIGTERM
 * ```ts
 * import { runProcessGroup } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * const result = await runProcessGroup(["sh", "-c", "trap '' TERM; sleep 10"], {
 *   timeout: 100,
 *   killGrace: 100,
 * });
 * assert.ok(result.timedOut);
 * assert.equal(result.signal, "SIGKILL");
 * ```
 * @example The environment is cleared
 * ```ts
 * import { runProcessGroup } from "@sockkit/sockkit/exec";
 * import assert from "node:assert/strict";
 *
 * Deno.env.set("MY_DB_PASSWORD", "hunter2");
 * let out = "";
 * await runProcessGroup(["sh", "-c", 'echo "[$MY_DB_PASSWORD]"'], {
 *   onStdout: (chunk) => void (out += new TextDecoder().decode(chunk)),
 * });
 * assert.equal(out, "[]\n");
 * Deno.env.delete("MY_DB_PASSWORD");
 * ```
 * @tags allow-run, allow-read, allow-env
 */
export async function runProcessGroup(
  argv: readonly string[],
  options: ProcessGroupOptions = {},
): Promise<ProcessResult> {
  if (!Array.isArray(argv) || argv.length === 0 || argv.some((a) => typeof a !== "string")) {
    throw new RangeError("argv must be a non-empty array of strings");
  }
  if (argv[0] === "") throw new RangeError("argv[0] must not be empty");
  const timeout = options.timeout ?? 0;
  const killGrace = options.killGrace ?? 2000;
  const maxOutput = options.maxOutput ?? Infinity;
  checkMs("timeout", timeout, false);
  checkMs("killGrace", killGrace, false);
  checkMs("maxOutput", maxOutput, true);
  const env = options.env ?? commandEnv();
  if (env === null || typeof env !== "object") throw new TypeError("env must be an object");
  const path = env.PATH ?? SAFE_PATH;
  checkSearchPath(path);
  const setsid = setsidIn(path);
  options.signal?.throwIfAborted();

  const started = performance.now();
  const child = new Deno.Command(setsid, {
    args: [...argv],
    cwd: options.cwd,
    clearEnv: true,
    env: { ...env, PATH: path },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pid = child.pid;
  options.onSpawn?.(pid);

  let timedOut = false;
  let truncated = false;
  let aborted = false;
  let outputBytes = 0;
  let stopping = false;
  let killTimer: ReturnType<typeof setTimeout> | undefined;
  let exited = false;
  let sinkError: unknown;

  const stop = () => {
    if (stopping || exited) return;
    stopping = true;
    killGroup(pid, "SIGTERM");
    killTimer = setTimeout(() => killGroup(pid, "SIGKILL"), killGrace);
  };
  const timeoutTimer = timeout > 0
    ? setTimeout(() => {
      timedOut = true;
      stop();
    }, timeout)
    : undefined;
  const onAbort = () => {
    aborted = true;
    stop();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });

  type Pump = {
    done: Promise<void>;
    reader: ReadableStreamDefaultReader<Uint8Array>;
    readSince: number;
  };
  const pump = (
    stream: ReadableStream<Uint8Array>,
    sink: ((chunk: Uint8Array) => void | Promise<void>) | undefined,
  ): Pump => {
    const reader = stream.getReader();
    const state: Pump = { reader, readSince: 0, done: Promise.resolve() };
    state.done = (async () => {
      for (;;) {
        state.readSince = performance.now();
        const { value, done } = await reader.read();
        state.readSince = 0;
        if (done) return;
        if (truncated || sinkError !== undefined) continue; // drain, discard
        let chunk = value;
        if (outputBytes + chunk.length > maxOutput) {
          chunk = chunk.subarray(0, maxOutput - outputBytes);
          truncated = true;
          stop();
        }
        outputBytes += chunk.length;
        if (chunk.length > 0 && sink !== undefined) {
          try {
            await sink(chunk);
          } catch (error) {
            // The consumer is gone: stop the command, keep draining.
            sinkError ??= error;
            stop();
          }
        }
      }
    })();
    return state;
  };
  const pumps = [pump(child.stdout, options.onStdout), pump(child.stderr, options.onStderr)];

  let status: Deno.CommandStatus;
  let watchdog: ReturnType<typeof setInterval> | undefined;
  try {
    status = await child.status;
    exited = true;
    // Kill what is left of the group (background children), then drain the pipes. A process
    // that left the group and keeps a pipe open is cut off after the grace period.
    killGroup(pid, "SIGKILL");
    watchdog = setInterval(() => {
      const now = performance.now();
      for (const p of pumps) {
        if (p.readSince !== 0 && now - p.readSince > killGrace) p.reader.cancel().catch(() => {});
      }
    }, Math.min(100, Math.max(10, killGrace)));
    await Promise.all(pumps.map((p) => p.done));
  } finally {
    clearTimeout(timeoutTimer);
    clearTimeout(killTimer);
    clearInterval(watchdog);
    options.signal?.removeEventListener("abort", onAbort);
  }
  if (sinkError !== undefined) throw sinkError;
  return {
    code: status.signal === null ? status.code : null,
    signal: status.signal,
    timedOut,
    truncated,
    aborted,
    outputBytes,
    durationMs: performance.now() - started,
    pid,
  };
}
