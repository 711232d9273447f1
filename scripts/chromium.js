// Where Chromium is, looked up as a user would have it: $CHROMIUM_PATH, else the first of chromium,
// chromium-browser or google-chrome on PATH. The tests, the runtime matrix and the MNIST screenshot use it;
// playwright-core drives whatever this finds (it downloads no browser of its own).
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, join } from "node:path";

export const CHROMIUM_NAMES = ["chromium", "chromium-browser", "google-chrome"];
/** The one line that installs it (Debian, Ubuntu). */
export const CHROMIUM_INSTALL = "apt-get update && apt-get install -y chromium";
export const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync",
];

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The Chromium executable, or null when there is none. */
export function findChromium(env = process.env) {
  const candidates = env.CHROMIUM_PATH ? [env.CHROMIUM_PATH] : [];
  for (const dir of (env.PATH ?? "").split(delimiter)) if (dir) for (const name of CHROMIUM_NAMES) candidates.push(join(dir, name));
  return candidates.find(executable) ?? null;
}

/** The Chromium executable, or an error that says where it looked and how to install it. */
export function requireChromium(env = process.env) {
  const found = findChromium(env);
  if (found) return found;
  const where = [env.CHROMIUM_PATH ? `CHROMIUM_PATH=${env.CHROMIUM_PATH}` : "CHROMIUM_PATH (unset)", `${CHROMIUM_NAMES.join(", ")} on PATH`];
  throw new Error(`Chromium was not found (looked at ${where.join("; ")}); install it with: ${CHROMIUM_INSTALL}`);
}
