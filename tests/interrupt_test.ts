/**
 * Signals outside `grpo train`'s loop: a second signal quits at once even
 * while JavaScript runs without turning the event loop, and `grpo pretrain`
 * stops on Ctrl-C after a batch with last.safetensors saved.
 */
import { join } from "node:path";
import { assert, assertEquals } from "./assert.ts";
import { exists, flags, grpoProcess, inTempDir, onlyEntry, until } from "./cli_helpers.ts";

/** Reads `stream` until its text so far includes `text`; returns that text. */
async function readUntil(
  reader: ReadableStreamDefaultReader<string>,
  seen: { text: string },
  text: string,
): Promise<void> {
  while (!seen.text.includes(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended before "${text}": ${seen.text}`);
    seen.text += value;
  }
}

Deno.test("after the first signal, a second one quits at once, even in busy synchronous code", () =>
  inTempDir("grpo-signal-", async (dir) => {
    const script = join(dir, "busy.ts");
    const stopSignal = new URL("../src/cli/interrupt.ts", import.meta.url).href;
    Deno.writeTextFileSync(
      script,
      `import { StopSignal } from ${JSON.stringify(stopSignal)};
const stop = StopSignal.listen(() => console.log("first"));
console.log("ready");
while (!(await stop.poll())) await new Promise((r) => setTimeout(r, 10));
console.log("busy");
const t = Date.now();
while (Date.now() - t < 60_000) { /* no event loop turns here */ }
console.log("survived");
`,
    );
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script],
      stdin: "null",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const seen = { text: "" };
    await readUntil(reader, seen, "ready");
    child.kill("SIGINT");
    await readUntil(reader, seen, "busy");
    child.kill("SIGINT");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen.text += value;
    }
    const status = await child.status;
    assertEquals(status.signal, "SIGINT", seen.text);
    assert(!seen.text.includes("survived"), seen.text);
  }));

Deno.test("Ctrl-C stops grpo pretrain after a batch, saves last.safetensors, exits 130", () =>
  inTempDir("grpo-pretrain-sigint-", async (dir) => {
    const child = grpoProcess([
      "pretrain",
      ...flags({
        "num-episodes": 40,
        "num-epochs": 200,
        "embed-dim": 8,
        "n-layer": 1,
        "n-head": 1,
        "context-length": 4,
        "batch-size": 4,
        device: "cpu",
        out: "ck",
      }),
    ], dir);
    const epochLogged = () => {
      try {
        return Deno.readTextFileSync(join(onlyEntry(join(dir, "ck")), "metrics.jsonl"))
          .includes("\n");
      } catch {
        return false;
      }
    };
    const reached = await until(epochLogged, child);
    child.kill("SIGINT");
    const out = await child.output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert(reached, text);
    assertEquals(out.code, 130, text);
    assertEquals(out.signal, null, "exited by itself, not killed");
    const runDir = onlyEntry(join(dir, "ck"));
    assert(exists(join(runDir, "last.safetensors")), text);
    assert(exists(join(runDir, "best_model.safetensors")), text);
    assert(text.includes("stopped after"), text);
  }));
