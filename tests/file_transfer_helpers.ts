/**
 * Helpers of the file-transfer tests: temporary directories, a TCP relay that can stop, pause or
 * corrupt the stream, and the CLI run as a subprocess.
 *
 * @module
 */

import { writeAll } from "../tcp/mod.ts";

/** The CLI under test. */
export const CLI: string = new URL("../examples/file_transfer.ts", import.meta.url).pathname;

/** Deterministic pseudo-random bytes (xorshift32), so a failure can be reproduced. */
export function randomBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Names in a directory, sorted (hidden ones included). */
export async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Options of {@linkcode startRelay}. */
export interface RelayOptions {
  /** Where to forward. */
  upstream: Deno.NetAddr;
  /** Close both sides after forwarding this many client→upstream bytes. */
  cutAfter?: number;
  /** Stop forwarding (but keep both sides open) after this many client→upstream bytes. */
  pauseAfter?: number;
  /** Flip the bits of the client→upstream byte at this position. */
  flipAt?: number;
}

/** A relay between a client and an upstream server, for one connection. */
export interface Relay extends AsyncDisposable {
  /** Where clients connect. */
  addr: Deno.NetAddr;
  /** Resolves when `pauseAfter` bytes went through and forwarding stopped. */
  paused: Promise<void>;
  /** Client→upstream bytes forwarded so far. */
  forwarded(): number;
  /** Resolves when both directions ended. */
  done: Promise<void>;
}

/** Starts a one-connection relay on 127.0.0.1 port 0. */
export function startRelay(options: RelayOptions): Relay {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let forwarded = 0;
  let markPaused!: () => void;
  const paused = new Promise<void>((resolve) => markPaused = resolve);
  let client: Deno.Conn | undefined;
  let upstream: Deno.Conn | undefined;
  const closeAll = () => {
    for (const c of [client, upstream]) {
      try {
        c?.close();
      } catch {
        // already closed
      }
    }
  };
  // When the client side ends (or is cut), the upstream gets a clean end of stream after every
  // forwarded byte, and what the upstream still says is read to its end (dropped once the client
  // is gone): closing a socket with unread bytes would reset the upstream, and a reset throws
  // away bytes it had received but not yet read.
  const forwardPump = async (from: Deno.Conn, to: Deno.Conn): Promise<void> => {
    try {
      for (;;) {
        const buffer = new Uint8Array(64 * 1024);
        const n = await from.read(buffer);
        if (n === null) break;
        let chunk = buffer.subarray(0, n);
        const limit = options.cutAfter ?? options.pauseAfter;
        if (limit !== undefined && forwarded + chunk.length > limit) {
          chunk = chunk.subarray(0, limit - forwarded);
        }
        const at = options.flipAt;
        if (at !== undefined && at >= forwarded && at < forwarded + chunk.length) {
          chunk[at - forwarded] ^= 0xff;
        }
        await writeAll(to, chunk);
        forwarded += chunk.length;
        if (options.cutAfter !== undefined && forwarded >= options.cutAfter) {
          from.close();
          client = undefined;
          break;
        }
        if (options.pauseAfter !== undefined && forwarded >= options.pauseAfter) {
          markPaused();
          // Wait for the client to go away (it is killed), reading and dropping its bytes.
          while (await from.read(new Uint8Array(64 * 1024)) !== null) { /* drop */ }
          break;
        }
      }
    } catch {
      // the client went away
    } finally {
      try {
        await to.closeWrite();
      } catch {
        // the upstream went away
      }
    }
  };
  const backwardPump = async (from: Deno.Conn, to: Deno.Conn): Promise<void> => {
    let drop = false;
    try {
      for (;;) {
        const buffer = new Uint8Array(64 * 1024);
        const n = await from.read(buffer);
        if (n === null) break;
        if (drop) continue;
        try {
          await writeAll(to, buffer.subarray(0, n));
        } catch {
          drop = true;
        }
      }
    } catch {
      // the upstream went away
    } finally {
      closeAll();
    }
  };
  const done = (async () => {
    try {
      client = await listener.accept();
    } catch {
      return;
    } finally {
      listener.close();
    }
    upstream = await Deno.connect({ hostname: "127.0.0.1", port: options.upstream.port });
    const from = client;
    await Promise.all([forwardPump(from, upstream), backwardPump(upstream, from)]);
  })();
  return {
    addr: listener.addr,
    paused,
    forwarded: () => forwarded,
    done,
    async [Symbol.asyncDispose]() {
      try {
        listener.close();
      } catch {
        // accepted already
      }
      closeAll();
      await done;
    },
  };
}

/** A CLI (or any) subprocess whose output is collected. */
export interface Proc {
  child: Deno.ChildProcess;
  /** The port from a "listening on …:PORT" line on stderr (or stdout for Python). */
  port: Promise<number>;
  /** Waits for the exit; kills the process first if it runs past the deadline. */
  result(): Promise<{ code: number; signal: Deno.Signal | null; stdout: string; stderr: string }>;
}

/** Runs a command with piped output, killed with SIGKILL after `deadlineMs`. */
export function spawn(
  command: string,
  args: string[],
  deadlineMs = 30_000,
  env?: Record<string, string>,
): Proc {
  const child = new Deno.Command(command, {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).spawn();
  let resolvePort!: (port: number) => void;
  let rejectPort!: (error: Error) => void;
  const port = new Promise<number>((resolve, reject) => {
    resolvePort = resolve;
    rejectPort = reject;
  });
  port.catch(() => {});
  const collect = async (stream: ReadableStream<Uint8Array>): Promise<string> => {
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      const match = /listening on (?:\S*:)?(\d+)\s*\n/.exec(text);
      if (match) resolvePort(Number(match[1]));
    }
    return text;
  };
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch {
      // exited
    }
  }, deadlineMs);
  const finished = (async () => {
    const status = await child.status;
    clearTimeout(timer);
    const out = {
      code: status.code,
      signal: status.signal,
      stdout: await stdout,
      stderr: await stderr,
    };
    rejectPort(new Error(`exited before listening: ${out.stderr}${out.stdout}`));
    return out;
  })();
  return { child, port, result: () => finished };
}

/** Runs the file-transfer CLI with the permissions it needs. */
export function cli(args: string[], deadlineMs = 30_000): Proc {
  return spawn(Deno.execPath(), [
    "run",
    "--allow-net=127.0.0.1",
    "--allow-read",
    "--allow-write",
    "--allow-sys=statfs",
    "--allow-env=NO_COLOR",
    CLI,
    ...args,
  ], deadlineMs);
}

/** Whether `python3` runs here. */
export async function havePython(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("python3", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}
