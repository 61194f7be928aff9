/**
 * What a fresh buffer costs in Deno, beside a view of an existing one: the reason the framing
 * decoder hands out `subarray` views and carves straddling frames from a shared slab. Cases
 * interleaved, five rounds, the fastest of each shown. `deno task bench alloc`.
 *
 * @module
 */

const ROUNDS = 5;
const OPS = 200_000;
const source = new Uint8Array(1024 * 1024).fill(7);

/** One case: makes `OPS` buffers; returns a value that depends on them (so none is optimised away). */
const cases: [name: string, make: (i: number) => Uint8Array][] = [
  ["new Uint8Array(16)", () => new Uint8Array(16)],
  ["new Uint8Array(1024)", () => new Uint8Array(1024)],
  ["new Uint8Array(65536)", () => new Uint8Array(65536)],
  ["source.slice(i, i + 16) (copy)", (i) => source.slice(i & 0xfff, (i & 0xfff) + 16)],
  ["source.subarray(i, i + 16) (view)", (i) => source.subarray(i & 0xfff, (i & 0xfff) + 16)],
];

function time(make: (i: number) => Uint8Array): number {
  let sum = 0;
  const start = performance.now();
  for (let i = 0; i < OPS; i++) sum += make(i).length;
  const ns = (performance.now() - start) * 1e6 / OPS;
  if (sum === 0) throw new Error("nothing made");
  return ns;
}

const best = cases.map(() => Infinity);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, [, make]] of cases.entries()) best[i] = Math.min(best[i], time(make));
}
console.log(
  `buffers in Deno ${Deno.version.deno}: ${
    OPS.toLocaleString("en-US")
  } per case, fastest of ${ROUNDS} interleaved rounds`,
);
const width = Math.max(...cases.map(([name]) => name.length));
for (const [i, [name]] of cases.entries()) {
  const ns = best[i];
  console.log(
    `${name.padEnd(width)}  ${ns < 1000 ? `${ns.toFixed(0)} ns` : `${(ns / 1000).toFixed(2)} µs`}`,
  );
}
