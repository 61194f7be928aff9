/**
 * An attacker without the token, as its own process: keeps SOCKETS sockets open to a server and
 * reconnects each one the moment the server drops it, for SECONDS seconds or until SIGTERM; never
 * sends a byte. Prints `{"opened":N,"cut":M}` when done. Used by tests/remote_exec_attack_test.ts.
 *
 * usage: deno run --allow-net=127.0.0.1 tests/_flood_peer.ts PORT SOCKETS SECONDS
 *
 * @module
 */

const [port, sockets, seconds] = Deno.args.map(Number);
const end = performance.now() + seconds * 1000;
let opened = 0;
let cut = 0;

async function attacker(): Promise<void> {
  const buf = new Uint8Array(4096);
  while (performance.now() < end) {
    let conn: Deno.Conn;
    try {
      conn = await Deno.connect({ hostname: "127.0.0.1", port });
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 1));
      continue;
    }
    opened++;
    const timer = setTimeout(() => conn.close(), Math.max(0, end - performance.now()));
    try {
      while (await conn.read(buf) !== null) { /* the server's greeting */ }
      cut++;
    } catch {
      // closed by the timer at the end, or reset by the server
    } finally {
      clearTimeout(timer);
      try {
        conn.close();
      } catch { /* closed by the timer */ }
    }
  }
}

Deno.addSignalListener("SIGTERM", () => {
  console.log(JSON.stringify({ opened, cut }));
  Deno.exit(0);
});
await Promise.all(Array.from({ length: sockets }, attacker));
console.log(JSON.stringify({ opened, cut }));
Deno.exit(0);
