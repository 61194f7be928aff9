// Copyright 2025 the sockkit authors. MIT license.
/**
 * (h) A write may take only part of the data; a whole write (Python's `sendall`) loops.
 *
 * The tutorial quotes Python's docs: "send() returns the number of bytes sent, which may be
 * less than the string; the application must send the rest. sendall() continues until all data
 * has been sent." Deno's `conn.write()` is `send()`: one call, one count. Here the receiver is
 * not reading yet, so one `write` of 16 MiB takes only what fits in the two sockets' buffers
 * (a few MiB; the size depends on the kernel's buffer tuning, but 16 MiB never fits on Linux's
 * defaults). `writeAll` — sockkit's `sendall` — keeps writing while the receiver drains.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/lessons/08_partial_write.ts
 * ```
 *
 * @module
 */
import { writeAll } from "../../tcp/mod.ts";
import { type LessonOptions, main, readSizes, tcpPair, type Verdict } from "./_lesson.ts";

const SIZE = 16 * 1024 * 1024;

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  await using pair = await tcpPair();
  const data = new Uint8Array(SIZE);
  const once = await pair.client.write(data); // send(): nobody reads yet
  log(`write(${SIZE} bytes) with the receiver not reading returned ${once}`);
  // Read what that one write put on the wire, then let writeAll send the whole buffer.
  const first = (await readSizes(pair.server, once)).reduce((a, b) => a + b, 0);
  const [, reads] = await Promise.all([writeAll(pair.client, data), readSizes(pair.server, SIZE)]);
  const second = reads.reduce((a, b) => a + b, 0);
  log(
    `writeAll(${SIZE} bytes) returned after the receiver got ${second} bytes in ${reads.length} reads`,
  );
  const pct = (100 * once / SIZE).toFixed(1);
  return {
    id: "h",
    claim: "send() may write part of the data; sendall() writes it all",
    reproduced: once > 0 && once < SIZE && first === once && second === SIZE,
    summary: `one write of 16 MiB took ${once} B (${pct}%); writeAll delivered all ${second} B`,
    data: { once, second, reads: reads.length },
  };
}

if (import.meta.main) await main({ run });
