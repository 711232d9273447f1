// Child process of tests/threads.test.js: init({ threads }) from the command line, then the trajectory of
// tests/threads/trajectory.js with each optimizer forced to 1 thread, to all threads, and on "auto".
// Prints one JSON line: { backend, hashes: { one, all, auto }, info }.
import { init, backend, Optimizer } from "../../dist/src/index.js";
import { trajectory } from "./trajectory.js";

const arg = process.argv[2] ?? "2";
await init(JSON.parse(arg));
const hashes = {};
for (const [k, threads] of [["one", 1], ["all", 64], ["auto", "auto"]]) hashes[k] = trajectory(Optimizer, { threads });
// How a big optimizer's automatic choice and split look.
const big = new Optimizer([{ name: "w", shape: [1 << 18] }, { name: "b", shape: [1000] }], { threads: "auto" });
for (let i = 0; i < 40; i++) big.step();
const info = big.threadsInfo();
big.dispose();
console.log(JSON.stringify({ backend: backend(), hashes, info }));
process.exit(0);
