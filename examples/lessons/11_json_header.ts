// Copyright 2025 the sockkit authors. MIT license.
/**
 * (k) Fix 3: a JSON header (with the file's name and size) before the file's bytes.
 *
 * The tutorial's last fix: "make the header a dict, json it, struct.pack the json's length into
 * 4 bytes; send the length, the header, then the real content", to send a large file. sockkit
 * calls that an envelope; `ENVELOPE_PRESETS.python` is the tutorial's exact layout
 * (`i32le` length, `{"filename", "filesize"}`, the bytes). A 1 MiB file goes through a relay
 * that cuts the stream into 500-1500-byte writes (a network's MTU-sized packets) and is written
 * out on the other side; the two files' SHA-256 must match.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read --allow-write examples/lessons/11_json_header.ts
 * ```
 *
 * @module
 */
import { encodeEnvelopeHeader, ENVELOPE_PRESETS } from "../../framing/mod.ts";
import { connectFramed, listenFramed, startTcpRelay } from "../../tcp/mod.ts";
import { type LessonOptions, main, type Verdict } from "./_lesson.ts";

const SIZE = 1024 * 1024;
const NAME = "三体.txt";

async function sha256(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Runs the lesson. */
export async function run(options: LessonOptions = {}): Promise<Verdict> {
  const log = options.log ?? (() => {});
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "sockkit-lesson-k-" });
  try {
    const source = `${dir}/${NAME}`;
    await Deno.writeFile(source, Uint8Array.from({ length: SIZE }, (_, i) => (i * 7) % 251));
    await Deno.mkdir(`${dir}/received`);
    const head = encodeEnvelopeHeader({ filename: NAME }, SIZE, ENVELOPE_PRESETS.python);
    log(
      `on the wire: ${[...head.subarray(0, 4)]} (i32le ${head.length - 4}) then ` +
        `${new TextDecoder().decode(head.subarray(4))} then ${SIZE} bytes`,
    );

    await using listener = listenFramed({ hostname: "127.0.0.1", port: 0 });
    await using relay = await startTcpRelay({
      target: listener.addr,
      slice: [500, 1500],
      seed: 11,
    });
    const receiver = (async () => {
      await using conn = (await listener.accept())!;
      const envelope = (await conn.receiveEnvelope(ENVELOPE_PRESETS.python))!;
      const name = String(envelope.header.filename);
      if (name.includes("/") || name.startsWith(".")) throw new Error(`unsafe name ${name}`);
      await Deno.writeFile(`${dir}/received/${name}`, envelope.body);
      return { name, size: envelope.bodyLength };
    })();
    {
      await using sender = await connectFramed({ port: relay.addr.port });
      await using file = await Deno.open(source);
      await sender.sendEnvelope({ filename: NAME }, file.readable, SIZE, ENVELOPE_PRESETS.python);
      await sender.closeWrite();
    }
    const got = await receiver;
    const same = await sha256(source) === await sha256(`${dir}/received/${got.name}`);
    const { writes, smallestWrite, largestWrite } = relay.stats.up;
    log(`the relay cut the stream into ${writes} writes of ${smallestWrite}-${largestWrite} bytes`);
    log(`received "${got.name}", filesize ${got.size}: SHA-256 ${same ? "matches" : "DIFFERS"}`);
    return {
      id: "k",
      claim: "fix 3: a JSON header + body carries a file",
      reproduced: same && got.name === NAME && got.size === SIZE && writes > 100,
      summary: `${NAME} (1 MiB) in ${writes} writes of ${smallestWrite}-${largestWrite} B → ` +
        `same name, size ${got.size}, SHA-256 ${same ? "equal" : "different"}`,
      data: { writes, size: got.size, same },
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main({ run });
