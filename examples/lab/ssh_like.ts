// Copyright 2025 the sockkit authors. MIT license.
/**
 * The tutorial's ssh-like program on loopback: a client sends a command, the server answers
 * with its output, the client prints what one `recv(N)` returned. Raw TCP and framed TCP.
 *
 * @module
 */
import { connectFramed, listenFramed, writeAll } from "../../tcp/mod.ts";
import { pause, type Scope } from "./boxes.ts";
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
  await using listener = scope.add(
    listenFramed({ hostname: HOST, port: 0, maxFrameLength }),
  );
  const accepting = listener.accept();
  await using client = scope.add(
    await connectFramed({
      hostname: HOST,
      port: listener.addr.port,
      maxFrameLength,
    }),
  );
  const accepted = await accepting;
  if (accepted === null) {
    throw new Error("the framed listener closed before accepting");
  }
  await using server = scope.add(accepted);
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
