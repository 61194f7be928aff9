// Copyright 2025 the sockkit authors. MIT license.
/**
 * The three ways the lab sends messages on loopback, each reporting exactly what its receiver
 * got: raw TCP (`Deno.connect`, whole writes, a fresh `recv(N)` buffer per read), framed TCP
 * (`connectFramed`/`listenFramed`, with the socket reads underneath counted as the demo does)
 * and UDP (`openDatagram`, one datagram per message).
 *
 * @module
 */
import { equalBytes } from "../../framing/mod.ts";
import { countSocketReads, openFramedPair } from "../_framed_pair.ts";
import { DatagramTooLargeError, openDatagram } from "../../udp/mod.ts";
import { pause, type Scope } from "./boxes.ts";

/** Where everything happens. */
export const HOST = "127.0.0.1";

/** Closes a Deno resource that may be closed already. */
export function closeQuietly(resource: { close(): void } | undefined): void {
  try {
    resource?.close();
  } catch {
    // closed at the deadline already
  }
}

/** What {@linkcode rawTcp} saw. */
export interface RawTcpResult {
  /** The size of every read, in order. */
  reads: number[];
  /** What every `write()` call returned (partial writes show here), empty messages included. */
  writes: number[];
  /** Whether the bytes read are the bytes written, in order. */
  intact: boolean;
}

/** Raw TCP: whole writes back to back, the receiver reads into a fresh `buffer`-byte array. */
export async function rawTcp(
  messages: readonly Uint8Array[],
  options: {
    buffer: number;
    nagle: boolean;
    pause: number;
    readDelay?: number;
  },
  scope: Scope,
): Promise<RawTcpResult> {
  const listener = scope.add(Deno.listen({ hostname: HOST, port: 0 }));
  let client: Deno.TcpConn | undefined, server: Deno.Conn | undefined;
  const reads: number[] = [], writes: number[] = [], chunks: Uint8Array[] = [];
  try {
    const accepting = listener.accept();
    client = scope.add(
      await Deno.connect({ hostname: HOST, port: listener.addr.port }),
    );
    client.setNoDelay(!options.nagle);
    server = scope.add(await accepting);
    const conn = server;
    const receiving = (async () => {
      await pause(options.readDelay ?? 0);
      for (;;) {
        const buffer = new Uint8Array(options.buffer); // fresh each time, like recv(N)
        const n = await conn.read(buffer);
        if (n === null) return;
        reads.push(n);
        chunks.push(buffer.subarray(0, n));
      }
    })();
    receiving.catch(() => {}); // awaited below; may fail first at the deadline
    try {
      for (const message of messages) {
        scope.check();
        let at = 0;
        do {
          const n = await client.write(message.subarray(at));
          writes.push(n);
          at += n;
        } while (at < message.length);
        await pause(options.pause);
      }
      await client.closeWrite();
    } finally {
      await receiving;
    }
  } finally {
    closeQuietly(client);
    closeQuietly(server);
    closeQuietly(listener);
  }
  return { reads, writes, intact: sameStream(messages, chunks) };
}

/** Whether the chunks, joined, are the messages, joined. */
export function sameStream(
  messages: readonly Uint8Array[],
  chunks: readonly Uint8Array[],
): boolean {
  let chunk = 0, at = 0;
  for (const message of messages) {
    for (let i = 0; i < message.length; i++) {
      while (chunk < chunks.length && at >= chunks[chunk].length) {
        chunk++;
        at = 0;
      }
      if (chunk >= chunks.length || chunks[chunk][at++] !== message[i]) {
        return false;
      }
    }
  }
  while (chunk < chunks.length && at >= chunks[chunk].length) {
    chunk++;
    at = 0;
  }
  return chunk === chunks.length;
}

/** What {@linkcode framedTcp} saw. */
export interface FramedTcpResult {
  /** The size of every frame `receive()` returned. */
  frames: number[];
  /** Whether frame i equals message i for every i, and there are as many. */
  exact: boolean;
  /** The socket reads underneath, in bytes on the wire (headers included). */
  socketReads: number[];
}

/** Framed TCP: `send()` each message, `receive()` on the other side, socket reads counted. */
export async function framedTcp(
  messages: readonly Uint8Array[],
  options: { pause: number },
  scope: Scope,
): Promise<FramedTcpResult> {
  const socketReads: number[] = [];
  const received: Uint8Array[] = [];
  const maxFrameLength = Math.max(1024, ...messages.map((m) => m.length));
  await using pair = await openFramedPair({
    hostname: HOST,
    maxFrameLength,
    adopt: (resource) => scope.add(resource),
  });
  const { client, server } = pair;
  // Count the socket reads underneath the frames, as the demo does.
  countSocketReads(server, socketReads);
  const receiving = (async () => {
    for await (const frame of server) received.push(frame);
  })();
  receiving.catch(() => {}); // awaited below; may fail first at the deadline
  try {
    for (const message of messages) {
      scope.check();
      await client.send(message);
      if (options.pause > 0) {
        await client.flush();
        await pause(options.pause);
      }
    }
    await client.closeWrite();
  } finally {
    await receiving;
  }
  const exact = received.length === messages.length &&
    received.every((frame, i) => equalBytes(frame, messages[i]));
  return { frames: received.map((f) => f.length), exact, socketReads };
}

/** One datagram the receiver got. */
export interface Received {
  /** Its bytes. */
  data: Uint8Array;
  /** `Datagram.truncated`: the receive buffer came back full. */
  truncated: boolean;
}

/** One send's outcome. */
export interface SendOutcome {
  /** The message's index. */
  index: number;
  /** `sent`, or refused with the error's name and message. */
  refused?: { error: string; message: string; limit?: number };
}

/** What {@linkcode udpExchange} saw. */
export interface UdpResult {
  /** Every send, in order. */
  sends: SendOutcome[];
  /** Every datagram received, in arrival order. */
  received: Received[];
}

/**
 * UDP: one `send()` per message to a receiver (directly, or to `via` which forwards it), which
 * receives into `buffer`-byte buffers until nothing came for `idleMs`. A send refused with
 * `DatagramTooLargeError` is recorded and the rest go on.
 */
export async function udpExchange(
  messages: readonly Uint8Array[],
  options: {
    pause: number;
    buffer?: number;
    idleMs?: number;
    checkSize?: boolean;
    /** Starts something between sender and receiver; it is closed when receiving ends. */
    via?: (
      receiver: Deno.NetAddr,
    ) => Promise<{ addr: Deno.NetAddr; close(): Promise<void> }>;
  },
  scope: Scope,
): Promise<UdpResult> {
  await using receiver = scope.add(openDatagram({ hostname: HOST, port: 0 }));
  await using sender = scope.add(
    openDatagram({
      hostname: HOST,
      port: 0,
      checkSize: options.checkSize ?? true,
    }),
  );
  const middle = await options.via?.(receiver.addr as Deno.NetAddr);
  const to = middle?.addr ?? receiver.addr as Deno.NetAddr;
  const received: Received[] = [];
  const sends: SendOutcome[] = [];
  let sending = true;
  const idleMs = options.idleMs ?? 200;
  const receiving = (async () => {
    for (;;) {
      const buffer = options.buffer ? new Uint8Array(options.buffer) : undefined;
      try {
        const got = await receiver.receive({ buffer, timeout: idleMs });
        received.push({ data: got.data.slice(), truncated: got.truncated });
      } catch (error) {
        if (!(error instanceof Deno.errors.TimedOut)) throw error;
        if (!sending) return;
      }
    }
  })();
  receiving.catch(() => {}); // awaited below; may fail first at the deadline
  try {
    for (const [index, message] of messages.entries()) {
      scope.check();
      try {
        await sender.send(message, to);
        sends.push({ index });
      } catch (error) {
        if (!(error instanceof DatagramTooLargeError)) throw error;
        sends.push({
          index,
          refused: {
            error: error.name,
            message: error.message,
            limit: error.limit,
          },
        });
      }
      await pause(options.pause);
    }
  } finally {
    sending = false;
    try {
      await receiving;
    } finally {
      await middle?.close();
    }
  }
  return { sends, received };
}

/**
 * Which message each datagram is: the first not yet matched that it equals, else one already
 * matched (a duplicate), else one it is the start of (truncated), else none (-1).
 */
export function matchDatagrams(
  messages: readonly Uint8Array[],
  received: readonly Received[],
): { index: number; kind: "whole" | "duplicate" | "truncated" | "unknown" }[] {
  const matched = messages.map(() => false);
  return received.map(({ data }) => {
    let index = messages.findIndex((m, i) => !matched[i] && equalBytes(m, data));
    if (index >= 0) {
      matched[index] = true;
      return { index, kind: "whole" };
    }
    index = messages.findIndex((m) => equalBytes(m, data));
    if (index >= 0) return { index, kind: "duplicate" };
    index = messages.findIndex((m) =>
      m.length > data.length && equalBytes(m.subarray(0, data.length), data)
    );
    return index >= 0 ? { index, kind: "truncated" } : { index: -1, kind: "unknown" };
  });
}
