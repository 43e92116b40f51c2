// Headless Debian Chromium for the browser tests: one launcher with the flags this kind of machine
// needs (no sandbox as root, no GPU, no /dev/shm, and no background network services, whose
// connections a closed network refuses many at a time).
import type { Browser } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";

export function launchChromium(): Promise<Browser> {
  // Loaded here so that a test file that skips never loads playwright-core.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { chromium } = require("playwright-core") as typeof import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-dev-shm-usage",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
