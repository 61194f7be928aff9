// Copyright 2025 the sockkit authors. MIT license.
/**
 * What the demo and the lab share about framed TCP on loopback: one connected pair of framed
 * ends on a fresh listener, and the count of the socket reads underneath a framed connection
 * (the demo's only instrumentation). Not part of the package.
 *
 * @module
 */
import { connectFramed, type FramedConn, type FramedListener, listenFramed } from "../tcp/mod.ts";

/**
 * The listener and both ends of one framed connection through it; disposing closes the server's
 * end, the client's, then the listener.
 */
export interface FramedPair extends AsyncDisposable {
  /** The listener the client connected to (still open). */
  listener: FramedListener<Deno.NetAddr>;
  /** The connecting end. */
  client: FramedConn;
  /** The accepted end. */
  server: FramedConn;
}

/** What {@linkcode openFramedPair} accepts. */
export interface FramedPairOptions {
  /** Where to listen and connect. */
  hostname: string;
  /**
   * The largest frame either end accepts.
   *
   * @default {the transport's default}
   */
  maxFrameLength?: number;
  /**
   * Called with each resource as soon as it exists (the listener, the client, the server), so
   * that a caller's deadline can close it; returns it.
   *
   * @default {nothing: the resource is returned as it is}
   */
  adopt?: <T extends { close(): unknown }>(resource: T) => T;
}

/**
 * Listens on a fresh port of `hostname`, connects a framed client to it and accepts it. The
 * caller owns the pair (dispose it); on a failure the parts made so far are closed.
 *
 * @example One frame from client to server
 * ```ts
 * import { openFramedPair } from "./_framed_pair.ts";
 * import assert from "node:assert/strict";
 *
 * await using pair = await openFramedPair({ hostname: "127.0.0.1" });
 * const { client, server } = pair;
 * await client.send(new Uint8Array([1, 2, 3]));
 * assert.deepEqual(await server.receive(), new Uint8Array([1, 2, 3]));
 * ```
 *
 * @tags allow-net
 */
export async function openFramedPair(options: FramedPairOptions): Promise<FramedPair> {
  const { hostname, maxFrameLength } = options;
  const adopt = options.adopt ?? (<T>(resource: T): T => resource);
  const limit = maxFrameLength === undefined ? {} : { maxFrameLength };
  await using stack = new AsyncDisposableStack(); // closes what was made if a step fails
  const listener = stack.use(adopt(listenFramed({ hostname, port: 0, ...limit })));
  const accepting = listener.accept();
  const client = stack.use(
    adopt(await connectFramed({ hostname, port: listener.addr.port, ...limit })),
  );
  const accepted = await accepting;
  if (accepted === null) throw new Error("the framed listener closed before accepting");
  const server = stack.use(adopt(accepted));
  const owned = stack.move();
  return { listener, client, server, [Symbol.asyncDispose]: () => owned.disposeAsync() };
}

/**
 * Counts the socket reads underneath `conn`: the size of every read of its `Deno.Conn` is
 * pushed onto `reads` (headers included), however the frames come out on top.
 *
 * @example The bytes on the wire, header and all
 * ```ts
 * import { countSocketReads, openFramedPair } from "./_framed_pair.ts";
 * import assert from "node:assert/strict";
 *
 * await using pair = await openFramedPair({ hostname: "127.0.0.1" });
 * const { client, server } = pair;
 * const reads: number[] = [];
 * countSocketReads(server, reads);
 * await client.send(new Uint8Array(10));
 * await server.receive();
 * assert.equal(reads.reduce((a, b) => a + b, 0), 4 + 10);
 * ```
 *
 * @tags allow-net
 */
export function countSocketReads(conn: FramedConn, reads: number[]): void {
  const raw = conn.conn;
  const read = raw.read.bind(raw);
  raw.read = async (buffer: Uint8Array): Promise<number | null> => {
    const n = await read(buffer);
    if (n !== null) reads.push(n);
    return n;
  };
}
