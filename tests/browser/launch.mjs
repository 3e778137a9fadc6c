// Debian's Chromium, headless, as every browser test starts it (playwright-core gives each
// launch a fresh temporary profile). `extra` adds flags (autoplay, muted audio…).
import { chromium } from "playwright-core";

export function launch(extra = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      ...extra,
    ],
  });
}
