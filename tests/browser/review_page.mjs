// The review page in headless Chromium: every request it makes, its videos, a click on a word,
// and the decisions form's JSON and TOML.
// Usage: node review_page.mjs SPEC_JSON
//   SPEC_JSON: {"url": page URL, "mode": "full" | "load" | "form", "timeout_s": 60,
//               "uncheck": [clip ids], "titles": {clip id: new title}, "fixes": [[wrong, right], ...],
//               "screenshot": path (optional)}
//   load: open the page, scroll through it, wait for its videos; full: load, then click one word
//   per clip and fill the form; form: fill the form only (the media may be absent).
// Prints one JSON report: {requests: [{url, resource, status, failure}], videos: [{clip,
// readyState, error}], seeks: [{clip, word, target, seeking, seeked}], json, toml, status, errors}.
// Exits 1 (with the error on stderr) only when the page itself could not be driven.
import { launch } from "./launch.mjs";

const spec = JSON.parse(process.argv[2]);
const mode = spec.mode ?? "full";
const timeout = Number(spec.timeout_s ?? 60) * 1000;

const browser = await launch(["--autoplay-policy=no-user-gesture-required", "--mute-audio"]);
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
page.setDefaultTimeout(timeout);

const requests = [];
const byRequest = new Map();
const short = (url) => url.split("?")[0];
page.on("request", (request) => {
  const entry = { url: short(request.url()), resource: request.resourceType(), status: null, failure: null };
  byRequest.set(request, entry);
  requests.push(entry);
});
page.on("response", (response) => {
  const entry = byRequest.get(response.request());
  if (entry) entry.status = response.status();
});
page.on("requestfailed", (request) => {
  const entry = byRequest.get(request);
  if (entry) entry.failure = request.failure()?.errorText ?? "failed";
});
const errors = [];
page.on("console", (message) => {
  if (message.type() === "error") errors.push(message.text());
});
page.on("pageerror", (error) => errors.push(String(error)));

const report = { requests, videos: [], seeks: [], json: null, toml: null, status: null, errors };

async function load() {
  await page.goto(spec.url, { waitUntil: "load" });
  // Lazy images load once seen: go through the whole page.
  await page.evaluate(async () => {
    for (let y = 0; y < document.body.scrollHeight; y += 600) {
      window.scrollTo(0, y);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    window.scrollTo(0, 0);
  });
  await page
    .waitForFunction(
      () => Array.from(document.querySelectorAll("video")).every((v) => v.readyState >= 2 || v.error),
      null,
      { timeout },
    )
    .catch(() => {});
  await page.waitForLoadState("networkidle").catch(() => {});
  report.videos = await page.evaluate(() =>
    Array.from(document.querySelectorAll("section.clip video"), (v) => ({
      clip: v.closest("section.clip").dataset.clip,
      readyState: v.readyState,
      error: v.error ? v.error.code : null,
      duration: v.duration,
    })),
  );
}

// Click the middle word of each clip; the clip's video must seek to the word's time.
async function seekEach() {
  const clips = await page.evaluate(() =>
    Array.from(document.querySelectorAll("section.clip"))
      .filter((s) => s.querySelector("video") && s.querySelector(".w[data-t]"))
      .map((s) => s.dataset.clip),
  );
  for (const clip of clips) {
    const section = page.locator(`section.clip[data-clip="${clip}"]`);
    const words = section.locator(".w[data-t]");
    const word = words.nth(Math.floor((await words.count()) / 2));
    const target = Number(await word.getAttribute("data-t"));
    // Where the video is when the seek starts, and once it is done (playback may have resumed).
    await section.evaluate((s) => {
      const video = s.querySelector("video");
      video.addEventListener("seeking", () => (s.dataset.seekingAt = String(video.currentTime)), { once: true });
      video.addEventListener("seeked", () => (s.dataset.seekedAt = String(video.currentTime)), { once: true });
    });
    await word.click();
    await page.waitForFunction((s) => s.dataset.seekedAt !== undefined, await section.elementHandle(), { timeout });
    report.seeks.push({
      clip,
      word: await word.innerText(),
      target,
      seeking: Number(await section.getAttribute("data-seeking-at")),
      seeked: Number(await section.getAttribute("data-seeked-at")),
    });
    await section.locator("video").evaluate((v) => v.pause());
  }
}

async function fillForm() {
  const form = page.locator("#decisions-form");
  for (const clip of spec.uncheck ?? []) {
    await form.locator(`tr.decision[data-clip="${clip}"] input[name=publish]`).uncheck();
  }
  for (const [clip, title] of Object.entries(spec.titles ?? {})) {
    await form.locator(`tr.decision[data-clip="${clip}"] input[name=title]`).fill(title);
  }
  for (const [wrong, right] of spec.fixes ?? []) {
    await form.locator("#add-fix").click();
    const row = form.locator("#fixes tbody tr.fix").last();
    await row.locator("input[name=wrong]").fill(wrong);
    await row.locator("input[name=right]").fill(right);
  }
  const out = page.locator("#decisions-out");
  for (const format of ["json", "toml"]) {
    await form.locator(`#copy-${format}`).click();
    await page.waitForFunction((f) => document.getElementById("decisions-out").dataset.format === f, format);
    report[format] = await out.inputValue();
  }
  await page.waitForFunction(() => document.getElementById("decisions-status").textContent !== "", null, {
    timeout: 5000,
  }).catch(() => {});
  report.status = await page.locator("#decisions-status").textContent();
}

try {
  if (mode === "form") await page.goto(spec.url, { waitUntil: "domcontentloaded" });
  else await load();
  if (mode === "full") await seekEach();
  if (mode !== "load") await fillForm();
  if (spec.screenshot) await page.screenshot({ path: spec.screenshot, fullPage: true });
  console.log(JSON.stringify(report));
  await browser.close();
} catch (error) {
  console.error(`${error.stack ?? error}\nURL: ${page.url()}\nReport so far: ${JSON.stringify(report)}`);
  await browser.close();
  process.exit(1);
}
