// Prefect UI click-through: open a deployment, Run → Custom run, fill the parameters, submit,
// then wait on the flow run page until it shows "Completed".
// Usage: node custom_run.mjs UI_URL DEPLOYMENT_ID PARAMS_JSON OUT_DIR [TIMEOUT_S]
// PARAMS_JSON: {"name": value} for string and integer parameters of the form.
// Prints {"flow_run_id": ...} on success; on failure saves OUT_DIR/failure.png and exits 1.
import { launch } from "./launch.mjs";

const [ui, deploymentId, paramsJson, outDir, timeoutS = "240"] = process.argv.slice(2);
const params = JSON.parse(paramsJson);
const deadline = Date.now() + Number(timeoutS) * 1000;

const browser = await launch();
// playwright-core launches with a fresh temporary profile (its own --user-data-dir).
const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
page.setDefaultTimeout(30_000);

// One form property by its label ("name" or "name (Optional)").
const property = (name) =>
  page.locator(".schema-form-property").filter({
    has: page.locator(".schema-form-property__label", { hasText: new RegExp(`^${name}( \\(Optional\\))?$`) }),
  });

// Fill every parameter field, checking that each value stuck.
async function fillForm() {
  for (const [name, value] of Object.entries(params)) {
    const prop = property(name);
    const type = typeof value === "number" ? "int" : "str";
    // Optional parameters show a type switch (str | None) that starts on None.
    const toggle = prop.getByRole("button", { name: type, exact: true });
    if ((await toggle.count()) > 0 && (await toggle.getAttribute("aria-selected")) !== "true") await toggle.click();
    // The field can be re-rendered right after the type switch: fill, leave the field (the form
    // takes the value on change), and check that the value stuck before going on.
    let stuck = false;
    for (let attempt = 0; attempt < 5 && !stuck; attempt++) {
      const input = prop.locator("textarea, input").first();
      await input.fill(String(value));
      await input.press("Tab");
      await page.waitForTimeout(300);
      stuck = (await prop.locator("textarea, input").first().inputValue()) === String(value);
    }
    if (!stuck) throw new Error(`the form did not keep ${name} = ${value}`);
  }
  await page.waitForTimeout(500);
}

try {
  await page.goto(`${ui}/deployments/deployment/${deploymentId}`);
  // Exact match: the "Runs" navigation item also matches "Run".
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await page.getByText("Custom run", { exact: true }).click();
  // The form is filled only once the page has loaded the deployment (its defaults arrive over
  // the network and can land on top of a value typed too early).
  await page.waitForLoadState("networkidle");
  // What the UI sends is what counts: the create-flow-run request is checked before it leaves,
  // and a request whose parameters differ from what was typed is held back and the form filled
  // again (one CI run submitted auto_clips = 1 while the field showed 0).
  let sent = null;
  let mismatch = null;
  await page.route("**/deployments/*/create_flow_run", async (route) => {
    const body = route.request().postDataJSON() ?? {};
    const got = body.parameters ?? {};
    const wrong = Object.entries(params).filter(([k, v]) => got[k] !== v);
    if (wrong.length > 0) {
      mismatch = wrong.map(([k, v]) => `${k} = ${JSON.stringify(got[k])}, not ${JSON.stringify(v)}`).join("; ");
      await route.abort();
    } else {
      sent = got;
      await route.continue();
    }
  });
  for (let round = 0; round < 3 && !sent; round++) {
    if (round > 0) {
      console.error(`the UI sent ${mismatch}: filling the form again`);
      mismatch = null;
    }
    await fillForm();
    await page.getByRole("button", { name: "Submit", exact: true }).click();
    const roundEnd = Math.min(deadline, Date.now() + 30_000);
    while (!sent && !mismatch && Date.now() < roundEnd) await page.waitForTimeout(200);
    if (!sent && !mismatch) throw new Error("Submit sent no create_flow_run request within 30 s");
  }
  if (!sent) throw new Error(`the UI kept sending other parameters than typed: ${mismatch}`);
  // Routing turns the browser's HTTP cache off; the run page reloads below need it back.
  await page.unrouteAll({ behavior: "ignoreErrors" });

  // The UI opens the new flow run, or offers a link to it in a toast.
  let flowRunId = null;
  while (!flowRunId && Date.now() < deadline) {
    const m = page.url().match(/\/runs\/flow-run\/([0-9a-f-]{36})/);
    if (m) flowRunId = m[1];
    else {
      const link = page.locator('a[href*="/runs/flow-run/"]').first();
      if ((await link.count()) > 0) flowRunId = (await link.getAttribute("href")).match(/([0-9a-f-]{36})/)[1];
      else await page.waitForTimeout(500);
    }
  }
  if (!flowRunId) throw new Error("no flow run appeared after Submit");
  if (!page.url().includes(flowRunId)) await page.goto(`${ui}/runs/flow-run/${flowRunId}`);

  const terminal = /^(Completed|Failed|Crashed|Cancelled)$/;
  let state = null;
  while (Date.now() < deadline) {
    const badges = page.locator(".state-badge");
    await badges.first().waitFor({ timeout: 15_000 }).catch(() => {});
    const texts = (await badges.allInnerTexts()).map((t) => t.trim());
    state = texts.find((t) => terminal.test(t)) ?? null;
    if (state) break;
    await page.waitForTimeout(3000);
    await page.reload();
  }
  if (state !== "Completed") throw new Error(`flow run ${flowRunId} shows ${state ?? "no final state"} in the UI`);
  await page.screenshot({ path: `${outDir}/completed.png` });
  console.log(JSON.stringify({ flow_run_id: flowRunId, state }));
  await browser.close();
} catch (error) {
  await page.screenshot({ path: `${outDir}/failure.png`, fullPage: true }).catch(() => {});
  console.error(`${error.stack ?? error}\nURL: ${page.url()}\nScreenshot: ${outDir}/failure.png`);
  await browser.close();
  process.exit(1);
}
