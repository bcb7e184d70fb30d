/**
 * `grpo report`: the metrics a run logged, as one self-contained HTML page.
 *
 * @module
 */
import { writeReport } from "../io/report.ts";
import { type Command, defineCommand } from "./command.ts";

/** `grpo report`. */
export const reportCommand: Command = defineCommand({
  name: "report",
  summary: "write an HTML page with a chart of every logged metric (no TensorBoard needed)",
  usage: "grpo report LOGDIR [LOGDIR...] [--output FILE] [--smoothing 0.6]",
  flags: {
    output: {
      type: "string",
      help: "where to write the page (default: LOGDIR/report.html; required with several LOGDIRs)",
    },
    smoothing: {
      type: "number",
      default: 0.6,
      range: { min: 0, max: 1, maxOpen: true },
      help: "TensorBoard-style smoothing weight in [0, 1); 0 shows raw values only",
    },
    title: { type: "string", help: "the page's title (default: the run names)" },
  },
  maxPositionals: Infinity,
  async run({ values, positionals }) {
    const { path, metrics, rows } = await writeReport(positionals, {
      output: values.output,
      smoothing: values.smoothing,
      title: values.title,
    });
    console.log(`wrote ${path} (${metrics} metrics from ${rows} rows)`);
  },
});
