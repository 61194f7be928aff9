// Copyright 2025 the sockkit authors. MIT license.
/**
 * The socket work of udp_multicast_test.ts, run in a child with net access to exactly loopback
 * and the test group. Traffic stays on this host: the sender is bound to 127.0.0.1 (so the OS
 * sends its multicast out of the loopback interface) with TTL 0, the receivers are bound to the
 * group's address and joined on loopback. Prints one JSON result; every wait is bounded.
 */
import { type DatagramSocket, openDatagram } from "../udp/mod.ts";

const GROUP = Deno.args[0];
const text = new TextEncoder();

async function receiveOrNull(socket: DatagramSocket, ms: number): Promise<string | null> {
  try {
    return new TextDecoder().decode((await socket.receive({ timeout: ms })).data);
  } catch (error) {
    if (error instanceof Deno.errors.TimedOut) return null;
    throw error;
  }
}

const result: Record<string, unknown> = {};
await using rx = openDatagram({ hostname: GROUP, port: 0, reuseAddress: true });
const port = (rx.addr as Deno.NetAddr).port;
await using rx2 = openDatagram({ hostname: GROUP, port, reuseAddress: true });
await using tx = openDatagram({ hostname: "127.0.0.1", port: 0 });
const to = { hostname: GROUP, port };
try {
  // The sender's TTL and loopback are socket settings that outlast its membership: set them,
  // then leave, so that only the receivers' memberships count below.
  const sending = await tx.joinMulticast(GROUP, { ttl: 0, loopback: true });
  await sending.leave();
  const joined = await rx.joinMulticast(GROUP);
  const joined2 = await rx2.joinMulticast(GROUP, { interface: "127.0.0.1" });
  await tx.send(text.encode("first"), to);
  result.first = await receiveOrNull(rx, 2000);
  result.firstBoth = await receiveOrNull(rx2, 2000);
  // Once no socket on this host is a member, the group's datagrams reach nobody here.
  await joined.leave();
  await joined.leave(); // twice: a no-op
  await joined2.leave();
  await tx.send(text.encode("second"), to);
  result.secondAfterLeave = await receiveOrNull(rx, 300);
  // Joined again: they arrive again. (Whether loopback off stops them depends on the OS: on
  // Linux a sender bound to 127.0.0.1 sends out of the loopback interface, which hands the
  // datagram back anyway, so only the calls themselves are checked.)
  await using again = await rx.joinMulticast(GROUP);
  await tx.send(text.encode("third"), to);
  result.thirdRejoined = await receiveOrNull(rx, 2000);
  await using settings = await tx.joinMulticast(GROUP);
  await settings.setLoopback(false);
  await settings.setLoopback(true);
  await settings.setTTL(1);
  await settings.setTTL(0);
  result.group = again.group;
} catch (error) {
  result.error = `${(error as Error).name}: ${(error as Error).message}`;
}
console.log(JSON.stringify(result));
