/**
 * grpo's version, from deno.json (written into checkpoints).
 *
 * @module
 */
import config from "../deno.json" with { type: "json" };

/** The package version. */
export const GRPO_VERSION: string = config.version;
