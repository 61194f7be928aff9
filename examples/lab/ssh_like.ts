// Copyright 2025 the sockkit authors. MIT license.
/**
 * The tutorial's ssh-like program on loopback, and the lab's experiment about it: a client
 * sends a command, the server answers with its output, the client prints what one `recv(N)`
 * returned, so the rest of a long output shows up after the next command. Raw TCP and framed TCP.
 *
 * @module
 */
import { writeAll } from "../../tcp/mod.ts";
import { openFramedPair } from "../_framed_pair.ts";
import { fmt, frameRow, pause, plural, type Scope, sentBoxes, streamRow } from "./boxes.ts";
import { Random } from "../_random.ts";
import type { Experiment } from "./model.ts";
import { COMMON, SettingsError, type SizeRange } from "./settings.ts";
import { closeQuietly, HOST } from "./transports.ts";

/** One read of the raw client: its size and the command it was read for (-1: after the last). */
export interface SshRead {
  size: number;
  command: number;
}

/**
 * Raw TCP: for each command the client writes it, waits `pause` ms and reads once into a fresh
 * `buffer`; after the last it half-closes and reads what is left.
 */
export async function rawSsh(
  commands: readonly string[],
  outputs: readonly Uint8Array[],
  options: { buffer: number; pause: number },
  scope: Scope,
): Promise<{ reads: SshRead[] }> {
  const listener = scope.add(Deno.listen({ hostname: HOST, port: 0 }));
  let client: Deno.TcpConn | undefined, server: Deno.Conn | undefined;
  const reads: SshRead[] = [];
  try {
    const accepting = listener.accept();
    client = scope.add(
      await Deno.connect({ hostname: HOST, port: listener.addr.port }),
    );
    server = scope.add(await accepting);
    const conn = server;
    const serving = (async () => {
      const command = new Uint8Array(256);
      for (const output of outputs) {
        if (await conn.read(command) === null) return;
        await writeAll(conn, output);
      }
      await conn.read(command); // the client's end
      conn.close();
    })();
    serving.catch(() => {}); // awaited below; may fail first at the deadline
    try {
      const text = new TextEncoder();
      for (const [k, command] of commands.entries()) {
        scope.check();
        await writeAll(client, text.encode(command));
        await pause(options.pause);
        const n = await client.read(new Uint8Array(options.buffer));
        if (n === null) break;
        reads.push({ size: n, command: k });
      }
      await client.closeWrite();
      for (;;) {
        const n = await client.read(new Uint8Array(options.buffer));
        if (n === null) break;
        reads.push({ size: n, command: -1 });
      }
    } finally {
      await serving;
    }
  } finally {
    closeQuietly(client);
    closeQuietly(server);
    closeQuietly(listener);
  }
  return { reads };
}

/** Framed TCP: each command one frame, each output one frame; returns the output sizes. */
export async function framedSsh(
  commands: readonly string[],
  outputs: readonly Uint8Array[],
  scope: Scope,
): Promise<number[]> {
  const maxFrameLength = Math.max(1024, ...outputs.map((o) => o.length));
  await using pair = await openFramedPair({
    hostname: HOST,
    maxFrameLength,
    adopt: (resource) => scope.add(resource),
  });
  const { client, server } = pair;
  const serving = (async () => {
    let k = 0;
    for await (const _command of server) await server.send(outputs[k++]);
  })();
  serving.catch(() => {}); // awaited below; may fail first at the deadline
  const got: number[] = [];
  try {
    const text = new TextEncoder();
    for (const command of commands) {
      await client.send(text.encode(command));
      const output = await client.receive();
      if (output === null) break;
      got.push(output.length);
    }
    await client.closeWrite();
  } finally {
    await serving;
  }
  return got;
}

const COMMANDS = [
  "ls -l",
  "pwd",
  "whoami",
  "date",
  "uname -a",
  "df -h",
  "id",
  "uptime",
];

function reply(k: number, size: number): Uint8Array {
  const out = new TextEncoder().encode(
    Array.from(
      { length: Math.ceil(size / 40) + 1 },
      (_, i) => `${COMMANDS[k]} line ${i}: ${"-".repeat(20)}\n`,
    ).join(""),
  );
  return out.subarray(0, size);
}

/** The ssh-like program's leftovers. */
export const leftovers: Experiment = {
  id: "leftovers",
  title: "The ssh-like program's leftovers",
  claim: "a client that reads each command's output with one recv(1024) shows the rest of a " +
    "long output after the next command",
  settings: [
    {
      ...COMMON.count(3, COMMANDS.length),
      name: "commands",
      label: "Commands",
      help: "how many commands the client sends, one after another",
    },
    { ...COMMON.sizes("600-2500", 1, 65536), label: "Output sizes" },
    COMMON.buffer(1024, 16, 65536),
    {
      ...COMMON.pause(20),
      help: "milliseconds the client waits after each command",
    },
    COMMON.seed(),
  ],
  async run(values, scope) {
    const count = values.commands as number, buffer = values.buffer as number;
    const random = new Random(values.seed as number);
    const range = values.sizes as SizeRange;
    if (count * range.max / buffer > 8192) {
      throw new SettingsError(
        `buffer: ${fmt(count * range.max)} B of output read ${fmt(buffer)} B at a time is over ` +
          "8,192 reads; use a larger buffer or smaller outputs",
      );
    }
    const replies = Array.from(
      { length: count },
      (_, k) => reply(k, random.int(range.min, range.max)),
    );
    const sizes = replies.map((r) => r.length);
    const raw = await rawSsh(COMMANDS.slice(0, count), replies, {
      buffer,
      pause: values.pause as number,
    }, scope);
    const framed = await framedSsh(COMMANDS.slice(0, count), replies, scope);
    const row = streamRow(
      "tcp-raw",
      `client: one recv(${buffer}) per command`,
      sizes,
      raw.reads.map((r) => r.size),
    );
    let leftover = 0, unread = 0;
    row.boxes.forEach((box, j) => {
      const k = raw.reads[j].command;
      box.label = k < 0 ? `end${j + 1}` : `c${k + 1}`;
      box.note = k < 0 ? "read after the last command: never shown" : `read for "${COMMANDS[k]}"` +
        (box.messages.some((m) => m < k) ? ", holding an earlier output" : "");
      if (k < 0) {
        box.mark = "leftover";
        unread++;
      } else if (box.messages.some((m) => m < k)) {
        box.mark = "leftover";
        leftover++;
      }
    });
    row.counts = { ...row.counts, leftover, "after the last command": unread };
    const frames = frameRow(
      "tcp-framed",
      "framed client: receive() per command",
      sizes,
      framed,
    );
    const exact = frames.counts.whole === count;
    const reproduced = leftover > 0 && exact;
    const first = row.boxes.find((b) => b.mark === "leftover");
    return {
      sent: {
        label: "outputs",
        boxes: sentBoxes(sizes, COMMANDS.slice(0, count)),
      },
      rows: [row, frames],
      verdict: {
        reproduced,
        summary: reproduced
          ? `${plural(leftover, "read")} showed an earlier command's output` +
            (first ? ` (first: ${first.note})` : "") +
            "; the framed client got every output whole"
          : leftover === 0
          ? `not reproduced: every output fit one recv(${fmt(buffer)}); try larger outputs`
          : "not reproduced: the framed client did not get every output whole",
        lines: [
          {
            ok: leftover === 0,
            name: "TCP raw",
            text: `${plural(leftover, "read")} of ${fmt(row.boxes.length)} held leftovers of an ` +
              "earlier output",
          },
          {
            ok: exact,
            name: "TCP framed",
            text: `${fmt(frames.counts.whole)} of ${
              fmt(count)
            } outputs whole, each after its command`,
          },
        ],
      },
    };
  },
};
