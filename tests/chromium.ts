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

/**
 * Loads `url` in a fresh headless Chromium (no network, no profile) and
 * returns the DOM after the load event, as `--dump-dom` prints it. Pages may
 * read file:// pages they embed in iframes (`--allow-file-access-from-files`).
 */
export async function dumpDom(url: string): Promise<string> {
  if (!CHROMIUM) throw new Error("chromium is not installed");
  const profile = await Deno.makeTempDir({ prefix: "grpo-chromium-" });
  try {
    const out = await new Deno.Command(CHROMIUM, {
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--allow-file-access-from-files",
        "--window-size=1200,900",
        `--user-data-dir=${profile}`,
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
    const m = dom.match(/RESULT:([\s\S]*?):END/);
    if (!m) throw new Error(`the probe did not finish; DOM:\n${dom.slice(0, 3000)}`);
    const text = m[1].replaceAll("&amp;", "&").replaceAll("&lt;", "<").replaceAll("&gt;", ">")
      .replaceAll("&quot;", '"');
    return JSON.parse(text);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
