/**
 * Helpers of `tests/bench.ts`: child processes that talk in JSON lines, statistics over rounds,
 * and number formatting.
 *
 * @module
 */

import { cpuUsage, resourceUsage } from "node:process";

/** The permissions a bench child runs with. */
export type ChildPermissions = "net" | "none" | "all";

/** A child process of the bench: reads commands on stdin, answers one JSON object a line. */
export interface BenchChild {
  /** The next JSON line the child printed. */
  next(): Promise<Record<string, number>>;
  /** Writes one command line to the child's stdin. */
  command(line: string): Promise<void>;
  /** Closes the child's stdin and waits for it to exit; throws when it failed. */
  end(): Promise<void>;
  /** Kills the child (after a failure). */
  kill(): void;
}

let profileDir: string | undefined;
let profiled = 0;

/**
 * Makes every later child write a V8 CPU profile into `dir` (`deno run --cpu-prof`); read them
 * with `tests/bench_profile.ts`.
 *
 * @param dir A directory; each child writes into its own `<role>-<first arg>-<n>` in it.
 */
export function profileChildrenInto(dir: string): void {
  profileDir = dir;
}

/** How long a child may live: every bench child stops by itself well before this. */
const CHILD_LIMIT_MS = 120_000;

/**
 * Starts `deno run <file> <role> <args>` with the given permissions.
 *
 * @param file The child program (next to this file).
 * @param role The first argument: what the child does.
 * @param args More arguments.
 * @param permissions `"net"`: loopback only; `"all"`: for `/dev/shm` (Deno asks for all
 *   permissions under `/dev`); `"none"`: pure computation.
 */
export function spawnChild(
  file: string,
  role: string,
  args: (string | number)[],
  permissions: ChildPermissions = "net",
): BenchChild {
  const flags = permissions === "all"
    ? ["--allow-all"]
    : permissions === "net"
    ? ["--allow-net=127.0.0.1"]
    : [];
  const process = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-net",
      ...flags,
      ...(profileDir === undefined ? [] : [
        "--cpu-prof",
        `--cpu-prof-dir=${profileDir}/${role}-${
          String(args[0]).replace(/\W+/g, "_")
        }-${++profiled}`,
      ]),
      new URL(file, import.meta.url).pathname,
      role,
      ...args.map(String),
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const timer = setTimeout(() => kill(), CHILD_LIMIT_MS);
  const lines = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const stdin = process.stdin.getWriter();
  const encoder = new TextEncoder();
  let text = "";
  function kill(): void {
    try {
      process.kill("SIGKILL");
    } catch {
      // already exited
    }
  }
  return {
    async next() {
      while (!text.includes("\n")) {
        const { value, done } = await lines.read();
        if (done) throw new Error(`bench child ${role} exited without answering`);
        text += value;
      }
      const newline = text.indexOf("\n");
      const line = text.slice(0, newline);
      text = text.slice(newline + 1);
      return JSON.parse(line);
    },
    async command(line) {
      await stdin.write(encoder.encode(line + "\n"));
    },
    async end() {
      try {
        await stdin.close();
      } catch {
        // the child closed it
      }
      await lines.cancel();
      const status = await process.status;
      clearTimeout(timer);
      if (!status.success) throw new Error(`bench child ${role} ${args.join(" ")} failed`);
    },
    kill() {
      clearTimeout(timer);
      kill();
    },
  };
}

/**
 * Runs `body` with children that are killed if it throws, and always waited for.
 *
 * @param body Starts children through the `spawn` it gets.
 */
export async function withChildren<T>(
  body: (spawn: typeof spawnChild) => Promise<T>,
): Promise<T> {
  const children: BenchChild[] = [];
  try {
    return await body((...a) => {
      const child = spawnChild(...a);
      children.push(child);
      return child;
    });
  } catch (error) {
    for (const child of children) child.kill();
    throw error;
  }
}

/** For a child: prints one JSON line (what {@linkcode BenchChild.next} reads). */
export function answer(value: Record<string, number | string | boolean>): void {
  console.log(JSON.stringify(value));
}

/** For a child: waits for the next command line on stdin (`null` at its end). */
export async function nextCommand(): Promise<string | null> {
  commands ??= Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
  while (!pending.includes("\n")) {
    const { value, done } = await commands.read();
    if (done) return null;
    pending += value;
  }
  const newline = pending.indexOf("\n");
  const line = pending.slice(0, newline);
  pending = pending.slice(newline + 1);
  return line;
}
let commands: ReadableStreamDefaultReader<string> | undefined;
let pending = "";

/** Runs a program and returns whether it exited with 0 (false when it is not installed). */
export async function runProgram(
  cmd: string,
  args: string[],
): Promise<{ ok: boolean; stdout: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    return { ok: out.success, stdout: new TextDecoder().decode(out.stdout) };
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ok: false, stdout: "" };
    throw error;
  }
}

/** A free loopback TCP port (free a moment ago: for programs that cannot take port 0). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Median of a non-empty list. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** `median [min–max]` of `values` with `digits` decimals (the range only for 2+ values). */
export function spread(values: number[], digits: number): string {
  if (values.length === 0) return "–";
  const m = median(values).toFixed(digits);
  if (values.length === 1) return m;
  return `${m} [${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}]`;
}

/** Current process CPU time (user + system) in microseconds. */
export function cpuMicros(): number {
  const { user, system } = cpuUsage();
  return user + system;
}

/** Minor page faults of this process so far. */
export function minorFaults(): number {
  return resourceUsage().minorPageFault;
}
