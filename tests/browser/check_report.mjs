// Loads an HTML report in headless Chromium over the DevTools protocol and
// prints what the page did as one JSON line:
//   {"errors": [...], "attempts": N, "steps": N}
// Usage: node [--experimental-websocket] check_report.mjs CHROMIUM FILE.html [SHOT.png]
// No npm packages: Node's own WebSocket (Node 22+, or 20.10+ with the flag).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const [chromium, html, shot] = process.argv.slice(2);
if (!chromium || !html) {
  console.error("usage: check_report.mjs CHROMIUM FILE.html [SHOT.png]");
  process.exit(2);
}
const profile = mkdtempSync(join(tmpdir(), "coordops-browser-"));
const browser = spawn(chromium, [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--hide-scrollbars", "--window-size=1200,1400",
  `--user-data-dir=${profile}`, "--remote-debugging-port=0", "about:blank",
], { stdio: ["ignore", "ignore", "pipe"] });

function finish(code, report) {
  if (report) console.log(JSON.stringify(report));
  const done = () => {
    try { rmSync(profile, { recursive: true, force: true }); } catch {}
    process.exit(code);
  };
  if (browser.exitCode !== null || browser.signalCode !== null) return done();
  browser.once("exit", done);
  browser.kill("SIGKILL");
}

// Hang guard only: every step below waits on what the browser reports.
setTimeout(() => { console.error("error: the browser did not answer within 120s"); finish(1); }, 120_000).unref();
browser.on("error", (e) => { console.error(`error: cannot start ${chromium}: ${e.message}`); process.exit(1); });

// Chromium prints "DevTools listening on ws://127.0.0.1:PORT/devtools/browser/ID".
const port = await new Promise((resolvePort, reject) => {
  let seen = "";
  browser.stderr.on("data", (chunk) => {
    seen += chunk;
    const m = seen.match(/DevTools listening on ws:\/\/[^:]+:(\d+)\//);
    if (m) resolvePort(m[1]);
  });
  browser.on("exit", (code) => reject(new Error(`chromium exited (${code}): ${seen}`)));
}).catch((e) => { console.error(`error: ${e.message}`); finish(1); });

const targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
const page = targets.find((t) => t.type === "page");
const ws = new WebSocket(page.webSocketDebuggerUrl);
await new Promise((ok, fail) => { ws.onopen = ok; ws.onerror = fail; });

let next = 0;
const pending = new Map();
const errors = [];
let loaded;
const load = new Promise((ok) => { loaded = ok; });
ws.onmessage = (msg) => {
  const m = JSON.parse(msg.data);
  if (m.id !== undefined) {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p.fail(new Error(JSON.stringify(m.error))); else p.ok(m.result);
    return;
  }
  if (m.method === "Runtime.exceptionThrown") errors.push(m.params.exceptionDetails.text);
  if (m.method === "Runtime.consoleAPICalled" && ["error", "assert"].includes(m.params.type)) {
    errors.push(m.params.args.map((a) => a.value ?? a.description).join(" "));
  }
  if (m.method === "Log.entryAdded" && m.params.entry.level === "error") errors.push(m.params.entry.text);
  if (m.method === "Page.loadEventFired") loaded();
};
const send = (method, params = {}) => new Promise((ok, fail) => {
  const id = ++next;
  pending.set(id, { ok, fail });
  ws.send(JSON.stringify({ id, method, params }));
});

try {
  await send("Runtime.enable");
  await send("Log.enable");
  await send("Page.enable");
  await send("Page.navigate", { url: pathToFileURL(resolve(html)).href });
  await load;
  const count = async (selector) => (await send("Runtime.evaluate", {
    expression: `document.querySelectorAll(${JSON.stringify(selector)}).length`,
    returnByValue: true,
  })).result.value;
  const report = {
    errors,
    attempts: await count("[data-attempt]"),
    steps: await count(".timeline .row"),
    svg: await count("svg.flow .node"),
  };
  if (shot) {
    const { data } = await send("Page.captureScreenshot", { format: "png" });
    writeFileSync(shot, Buffer.from(data, "base64"));
  }
  finish(0, report);
} catch (e) {
  console.error(`error: ${e.message}`);
  finish(1);
}
