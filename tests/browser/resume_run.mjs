// Prefect UI: resume a paused (or suspended) flow run from its page, as a producer does: click
// Resume, switch off the clips to leave out, add word fixes, Submit.
// Usage: node resume_run.mjs UI_URL FLOW_RUN_ID SPEC_JSON OUT_DIR
//   SPEC_JSON: {"drop": [index of each clip to switch off, in the form's order],
//               "fixes": [[wrong, right], ...], "timeout_s": 60}
// Prints {"resumed": true, "clips": n} once the form was submitted; on failure saves
// OUT_DIR/resume-failure.png and exits 1.
import { launch } from "./launch.mjs";

const [ui, runId, specJson, outDir] = process.argv.slice(2);
const spec = JSON.parse(specJson);
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.setDefaultTimeout(Number(spec.timeout_s ?? 60) * 1000);

try {
  await page.goto(`${ui}/runs/flow-run/${runId}`);
  await page.getByRole("button", { name: "Resume", exact: true }).first().click();
  const modal = page.locator(".p-modal__card").filter({ hasText: "Resume Flow Run" });
  await modal.waitFor();
  const switches = modal.getByRole("switch");
  await switches.first().waitFor();
  const clips = await switches.count();
  for (const i of spec.drop ?? []) {
    const toggle = switches.nth(i);
    await toggle.click();
    if ((await toggle.getAttribute("aria-checked")) !== "false") throw new Error(`clip ${i} is still switched on`);
  }
  const fixes = modal.locator(".schema-form-property").filter({
    has: page.locator(".schema-form-property__label", { hasText: /^Fixes( \(Optional\))?$/ }),
  });
  for (const [n, [wrong, right]] of (spec.fixes ?? []).entries()) {
    await fixes.getByRole("button", { name: "Add item" }).click();
    const field = (label) =>
      fixes
        .locator(".schema-form-property")
        .filter({ has: page.locator(".schema-form-property__label", { hasText: new RegExp(`^${label}( \\(Optional\\))?$`) }) })
        .nth(n)
        .locator("textarea, input")
        .first();
    await field("Wrong").fill(wrong);
    await field("Right").fill(right);
    await field("Right").press("Tab");
  }
  await page.waitForTimeout(300);
  // On SQLite, the server can refuse a write at once when another writer got in first ("database
  // is locked" without waiting: a read transaction cannot become a write one). The UI then shows
  // its error toast and keeps the form as filled, and a producer clicks Submit again: so do we,
  // at most three times.
  const refused = page.getByText("Something went wrong");
  for (let attempt = 1; ; attempt++) {
    const before = await refused.count();
    await modal.getByRole("button", { name: "Submit", exact: true }).click();
    const deadline = Date.now() + Number(spec.timeout_s ?? 60) * 1000;
    let outcome = "timeout";
    while (Date.now() < deadline) {
      if (!(await modal.isVisible())) { outcome = "resumed"; break; }
      if ((await refused.count()) > before) { outcome = "refused"; break; }
      await page.waitForTimeout(200);
    }
    if (outcome === "resumed") break;
    if (outcome === "timeout") throw new Error("the Resume form neither closed nor showed an error after Submit");
    console.error(`Submit attempt ${attempt} was refused by the server`);
    if (attempt === 3) throw new Error("the server refused the Resume form three times");
    await page.waitForTimeout(1000);
  }
  console.log(JSON.stringify({ resumed: true, clips }));
} catch (err) {
  await page.screenshot({ path: `${outDir}/resume-failure.png`, fullPage: true }).catch(() => {});
  console.error(String(err?.stack ?? err));
  process.exitCode = 1;
} finally {
  await browser.close();
}
