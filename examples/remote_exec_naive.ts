/**
 * The tutorial's remote shell as written, server and client: no framing, no authentication, one
 * `recv(1024)` per command, so long outputs spill into the next one (see `remote_exec.ts`).
 *
 * @module
 */

import { parseArgs } from "node:util";
import { isLoopback } from "../tcp/exec/mod.ts";
import { writeAll } from "../tcp/mod.ts";
import {
  encoder,
  makeDecoder,
  parseHostPort,
  stdinLines,
  UsageError,
} from "./remote_exec_flags.ts";

const NAIVE_SERVER_HELP =
  `remote_exec.ts naive-server — the tutorial's server as written (UNSAFE BY DESIGN)

  --listen [HOST:]PORT   loopback address only (default host 127.0.0.1)
  --once                 exit after the first client disconnects

No authentication, runs every line with a shell, no framing: it exists to show the bug.
exit codes: 0 done, 1 cannot listen, 2 usage error (incl. a non-loopback address)
`;

const NAIVE_CLIENT_HELP = `remote_exec.ts naive-client — the tutorial's client as written

  --connect HOST:PORT    the naive server
  --encoding ENC         decode the output from ENC (the tutorial used gbk); default utf-8

Reads commands from stdin; one recv(1024) per command, so long outputs spill into the next one.
\`quit\` or an empty line exits.
exit codes: 0 done, 1 connection failure, 2 usage error
`;

export async function runNaiveServer(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      listen: { type: "string" },
      once: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(NAIVE_SERVER_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const { hostname, port } = parseHostPort(values.listen, "--listen");
  if (!isLoopback(hostname)) {
    throw new UsageError(`naive-server listens on loopback addresses only, not ${hostname}`);
  }
  console.error(
    "naive-server: UNSAFE BY DESIGN — the tutorial's program as written: no authentication, a " +
      "shell, no framing (one recv(1024) per command). Loopback only. Use `server` for real work.",
  );
  let listener: Deno.Listener;
  try {
    listener = Deno.listen({ hostname, port });
  } catch (error) {
    console.error(`naive-server: cannot listen on ${hostname}:${port}: ${error}`);
    return 1;
  }
  const addr = listener.addr as Deno.NetAddr;
  console.log(`listening on ${addr.hostname}:${addr.port}`);
  const onSignal = () => listener.close();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept(); // one client at a time, as in the tutorial
      } catch {
        break;
      }
      const peer = conn.remoteAddr as Deno.NetAddr;
      console.error(`naive-server: client ${peer.hostname}:${peer.port}`);
      try {
        for (;;) {
          const buf = new Uint8Array(1024); // cmd = conn.recv(BUFSIZ)
          const n = await conn.read(buf);
          if (n === null || n === 0) break; // if not cmd: break
          const cmd = new TextDecoder().decode(buf.subarray(0, n));
          // subprocess.Popen(cmd, shell=True, stdout=PIPE, stdin=PIPE, stderr=PIPE)
          const out = await new Deno.Command("/bin/sh", {
            args: ["-c", cmd],
            stdin: "null",
            stdout: "piped",
            stderr: "piped",
          }).output();
          await writeAll(conn, out.stderr); // conn.send(stderr)
          await writeAll(conn, out.stdout); // conn.send(stdout)
        }
      } catch (error) {
        console.error(`naive-server: ${error}`);
      } finally {
        conn.close();
      }
      if (values.once) break;
    }
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    try {
      listener.close();
    } catch { /* already closed */ }
  }
  return 0;
}

export async function runNaiveClient(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      connect: { type: "string" },
      encoding: { type: "string", default: "utf-8" },
    },
  });
  if (values.help) {
    console.log(NAIVE_CLIENT_HELP);
    return 0;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument: ${positionals[0]}`);
  const { hostname, port } = parseHostPort(values.connect, "--connect");
  const decoder = makeDecoder(values.encoding)!;
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ hostname, port });
  } catch (error) {
    console.error(`naive-client: cannot connect to ${values.connect}: ${error}`);
    return 1;
  }
  try {
    await writeAll(Deno.stdout, encoder.encode(">>> "));
    for await (const raw of stdinLines()) {
      const cmd = raw.trim();
      if (!cmd || cmd === "quit") break;
      await writeAll(conn, encoder.encode(cmd)); // tcpsc.send(cmd.encode('utf-8'))
      const buf = new Uint8Array(1024);
      const n = await conn.read(buf); // result = tcpsc.recv(BUFSIZ)
      if (n === null) break;
      // print(result.decode('gbk'), end='')
      await writeAll(Deno.stdout, encoder.encode(decoder.decode(buf.subarray(0, n))));
      await writeAll(Deno.stdout, encoder.encode(">>> "));
    }
  } finally {
    conn.close();
  }
  return 0;
}
