// Nothing hangs: the runner stops a test file that leaves a server or a child process running or that runs
// past its time limit, fails it by name, and exits; a test that needs Chromium is skipped without it (with
// the line that installs it) and fails under CI=true; and the runtime matrix, with no Chromium anywhere,
// fails its Chromium part and exits. The fixtures are in tests/fixtures/runner/ (not *.test.js: the
// runner does not pick them up by itself).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFileSync } from "node:child_process";

const here = fileURLToPath(new URL(".", import.meta.url));
const fixture = (name) => join(here, "fixtures", "runner", name);

// A PATH with node and npm and no Chromium under any of its names, and a CHROMIUM_PATH that points nowhere.
const bin = mkdtempSync(join(tmpdir(), "fused-adam-nochromium-"));
symlinkSync(process.execPath, join(bin, "node"));
symlinkSync(realpathSync(execFileSync("sh", ["-c", "command -v npm"], { encoding: "utf8" }).trim()), join(bin, "npm"));
const noChromium = { ...process.env, PATH: bin, CHROMIUM_PATH: join(bin, "no-chromium-here") };
delete noChromium.CI;

/** Runs a command to its end (or kills it after `limit` ms); resolves { code, out, seconds, killed }. */
function run(args, env, limit) {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      process.kill(-child.pid, "SIGKILL");
    }, limit);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, out, seconds: (Date.now() - started) / 1000, killed });
    });
  });
}

const runner = join(here, "run.js");
const closing = (out) => out.trim().split("\n").pop();

test("a file that leaves a server listening fails by name, and the runner exits", async () => {
  const r = await run([runner, fixture("leaves-server.js")], { ...noChromium, FUSED_ADAM_EXIT_GRACE: "2" }, 60_000);
  assert.not.ok(r.killed, `the runner hung:\n${r.out}`);
  assert.is(r.code, 1);
  assert.match(r.out, /leaves-server\.js: its tests ended but the process did not exit within 2 s/);
  assert.is(closing(r.out), "1 passed, 1 failed, 0 skipped");
});

test("a file that leaves a child process running fails by name; the child is killed", async () => {
  const r = await run([runner, fixture("leaves-child.js")], noChromium, 60_000);
  assert.not.ok(r.killed, `the runner hung:\n${r.out}`);
  assert.match(r.out, /leaves-child\.js: left processes running after it exited \(killed now\)/);
  assert.is(closing(r.out), "1 passed, 1 failed, 0 skipped");
});

test("a file that runs over its time limit is stopped and fails by name", async () => {
  const r = await run([runner, fixture("runs-over.js")], { ...noChromium, FUSED_ADAM_TEST_LIMIT: "3" }, 60_000);
  assert.not.ok(r.killed, `the runner hung:\n${r.out}`);
  assert.match(r.out, /runs-over\.js: ran over its time limit of 3 s and was stopped/);
  assert.is(closing(r.out), "0 passed, 1 failed, 0 skipped");
});

test("without Chromium: skipped with its install line, counted; under CI=true it fails", async () => {
  const r = await run([runner, fixture("needs-chromium.js")], noChromium, 60_000);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /SKIPPED .*needs-chromium\.js: needs Chromium \(needs Chromium; install: apt-get update && apt-get install -y chromium\)/);
  assert.is(closing(r.out), "1 passed, 0 failed, 1 skipped");
  const ci = await run([runner, fixture("needs-chromium.js")], { ...noChromium, CI: "true" }, 60_000);
  assert.is(ci.code, 1);
  assert.match(ci.out, /Chromium is required under CI=true but was not found; install it with: apt-get update && apt-get install -y chromium/);
  assert.is(closing(ci.out), "1 passed, 1 failed, 0 skipped");
});

test("the runtime matrix without Chromium: its Chromium part fails saying how to install it, and the process exits", async () => {
  const r = await run([join(here, "runtimes", "matrix.js"), "chromium"], noChromium, 240_000);
  assert.not.ok(r.killed, `the matrix hung:\n${r.out}`);
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /FAIL chromium: Chromium was not found .*install it with: apt-get update && apt-get install -y chromium/);
  const t = await run([join(here, "threads", "browser.js")], noChromium, 60_000);
  assert.not.ok(t.killed, `the threads page hung:\n${t.out}`);
  assert.match(t.out, /Chromium was not found/);
  assert.is.not(t.code, 0);
});

test.after(() => rmSync(bin, { recursive: true, force: true }));

test.run();
