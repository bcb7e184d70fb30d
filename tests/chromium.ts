/**
 * Headless Chromium for page tests (Debian's `chromium` package). Tests
 * that need it are ignored, visibly, when it is not installed.
 *
 * @module
 */
import { join } from "node:path";

/** The Chromium binary: $CHROMIUM, else `chromium` / `chromium-browser` on PATH. */
export function findChromium(): string | undefined {
  const env = Deno.env.get("CHROMIUM");
  if (env) return env;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    for (const name of ["chromium", "chromium-browser"]) {
      try {
        if (Deno.statSync(join(dir, name)).isFile) return join(dir, name);
      } catch {
        // not here
      }
    }
  }
  return undefined;
}

/** Whether the Chromium tests run; when false they show as ignored. */
export const CHROMIUM = findChromium();

/** Flags of every headless run: no GPU, no network chatter, no first-run pages. */
const HEADLESS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * Loads `url` in a fresh headless Chromium (no network, no profile) and
 * returns the DOM after the load event, as `--dump-dom` prints it. Pages may
 * read file:// pages they embed in iframes (`--allow-file-access-from-files`).
 */
export async function dumpDom(url: string, extraArgs: string[] = []): Promise<string> {
  if (!CHROMIUM) throw new Error("chromium is not installed");
  const profile = await Deno.makeTempDir({ prefix: "grpo-chromium-" });
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        ...HEADLESS,
        "--allow-file-access-from-files",
        "--window-size=1200,900",
        `--user-data-dir=${profile}`,
        ...extraArgs,
        "--dump-dom",
        url,
      ],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(90_000),
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    if (!out.success) {
      throw new Error(
        `chromium exited with ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`,
      );
    }
    return stdout;
  } finally {
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}

/**
 * Loads `pageUrl` in an iframe of a probe page whose script, on the
 * iframe's load, runs `probe` (a JS function body with `doc` and `win`, the
 * iframe's document and window, returning JSON-able data) and returns what
 * it returned.
 */
export async function probePage(pageUrl: string, probe: string): Promise<unknown> {
  const dir = await Deno.makeTempDir({ prefix: "grpo-probe-" });
  try {
    const probeFile = join(dir, "probe.html");
    await Deno.writeTextFile(
      probeFile,
      `<!DOCTYPE html><html><body><pre id="result">pending</pre>
<iframe id="page" width="1100" height="800" src="${pageUrl}"></iframe>
<script>
document.getElementById("page").addEventListener("load", () => {
  const frame = document.getElementById("page");
  let result;
  try {
    result = (function (doc, win) { ${probe} })(frame.contentDocument, frame.contentWindow);
  } catch (e) {
    result = { error: String(e && e.stack || e) };
  }
  document.getElementById("result").textContent = "RESULT:" + JSON.stringify(result) + ":END";
});
</script></body></html>`,
    );
    const dom = await dumpDom(`file://${probeFile}`);
    const m = dom.match(/id="result">RESULT:([\s\S]*?):END</);
    if (!m) throw new Error(`the probe did not finish; DOM:\n${dom.slice(0, 3000)}`);
    const text = m[1].replaceAll("&amp;", "&").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"');
    return JSON.parse(text);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/**
 * Opens `pageUrl` in headless Chromium and evaluates `expression` there
 * over the DevTools protocol, awaiting it if it is a promise (for work that
 * finishes off the main thread, which `--dump-dom` does not wait for).
 * Returns the value, which must be JSON-able.
 */
export async function evaluateInPage(pageUrl: string, expression: string): Promise<unknown> {
  if (!CHROMIUM) throw new Error("chromium is not installed");
  const profile = await Deno.makeTempDir({ prefix: "grpo-chromium-" });
  const child = new Deno.Command(CHROMIUM, {
    args: [
      ...HEADLESS,
      `--user-data-dir=${profile}`,
      "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0",
      "about:blank",
    ],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let drained: Promise<void> = Promise.resolve();
  let socket: WebSocket | undefined;
  const deadline = AbortSignal.timeout(90_000);
  try {
    let log = "", port = "";
    while (!port) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`chromium exited before DevTools listened:\n${log.slice(-2000)}`);
      log += value;
      port = log.match(/DevTools listening on ws:\/\/[^:]+:(\d+)\//)?.[1] ?? "";
    }
    // Keep reading stderr so chromium never blocks on a full pipe.
    drained = (async () => {
      while (!(await reader.read()).done) { /* discard */ }
    })();
    let target: { type: string; url: string; webSocketDebuggerUrl: string } | undefined;
    while (!target) {
      if (deadline.aborted) throw new Error(`no page for ${pageUrl}`);
      const list = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
      target = list.find((t: { type: string }) => t.type === "page");
      if (!target) await new Promise((r) => setTimeout(r, 100));
    }
    socket = new WebSocket(target.webSocketDebuggerUrl);
    const ws = socket;
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("cannot connect to chromium's DevTools"));
    });
    const replies = new Map<number, (msg: Record<string, unknown>) => void>();
    let loaded: () => void = () => {};
    const loadFired = new Promise<void>((r) => (loaded = r));
    ws.onmessage = (e) => {
      const msg = JSON.parse(e.data);
      if (msg.method === "Page.loadEventFired") loaded();
      replies.get(msg.id)?.(msg);
    };
    let nextId = 0;
    const call = (method: string, params: Record<string, unknown>) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        const id = ++nextId;
        replies.set(id, resolve);
        deadline.addEventListener("abort", () => reject(new Error(`${method} timed out`)));
        ws.send(JSON.stringify({ id, method, params }));
      });
    await call("Page.enable", {});
    await call("Page.navigate", { url: pageUrl });
    await loadFired;
    const reply = await call("Runtime.evaluate", {
      expression,
      awaitPromise: true,
      returnByValue: true,
    }) as {
      result?: { result?: { value?: unknown }; exceptionDetails?: unknown };
      error?: unknown;
    };
    if (reply.error || reply.result?.exceptionDetails) {
      throw new Error(
        `page error: ${JSON.stringify(reply.error ?? reply.result?.exceptionDetails)}`,
      );
    }
    return reply.result?.result?.value;
  } finally {
    if (socket) {
      const ws = socket;
      const closed = new Promise((r) => (ws.onclose = r));
      ws.close();
      await closed;
    }
    child.kill("SIGTERM");
    await child.status;
    await drained.catch(() => {});
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
