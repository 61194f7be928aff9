/**
 * Delimiter framing on the transport, over real sockets on loopback: a CRLF line protocol through
 * connectFramed/serveFramed, a raw peer that knows nothing of sockkit, lines over the limit,
 * the impairment relay, deadlines, Web Streams and envelopes refused.
 */
import assert from "node:assert/strict";
import {
  connectFramed,
  DelimiterInPayloadError,
  type FramedConn,
  FrameTooLargeError,
  listenFramed,
  serveFramed,
  startTcpRelay,
  TimeoutError,
  writeAll,
} from "../mod.ts";
import { Random } from "./_random.ts";

const permissions: Deno.TestDefinition["permissions"] = { net: ["127.0.0.1"], env: true };
const text = new TextEncoder();
const untext = new TextDecoder();
const line = (s: string) => text.encode(s);
const str = (b: Uint8Array | null) => b === null ? null : untext.decode(b);

/** A tiny Redis-inline-like protocol: PING, ECHO …, SET k v, GET k, QUIT; one reply line each. */
async function inlineHandler(conn: FramedConn): Promise<void> {
  const store = new Map<string, string>();
  for await (const frame of conn) {
    const [command, ...args] = untext.decode(frame).split(" ");
    switch (command.toUpperCase()) {
      case "PING":
        await conn.send(line("+PONG"));
        break;
      case "ECHO":
        await conn.send(line(args.join(" ")));
        break;
      case "SET":
        store.set(args[0], args.slice(1).join(" "));
        await conn.send(line("+OK"));
        break;
      case "GET":
        await conn.send(line(store.has(args[0]) ? `$${store.get(args[0])}` : "$-1"));
        break;
      case "QUIT":
        await conn.send(line("+BYE"));
        return;
      default:
        await conn.send(line(`-ERR unknown command '${command}'`));
    }
  }
}

Deno.test({
  name: "delimiter: a CRLF line protocol through serveFramed and connectFramed",
  permissions,
  async fn() {
    await using server = serveFramed({ port: 0, framing: "crlf", handler: inlineHandler });
    await using client = await connectFramed({ port: server.addr.port, framing: "crlf" });
    assert.equal(client.framing, "delimiter");
    const ask = async (request: string) => {
      await client.send(line(request));
      return str(await client.receive());
    };
    assert.equal(await ask("PING"), "+PONG");
    assert.equal(await ask("ECHO hello world"), "hello world");
    assert.equal(await ask("SET k a value"), "+OK");
    assert.equal(await ask("GET k"), "$a value");
    assert.equal(await ask("GET nope"), "$-1");
    assert.equal(await ask("FLY"), "-ERR unknown command 'FLY'");
    // pipelined: many commands in one go, replies in order
    for (let i = 0; i < 100; i++) client.send(line(`ECHO ${i}`));
    for (let i = 0; i < 100; i++) assert.equal(str(await client.receive()), String(i));
    assert.equal(await ask("QUIT"), "+BYE");
    assert.equal(await client.receive(), null); // the server closed after QUIT
  },
});

Deno.test({
  name: "delimiter: a raw peer that writes CRLF lines by hand gets exact CRLF replies",
  permissions,
  async fn() {
    await using server = serveFramed({ port: 0, framing: "crlf", handler: inlineHandler });
    using raw = await Deno.connect({ hostname: "127.0.0.1", port: server.addr.port });
    // a lone LF is data under "crlf"; the CRLF of the second command is split over two writes
    await writeAll(raw, line("ECHO a\nb\r\nPING\r"));
    await new Promise((r) => setTimeout(r, 20));
    await writeAll(raw, line("\nQUIT\r\n"));
    const got: number[] = [];
    const buf = new Uint8Array(1024);
    for (let n; (n = await raw.read(buf)) !== null;) got.push(...buf.subarray(0, n));
    assert.equal(untext.decode(new Uint8Array(got)), "a\nb\r\n+PONG\r\n+BYE\r\n");
  },
});

Deno.test({
  name: "delimiter: a line over the limit under the error policy closes with FrameTooLargeError",
  permissions,
  async fn() {
    await using listener = listenFramed({ port: 0, framing: "line", maxFrameLength: 16 });
    using raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = (await listener.accept())!;
    // the endless line is never ended: the limit, not a delimiter, stops it
    await writeAll(raw, line("short\r\nfine too\n" + "x".repeat(100_000)));
    assert.equal(str(await conn.receive()), "short");
    assert.equal(str(await conn.receive()), "fine too");
    const error = await conn.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof FrameTooLargeError, String(error));
    assert.equal(error.limit, 16);
    assert.ok(conn.closed, "the connection is closed: the rest of the stream cannot be trusted");
    // it failed on the first read past the limit (the first read buffer is 4 KiB), not at the end
    assert.ok(conn.receivedBytes <= 4096, `${conn.receivedBytes} bytes read`);
    await assert.rejects(conn.receive(), FrameTooLargeError); // and it stays failed
  },
});

Deno.test({
  name: "delimiter: a line over the limit under the discard policy is skipped; the next arrives",
  permissions,
  async fn() {
    await using listener = listenFramed({
      port: 0,
      framing: { delimiters: ["\n"], oversize: "discard" },
      maxFrameLength: 16,
    });
    using raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = (await listener.accept())!;
    const long = "y".repeat(200_000);
    const writing = writeAll(raw, line(`one\n${long}\ntwo\n${long}`))
      .then(() => writeAll(raw, line("\nthree\n")));
    assert.equal(str(await conn.receive()), "one");
    assert.equal(str(await conn.receive()), "two");
    assert.equal(str(await conn.receive()), "three");
    await writing;
    assert.deepEqual(conn.discarded, { frames: 2, bytes: 2 * (long.length + 1) });
    assert.equal(conn.closed, false);
  },
});

Deno.test({
  name: "delimiter: lines sliced into 1-7-byte writes by the impairment relay arrive whole",
  permissions,
  async fn() {
    const random = new Random();
    const options = { framing: "crlf" } as const;
    await using listener = listenFramed({ port: 0, ...options });
    await using relay = await startTcpRelay({
      target: listener.addr,
      slice: [1, 7],
      jitter: 0.3,
      seed: random.seed,
    });
    // lines of printable bytes with lone CRs and LFs inside (data under "crlf")
    const alphabet = "abc \r\n\t{}:";
    const lines = Array.from({ length: 80 }, () => {
      let s = "";
      for (let n = random.int(0, 120); n > 0; n--) {
        const c = alphabet[random.int(0, alphabet.length - 1)];
        if (!(c === "\n" && s.endsWith("\r"))) s += c; // a CRLF would end the line
      }
      return s.replace(/\r+$/, ""); // so would a CR at the end, before the CRLF sent
    });
    const server = (async () => {
      await using conn = await listener.accept();
      if (conn !== null) { for await (const frame of conn) await conn.send(frame); }
    })();
    await using client = await connectFramed({ port: relay.addr.port, ...options });
    const receiving = (async () => {
      const got: string[] = [];
      for (let i = 0; i < lines.length; i++) got.push(str(await client.receive())!);
      return got;
    })();
    for (const s of lines) await client.send(line(s));
    assert.deepEqual(await receiving, lines, `seed ${random.seed}`);
    await client.closeWrite();
    assert.equal(await client.receive(), null);
    await server;
    const bytes = lines.reduce((n, s) => n + text.encode(s).length + 2, 0);
    assert.equal(relay.stats.up.bytesOut, bytes);
    assert.ok(relay.stats.up.largestWrite <= 7);
  },
});

Deno.test({
  name: "delimiter: a payload that holds the delimiter is refused on send; nothing is written",
  permissions,
  async fn() {
    await using listener = listenFramed({ port: 0, framing: "line" });
    await using client = await connectFramed({ port: listener.addr.port, framing: "line" });
    await using server = (await listener.accept())!;
    await assert.rejects(client.send(line("two\nlines")), DelimiterInPayloadError);
    // "a\r" would read back as "a" (CR LF ends a line under "line")
    await assert.rejects(client.send(line("ends in CR\r")), DelimiterInPayloadError);
    const big = new Uint8Array(2 * 1024 * 1024).fill(0x61);
    big[1_500_000] = 0x0a;
    await assert.rejects(client.send(big), DelimiterInPayloadError); // the large-payload path
    await client.send(line("after"));
    await client.flush();
    assert.equal(client.queuedBytes, 0);
    // the refused payloads left no byte on the wire: the first line the server sees is "after"
    assert.equal(str(await server.receive()), "after");
    big[1_500_000] = 0x61;
    await client.send(big);
    assert.deepEqual(await server.receive(), big);
  },
});

Deno.test({
  name: "delimiter: idle and frame deadlines hold; a half line then silence is a frame timeout",
  permissions,
  async fn() {
    await using listener = listenFramed({
      port: 0,
      framing: "line",
      idleTimeout: 150,
      frameTimeout: 60,
    });
    using raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = (await listener.accept())!;
    await writeAll(raw, line("whole\nhalf a li"));
    assert.equal(str(await conn.receive()), "whole");
    const error = await conn.receive().then(() => undefined, (e) => e);
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.kind, "frame");
    assert.ok(conn.closed);

    using raw2 = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using silent = (await listener.accept())!;
    const idle = await silent.receive().then(() => undefined, (e) => e);
    assert.ok(idle instanceof TimeoutError, String(idle));
    assert.equal(idle.kind, "idle");
    raw2.close();
  },
});

Deno.test({
  name: "delimiter: a peer that never reads is dropped at writeTimeout",
  permissions,
  async fn() {
    await using listener = listenFramed({ port: 0, framing: "lf", writeTimeout: 100 });
    using _raw = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    await using conn = (await listener.accept())!;
    const chunk = new Uint8Array(256 * 1024).fill(0x62);
    let error: unknown;
    for (let i = 0; i < 10_000 && error === undefined; i++) {
      await conn.send(chunk).catch((e) => (error = e));
    }
    if (error === undefined) await conn.flush().catch((e) => (error = e));
    assert.ok(error instanceof TimeoutError, String(error));
    assert.equal(error.kind, "write");
  },
});

Deno.test({
  name: "delimiter: readable and writable pipe lines through a TransformStream and back",
  permissions,
  async fn() {
    await using server = serveFramed({
      port: 0,
      framing: "line",
      async handler(conn) {
        await conn.readable
          .pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform: (frame, c) => c.enqueue(line(str(frame)!.toUpperCase())),
            }),
          )
          .pipeTo(conn.writable);
      },
    });
    await using client = await connectFramed({ port: server.addr.port, framing: "line" });
    const words = ["alpha", "", "beta gamma", "delta"];
    const sending = ReadableStream.from(words.map(line)).pipeTo(client.writable);
    const replies = await Array.fromAsync(client.readable);
    await sending;
    assert.deepEqual(replies.map(str), words.map((w) => w.toUpperCase()));
  },
});

Deno.test({
  name: "delimiter: envelopes are refused with a TypeError that says why",
  permissions,
  async fn() {
    await using listener = listenFramed({ port: 0, framing: "line" });
    await using client = await connectFramed({ port: listener.addr.port, framing: "line" });
    await using server = (await listener.accept())!;
    await assert.rejects(client.sendEnvelope({ a: 1 }, new Uint8Array(1)), TypeError);
    await assert.rejects(server.receiveEnvelope(), /envelopes are length-prefixed/);
    await assert.rejects(server.readBodyInto(new Uint8Array(1)), TypeError);
    await client.send(line("still fine"));
    assert.equal(str(await server.receive()), "still fine");
  },
});

Deno.test({
  name: "delimiter: bad framing options throw before any socket is made",
  permissions,
  async fn() {
    await using listener = listenFramed({ port: 0 });
    const port = listener.addr.port;
    const cases: [Record<string, unknown>, ErrorConstructor | RangeErrorConstructor][] = [
      [{ framing: "lines" }, TypeError],
      [{ framing: 7 }, TypeError],
      [{ framing: { delimiters: [] } }, TypeError],
      [{ framing: { delimiters: [""] } }, RangeError],
      [{ framing: { oversize: "skip" } }, TypeError],
      [{ framing: "line", lengthFormat: "u16be" }, TypeError],
      [{ framing: { maxFrameLength: 10 }, maxFrameLength: 20 }, RangeError],
    ];
    for (const [options, type] of cases) {
      await assert.rejects(
        connectFramed({ port, ...options } as never),
        type,
        JSON.stringify(options),
      );
      assert.throws(() => listenFramed({ port: 0, ...options } as never), type);
    }
    // nothing connected: the listener has no connection waiting
    const accepting = listener.accept();
    const timer = new Promise((r) => setTimeout(() => r("none"), 50));
    assert.equal(await Promise.race([accepting, timer]), "none");
    listener.close();
    await accepting;
    // one limit given in both places, the same: fine
    await using ok = listenFramed({ port: 0, framing: { maxFrameLength: 8 }, maxFrameLength: 8 });
    assert.equal(ok.addr.transport, "tcp");
  },
});
