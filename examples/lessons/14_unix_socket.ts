// Copyright 2025 the sockkit authors. MIT license.
/**
 * (n) AF_UNIX: a file-based socket — the same byte stream, so the same framing.
 *
 * The tutorial: "AF_UNIX sockets are file-based: two processes on the same machine, with the
 * file system as their shared ground." The socket is a file you can `stat`. A stream socket on
 * it is a byte stream like TCP: ten messages written back to back reach a late reader merged.
 * sockkit's framed connection, the very same API as over TCP (`transport: "unix"`), gives back
 * the ten messages as sent.
 *
 * Deno checks a unix socket against `--allow-net=unix:<exact path>`, so the lesson uses fixed
 * paths, {@linkcode SOCKET_PATHS}: the first one no other program listens on.
 *
 * ```sh
 * deno task lessons --only n -v   # the permissions for all four paths are in deno.json
 * ```
 *
 * @module
 */
import { connectFramed, listenFramed } from "../../tcp/mod.ts";
import { type LessonOptions, main, readSizes, sleep, type Verdict } from "./_lesson.ts";

const MESSAGES = ["ls", "pwd", "whoami", "date", "uptime", "id", "df", "free", "w", "who"];
const encoder = new TextEncoder();
const total = MESSAGES.reduce((n, m) => n + m.length, 0);
/** The socket files the lesson may use. */
export const SOCKET_PATHS: readonly string[] = [0, 1, 2, 3].map((i) =>
  `/tmp/sockkit-lesson-n-${i}.sock`
);

/** Runs `use` on the first socket file nobody listens on (removing one left by a crash). */
async function onFreePath<T>(use: (path: string) => Promise<T>): Promise<T> {
  for (const path of SOCKET_PATHS) {
    try {
      (await Deno.connect({ transport: "unix", path })).close();
      continue; // another program listens here
    } catch {
      await Deno.remove(path).catch(() => {}); // stale or absent
    }
    let mine = true;
    try {
      return await use(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.AddrInUse)) throw error;
      mine = false; // someone took it in between
    } finally {
      if (mine) await Deno.remove(path).catch(() => {});
    }
  }
  throw new Error(`all of ${SOCKET_PATHS.join(", ")} are in use`);
}

/** Raw stream socket on a file: written back to back, read late. */
async function raw(path: string): Promise<{ reads: number[]; isSocket: boolean; path: string }> {
  using listener = Deno.listen({ transport: "unix", path });
  const isSocket = (await Deno.stat(path)).isSocket === true;
  using client = await Deno.connect({ transport: "unix", path });
  using server = await listener.accept();
  for (const m of MESSAGES) await client.write(encoder.encode(m));
  await sleep(20);
  return { reads: await readSizes(server, total), isSocket, path };
}

/** The same messages over a framed connection on a socket file. */
async function framed(path: string): Promise<string[]> {
  await using listener = listenFramed({ transport: "unix", path });
  await using client = await connectFramed({ transport: "unix", path });
  await using server = (await listener.accept())!;
  for (const m of MESSAGES) await client.send(encoder.encode(m));
  await client.closeWrite();
  const got: string[] = [];
  for await (const frame of server) got.push(new TextDecoder().decode(frame));
  return got;
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const { reads, isSocket, path } = await onFreePath(raw);
  const got = await onFreePath(framed);
  log(`${path} is ${isSocket ? "a socket file" : "NOT a socket file"} while it listens`);
  log(
    `raw AF_UNIX stream: ${MESSAGES.length} writes → ${reads.length} read(s) of ${
      reads.join(", ")
    } B`,
  );
  log(`framed over AF_UNIX: ${got.length} messages: ${got.join(" ")}`);
  const whole = got.length === MESSAGES.length && got.every((m, i) => m === MESSAGES[i]);
  return {
    id: "n",
    claim: "AF_UNIX: a socket file, the same stream, the same framing",
    reproduced: isSocket && reads.length < MESSAGES.length && whole,
    summary: `${MESSAGES.length} writes on a socket file → ${reads.length} raw read(s); ` +
      `framed → ${got.length} messages, ${whole ? "all as sent" : "NOT as sent"}`,
    data: { reads, got },
  };
}

if (import.meta.main) await main({ run });
