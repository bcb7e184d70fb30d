/**
 * `grpo inspect`: the metadata and tensor table of a checkpoint (or any
 * safetensors file, such as a dataset).
 *
 * @module
 */
import { InputError } from "../errors.ts";
import { readSafetensors } from "../io/safetensors.ts";
import { CHECKPOINT_FORMAT, checkpointInfo } from "../model/checkpoint.ts";
import { type Command, defineCommand } from "./command.ts";
import { maxOf } from "../range.ts";

/** `text` with control characters escaped, so a file's strings cannot move the cursor or add lines. */
function printable(text: string): string {
  return text.replace(
    // deno-lint-ignore no-control-regex
    /[\u0000-\u001f\u007f-\u009f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** `grpo inspect`. */
export const inspectCommand: Command = defineCommand({
  name: "inspect",
  summary: "print a checkpoint's metadata and tensor table",
  usage: "grpo inspect CKPT [--json]",
  flags: { json: { type: "boolean", help: "print one JSON object" } },
  maxPositionals: 1,
  async run({ values, positionals }) {
    const path = positionals[0];
    if (!path || positionals.length > 1) {
      throw new InputError(
        "grpo inspect: give one file, e.g. grpo inspect checkpoints/gym_cartpole_*/best_model.safetensors",
      );
    }
    const file = await readSafetensors(path);
    // A grpo checkpoint is validated as such; other safetensors files are just listed.
    if (file.metadata.format === CHECKPOINT_FORMAT) checkpointInfo(file, path);
    const rows = [...file.tensors].map(([name, t]) => ({
      name,
      dtype: t.dtype,
      shape: t.shape,
      count: t.data.length,
      non_finite: countNonFinite(t.data),
    }));
    // Listed, not refused: inspect is how one looks at a broken file.
    for (const r of rows.filter((r) => r.non_finite > 0)) {
      console.error(
        `warning: tensor ${r.name} holds ${r.non_finite} NaN or infinite value(s); eval, act and train refuse this file`,
      );
    }
    if (values.json) {
      console.log(JSON.stringify({ file: path, metadata: file.metadata, tensors: rows }));
      return;
    }
    console.log(`${path}\n\nmetadata:`);
    const width = maxOf([0, ...Object.keys(file.metadata).map((k) => k.length)]);
    for (const [k, text] of Object.entries(file.metadata)) {
      console.log(`  ${printable(k).padEnd(width)}  ${printable(text)}`);
    }
    const nameWidth = maxOf([4, ...rows.map((r) => r.name.length)]);
    console.log(`\ntensors:\n  ${"name".padEnd(nameWidth)}  dtype  ${"shape".padEnd(14)}  values`);
    for (const r of rows) {
      console.log(
        `  ${printable(r.name).padEnd(nameWidth)}  ${r.dtype.padEnd(5)}  ${
          `[${r.shape.join(", ")}]`.padEnd(14)
        }  ${r.count}`,
      );
    }
    const total = rows.reduce((n, r) => n + r.count, 0);
    console.log(`\n${rows.length} tensors, ${total} values`);
  },
});

function countNonFinite(data: ArrayLike<number>): number {
  if (!(data instanceof Float32Array || data instanceof Float64Array)) return 0;
  let n = 0;
  for (let i = 0; i < data.length; i++) if (!Number.isFinite(data[i])) n++;
  return n;
}
