/**
 * The Decision Transformer (Chen et al. 2021, arXiv 2106.01345) in tfjs,
 * written nanoGPT-style.
 *
 * A trajectory is the token sequence R_0, s_0, a_0, R_1, s_1, a_1, ... where
 * R_t is the return-to-go (target return minus rewards so far). Each token is
 * a linear embedding of its input plus a learned embedding of the episode
 * timestep t; a causal pre-LayerNorm GPT reads the sequence and the action
 * head reads the output at s_t to predict a_t (categorical logits, or a
 * Gaussian mean with a state-independent log-std).
 *
 * **Context.** The policy's context at episode step t is the current aligned
 * chunk of the episode: steps K*floor(t/K) .. t (K = `contextLength`). This is
 * what lets rollouts run incrementally with a KV cache and stay exact: with
 * DT's sliding window, every cached key would depend on the step that just
 * dropped out and would have to be recomputed (cost K per step). With aligned
 * chunks, one call per step appends the new tokens (a_{t-1}, R_t, s_t) to the
 * cache, and its output equals a full forward over the chunk (tested). The
 * cache slots of a chunk are the full forward's sequence positions, and an
 * env whose episode restarts (t = 0) starts a fresh chunk by itself: nothing
 * needs resetting. Training segments may start anywhere (behaviour cloning
 * uses random phases so the model sees every context length); PPO uses the
 * aligned chunks that rollouts saw. Segments shorter than K are padded at
 * the END, so padding can never influence a real position (causal mask) and
 * only the loss needs masking.
 *
 * Inputs are raw env values: the model normalizes observations
 * ((obs - mean) / std) and returns (/ returnScale) itself, with statistics
 * fixed at creation and saved in the checkpoint. Timesteps are looked up with
 * a custom gather whose gradient is a scatter-add, and discrete actions are
 * embedded as one-hot matMuls, because tfjs wasm has no gradient for gather;
 * on wasm a batch's tokens are one gradient node (`token_embedding.ts`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { TensorEntry } from "../io/safetensors.ts";
import { type ActionDist, entropy, logProb } from "./distribution.ts";
import { readAll } from "./readback.ts";
import { constantVariable, InitRandom } from "./init.ts";
import {
  causalMask,
  dense,
  embeddingLookup,
  everyNthToken,
  gelu,
  layerNorm,
  multiHeadAttention,
  oneHot,
  tidy,
} from "./layers.ts";
import { stepSlots } from "./kv_slots.ts";
import {
  embedStepOnWasm,
  embedTokensOnWasm,
  type TokenScaling,
  type TokenWeights,
} from "./token_embedding.ts";
import { type BlockWeights, wasmBlock } from "./wasm_block.ts";

/**
 * Sizes and input statistics of a Decision Transformer.
 *
 * Default sizes (see {@linkcode DEFAULT_DT_SIZES}) were picked by timing
 * training steps on the 2-core CPU machine with tfjs wasm.
 */
export interface DecisionTransformerConfig {
  /** Observation length. */
  obsDim: number;
  /** `discrete`: a categorical over `actDim` choices; `continuous`: a Gaussian over `actDim` dims. */
  actionKind: "discrete" | "continuous";
  /** Number of choices (discrete) or action dimensions (continuous). */
  actDim: number;
  /** Width of the residual stream. */
  embedDim: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads (must divide embedDim). */
  nHead: number;
  /** K: timesteps of context (3K tokens). */
  contextLength: number;
  /** Timesteps with an embedding (the env's episode limit); later steps share the last one. */
  maxTimestep: number;
  /** Dropout rate on embeddings, attention weights and residual branches (training only). */
  dropout: number;
  /** Observation mean, subtracted before embedding. */
  obsMean: number[];
  /** Observation standard deviation (divides after centering). */
  obsStd: number[];
  /** Returns-to-go are divided by this before embedding. */
  returnScale: number;
}

/**
 * Default sizes, picked for docs/spec.md's runs on a 2-core CPU (tfjs wasm is
 * single-threaded). `deno run -A bench/dt_sizes.ts` times one Adam step on a
 * batch of 64 segments; on that machine: DT's gym setting (embed 128, 3
 * layers, K 20) ~1300 ms; embed 64 / 2 layers / K 20 ~410 ms; embed 64 / 2
 * layers / K 10 ~220 ms; embed 32 / 2 layers / K 10 ~105 ms. Cost grows
 * faster than K because wasm's batched matMul (attention) is a naive loop.
 * CartPole-type control is Markov, so 10 steps of context lose nothing that
 * 20 would give, and random-policy data (~22k steps for 1000 episodes) does
 * not need more than 64 wide and 2 deep; one head is faster than two at the
 * same width on wasm.
 *
 * Dropout is 0.3, not the DT paper's 0.1: trained on random play, the model
 * must extrapolate to returns several times its data's best, and the stronger
 * regularizer does that better (CartPole's best_model at target 500, seeds
 * 0-7: mean 362.5 and 6 of 8 seeds >= 250, against 242.3 and 3 of 8 at 0.1;
 * docs/results.md). Stage 2 trains without dropout.
 */
export const DEFAULT_DT_SIZES = {
  embedDim: 64,
  nLayer: 2,
  nHead: 1,
  contextLength: 10,
  dropout: 0.3,
} as const;

/** A batch of trajectory segments, all [B, K, ...]; padding goes at the end of a segment. */
export interface SegmentBatch {
  /** [B, K] raw returns-to-go. */
  returnsToGo: tf.Tensor2D;
  /** [B, K, obsDim] raw observations. */
  obs: tf.Tensor3D;
  /** [B, K, A] actions in the env layout (a discrete action is its index as a float). */
  actions: tf.Tensor3D;
  /** [B, K] int32 episode timesteps. */
  timesteps: tf.Tensor2D;
}

/** One step of a batch of N envs for {@linkcode DecisionTransformer.act}. */
export interface StepInput {
  /** [N] raw return-to-go at this step. */
  returnToGo: tf.Tensor1D;
  /** [N, obsDim] current observations. */
  obs: tf.Tensor2D;
  /** [N, A] the action each env took at the previous step (ignored at chunk starts). */
  prevAction: tf.Tensor2D;
  /** [N] int32 episode timestep t of `obs` (0 right after a reset). */
  timestep: tf.Tensor1D;
}

/** Per-layer keys and values of N envs' current chunks: [N, 3K, embedDim] each. */
export class KVCache {
  constructor(public keys: tf.Tensor3D[], public values: tf.Tensor3D[]) {}

  /** Number of envs. */
  get size(): number {
    return this.keys[0].shape[0];
  }

  /** The tensors themselves by checkpoint name, `k.<layer>` and `v.<layer>` (not copies). */
  named(): Map<string, tf.Tensor3D> {
    const out = new Map<string, tf.Tensor3D>();
    for (const [l, k] of this.keys.entries()) out.set(`k.${l}`, k);
    for (const [l, v] of this.values.entries()) out.set(`v.${l}`, v);
    return out;
  }

  /** The tensors as checkpoint entries, `k.<layer>` and `v.<layer>`, read with one readback. */
  async entries(): Promise<Map<string, TensorEntry>> {
    const named = [...this.named()];
    const data = await readAll(named.map(([, t]) => tf.clone(t)));
    return new Map(
      named.map(([name, t], k) => [name, { dtype: "F32", shape: t.shape, data: data[k] }]),
    );
  }

  /**
   * A copy on the device, no readback: on WebGPU a clone shares the
   * tensor's buffer, which stays valid because `act` replaces the cache's
   * tensors rather than writing into them.
   */
  clone(): KVCache {
    const copy = (ts: tf.Tensor3D[]) => ts.map((t) => tf.keep(tf.clone(t)));
    return new KVCache(copy(this.keys), copy(this.values));
  }

  /** Replaces the tensors by copies of `other`'s (on the device; `other` stays valid). */
  assign(other: KVCache): void {
    const copy = other.clone();
    this.dispose();
    this.keys = copy.keys;
    this.values = copy.values;
  }

  /** Replaces the tensors by entries that {@linkcode KVCache.entries} wrote. */
  load(entries: Map<string, TensorEntry>): void {
    const tensor = (name: string) => {
      const e = entries.get(name);
      if (!e) throw new Error(`checkpoint lacks the KV cache tensor ${name}`);
      return tf.keep(tf.tensor3d(e.data as Float32Array, e.shape as [number, number, number]));
    };
    const layers = this.keys.length;
    this.dispose();
    this.keys = Array.from({ length: layers }, (_, l) => tensor(`k.${l}`));
    this.values = Array.from({ length: layers }, (_, l) => tensor(`v.${l}`));
  }

  /** Frees the tensors. */
  dispose(): void {
    for (const t of [...this.keys, ...this.values]) t.dispose();
  }
}

/** A block's weights (as `wasm_block.ts` names them), trainable. */
type Block = { [name in keyof BlockWeights]: [tf.Variable, tf.Variable] };

/**
 * The Decision Transformer policy.
 *
 * @example Usage
 * ```ts
 * import assert from "node:assert";
 * import { DecisionTransformer, DEFAULT_DT_SIZES, initBackend } from "@grpo/grpo";
 *
 * await initBackend("cpu");
 * const model = new DecisionTransformer({
 *   ...DEFAULT_DT_SIZES,
 *   obsDim: 4,
 *   actionKind: "discrete",
 *   actDim: 2,
 *   maxTimestep: 500,
 *   obsMean: [0, 0, 0, 0],
 *   obsStd: [1, 1, 1, 1],
 *   returnScale: 100,
 * });
 * assert.ok(model.parameterCount() > 0);
 * model.dispose();
 * ```
 */
export class DecisionTransformer {
  readonly config: DecisionTransformerConfig;
  private readonly named: [string, tf.Variable][] = [];
  private readonly embedTimestep: tf.Variable;
  private readonly embedReturn: [tf.Variable, tf.Variable];
  private readonly embedState: [tf.Variable, tf.Variable];
  private readonly embedAction: [tf.Variable, tf.Variable];
  private readonly embedLn: [tf.Variable, tf.Variable];
  private readonly blocks: Block[] = [];
  private readonly lnF: [tf.Variable, tf.Variable];
  private readonly predictAction: [tf.Variable, tf.Variable];
  private readonly actionLogStd?: tf.Variable;
  private readonly obsMean: tf.Tensor1D;
  private readonly obsInvStd: tf.Tensor1D;
  /** The causal masks of a full segment, made once: on wasm they cost ~170 us a minibatch. */
  private readonly masks: { mask: tf.Tensor2D; stateRows: tf.Tensor2D };

  /** Creates a model with weights drawn from `seed` (identical on every backend). */
  constructor(config: DecisionTransformerConfig, seed = 0) {
    validateConfig(config);
    this.config = config;
    const { embedDim: d, obsDim, actDim, nLayer, maxTimestep } = config;
    const rng = new InitRandom(seed);
    const std = 0.02;
    const linear = (name: string, inDim: number, outDim: number, s = std) =>
      [
        this.add(`${name}.weight`, rng.normalVariable([inDim, outDim], s)),
        this.add(`${name}.bias`, constantVariable([outDim], 0)),
      ] as [tf.Variable, tf.Variable];
    const norm = (name: string) =>
      [
        this.add(`${name}.weight`, constantVariable([d], 1)),
        this.add(`${name}.bias`, constantVariable([d], 0)),
      ] as [tf.Variable, tf.Variable];
    this.embedTimestep = this.add(
      "embed_timestep.weight",
      rng.normalVariable([maxTimestep, d], std),
    );
    this.embedReturn = linear("embed_return", 1, d);
    this.embedState = linear("embed_state", obsDim, d);
    this.embedAction = linear("embed_action", actDim, d);
    this.embedLn = norm("embed_ln");
    // GPT-2's scaled init of the projections that write into the residual stream.
    const projStd = std / Math.sqrt(2 * nLayer);
    for (let i = 0; i < nLayer; i++) {
      const p = `transformer.h.${i}`;
      this.blocks.push({
        ln1: norm(`${p}.ln_1`),
        attn: linear(`${p}.attn.c_attn`, d, 3 * d),
        attnProj: linear(`${p}.attn.c_proj`, d, d, projStd),
        ln2: norm(`${p}.ln_2`),
        fc: linear(`${p}.mlp.c_fc`, d, 4 * d),
        mlpProj: linear(`${p}.mlp.c_proj`, 4 * d, d, projStd),
      });
    }
    this.lnF = norm("transformer.ln_f");
    this.predictAction = linear("predict_action", d, actDim);
    if (config.actionKind === "continuous") {
      this.actionLogStd = this.add(
        "action_log_std",
        constantVariable([actDim], -0.5),
      );
    }
    this.obsMean = tf.keep(tf.tensor1d(config.obsMean));
    this.obsInvStd = tf.keep(tf.tensor1d(config.obsStd.map((s) => 1 / s)));
    this.masks = tf.tidy(() => causalMasks(config.contextLength));
    Object.values(this.masks).forEach((m) => tf.keep(m));
  }

  private add(name: string, v: tf.Variable): tf.Variable {
    this.named.push([name, v]);
    return v;
  }

  /** The weights by checkpoint name, in a fixed order (matrices are [in, out], as GPT-2's Conv1D). */
  namedWeights(): readonly [string, tf.Variable][] {
    return this.named;
  }

  /** The trainable variables (for an optimizer's var list). */
  trainableVariables(): tf.Variable[] {
    return this.named.map(([, v]) => v);
  }

  /** Number of trainable parameters. */
  parameterCount(): number {
    return this.named.reduce((n, [, v]) => n + v.size, 0);
  }

  // ---- embeddings -------------------------------------------------------

  private embedTime(t: tf.Tensor): tf.Tensor {
    // min/max, not clipByValue: tfjs-wasm's clipByValue reads int32 data as float32 bits, so it
    // let index 500 through to the gather of a 500-row table (act crashed at step 501).
    const int = (v: number) => tf.scalar(v, "int32");
    const index = tf.minimum(tf.maximum(t.cast("int32"), int(0)), int(this.config.maxTimestep - 1));
    return embeddingLookup(this.embedTimestep, index);
  }

  private embedActions(a: tf.Tensor): tf.Tensor {
    const [w, b] = this.embedAction;
    if (this.config.actionKind === "continuous") return dense(a, w, b);
    const index = a.squeeze([-1]).cast("int32");
    return dense(oneHot(index, this.config.actDim), w, b);
  }

  private embedStates(obs: tf.Tensor): tf.Tensor {
    const [w, b] = this.embedState;
    return dense(obs.sub(this.obsMean).mul(this.obsInvStd), w, b);
  }

  private embedReturns(r: tf.Tensor): tf.Tensor {
    const [w, b] = this.embedReturn;
    return r.div(this.config.returnScale).expandDims(-1).mul(w.reshape([-1])).add(b);
  }

  private tokenWeights(): TokenWeights {
    return {
      timestep: this.embedTimestep,
      returns: this.embedReturn,
      states: this.embedState,
      actions: this.embedAction,
    };
  }

  private tokenScaling(): TokenScaling {
    return {
      returnScale: this.config.returnScale,
      obsMean: this.obsMean,
      obsInvStd: this.obsInvStd,
      discrete: this.config.actionKind === "discrete",
    };
  }

  /** The tokens [B, 3K, D] of a batch of segments: R_t, s_t, a_t interleaved, each plus its timestep. */
  private tokens(batch: SegmentBatch): tf.Tensor {
    const backend = tf.backend();
    if (backend instanceof BackendWasm) {
      return embedTokensOnWasm(backend, batch, this.tokenWeights(), this.tokenScaling());
    }
    const [b, k] = batch.returnsToGo.shape;
    const time = this.embedTime(batch.timesteps);
    // [B, K, 3, D] -> [B, 3K, D].
    return tf.stack([
      this.embedReturns(batch.returnsToGo).add(time),
      this.embedStates(batch.obs).add(time),
      this.embedActions(batch.actions).add(time),
    ], 2).reshape([b, 3 * k, this.config.embedDim]);
  }

  // ---- transformer ------------------------------------------------------

  /**
   * One transformer block, pre-norm as in GPT-2: `x + attn(ln1(x))`, then
   * `x + mlp(ln2(x))`. `context` turns the new tokens' keys and values into
   * the ones they attend over: themselves in {@linkcode forward}, the KV
   * cache's chunk in {@linkcode act}. `queries` picks the tokens whose
   * outputs are wanted (all by default; `mask` has a row for each of them):
   * every token still gives its key and value.
   */
  private block(
    x: tf.Tensor,
    blk: Block,
    mask: tf.Tensor,
    drop: (x: tf.Tensor) => tf.Tensor,
    context: (k: tf.Tensor, v: tf.Tensor) => [tf.Tensor, tf.Tensor] = (k, v) => [k, v],
    queries: (tokens: tf.Tensor) => tf.Tensor = (tokens) => tokens,
  ): tf.Tensor {
    const { nHead } = this.config;
    const [qAll, k, v] = tf.split(dense(layerNorm(x, ...blk.ln1), ...blk.attn), 3, -1);
    const q = queries(qAll);
    x = queries(x);
    const [keys, values] = context(k, v);
    // The attention weights' dropout, drawn as the multiplier tf.dropout would apply.
    const [b, tq] = q.shape, tk = keys.shape[1]!;
    const keep = drop === noDropout ? undefined : drop(tf.ones([b, nHead, tq, tk]));
    const y = multiHeadAttention(q, keys, values, nHead, mask, keep);
    x = x.add(drop(dense(y, ...blk.attnProj)));
    const mlp = dense(gelu(dense(layerNorm(x, ...blk.ln2), ...blk.fc)), ...blk.mlpProj);
    return x.add(drop(mlp));
  }

  /**
   * A fused block's dropout multipliers, drawn as {@linkcode block} draws
   * them (the same sites in the same order, so the same masks): the
   * attention weights', then the attention's and the MLP's outputs'.
   */
  private blockDropout(
    drop: (x: tf.Tensor) => tf.Tensor,
    b: number,
    t: number,
    tq: number,
  ): { attention: tf.Tensor; attnProj: tf.Tensor; mlp: tf.Tensor } | undefined {
    if (drop === noDropout) return undefined;
    const { nHead, embedDim: d } = this.config;
    return {
      attention: drop(tf.ones([b, nHead, tq, t])),
      attnProj: drop(tf.ones([b, tq, d])),
      mlp: drop(tf.ones([b, tq, d])),
    };
  }

  /**
   * Dropout for one forward: each call draws its mask from its own stream of
   * `seed` (tfjs would draw from Math.random), so a seeded training run
   * repeats bit for bit; no seed, no dropout.
   */
  private dropout(seed: string | undefined): (x: tf.Tensor) => tf.Tensor {
    const rate = this.config.dropout;
    if (seed === undefined || rate === 0) return noDropout;
    let site = 0;
    return (x) => tf.dropout(x, rate, undefined, `${seed}/${site++}`);
  }

  private head(h: tf.Tensor): ActionDist {
    const out = dense(layerNorm(h, ...this.lnF), ...this.predictAction);
    if (this.config.actionKind === "discrete") return { kind: "discrete", logits: out };
    return { kind: "continuous", mean: out, logStd: this.actionLogStd!.clone() };
  }

  /**
   * The action distributions at every step of a batch of segments, in one
   * forward: logits (or means) [B, K, actDim]. A `dropoutSeed` turns
   * dropout on (training), with masks drawn from that seed.
   */
  forward(batch: SegmentBatch, dropoutSeed?: string): ActionDist {
    return tidy(() => {
      const drop = this.dropout(dropoutSeed);
      const k = batch.returnsToGo.shape[1]!;
      let x = drop(layerNorm(this.tokens(batch), ...this.embedLn));
      // Hidden states at the s_t tokens predict a_t, so the last block computes its queries,
      // attention and MLP at those K tokens alone (a third of its rows), against all 3K keys.
      const atStates = (t: tf.Tensor) => everyNthToken(t, 3, 1);
      const { mask, stateRows } = k === this.config.contextLength ? this.masks : causalMasks(k);
      const last = this.blocks.length - 1;
      // On wasm a block is one gradient node (wasm_block.ts, one head).
      const fused = tf.getBackend() === "wasm" && this.config.nHead === 1;
      this.blocks.forEach((blk, i) => {
        if (fused) {
          const pick = i < last ? undefined : { every: 3, offset: 1 };
          x = wasmBlock(x, blk, pick ? stateRows : mask, {
            pick,
            dropout: this.blockDropout(drop, x.shape[0], 3 * k, pick ? k : 3 * k),
          });
        } else {
          x = i < last
            ? this.block(x, blk, mask, drop)
            : this.block(x, blk, stateRows, drop, undefined, atStates);
        }
      });
      return this.head(x);
    });
  }

  /**
   * Log-probabilities and entropies [B, K] of `batch.actions` under the
   * policy: what a PPO update needs (padding positions are garbage; mask
   * them). `dropoutSeed` as in {@linkcode forward}.
   */
  logProbs(
    batch: SegmentBatch,
    dropoutSeed?: string,
  ): { logProb: tf.Tensor2D; entropy: tf.Tensor2D } {
    return tf.tidy(() => {
      const dist = this.forward(batch, dropoutSeed);
      return {
        logProb: logProb(dist, batch.actions) as tf.Tensor2D,
        entropy: entropy(dist) as tf.Tensor2D,
      };
    });
  }

  /** An empty cache for `n` envs. */
  createCache(n: number): KVCache {
    const shape: [number, number, number] = [
      n,
      3 * this.config.contextLength,
      this.config.embedDim,
    ];
    const make = () => this.blocks.map(() => tf.keep(tf.zeros<tf.Rank.R3>(shape)));
    return new KVCache(make(), make());
  }

  /**
   * One rollout step for N envs: appends (a_{t-1}, R_t, s_t) of each env to
   * its chunk in `cache` and returns the action distribution at s_t ([N,
   * actDim]), equal to a full forward over the chunk. All inputs are tensors,
   * so in GPU mode a rollout never leaves the device. The cache is updated in
   * place (its old tensors are disposed).
   */
  act(cache: KVCache, input: StepInput): ActionDist {
    const { embedDim: d, contextLength: K } = this.config;
    const n = cache.size;
    const s = 3 * K;
    const result = tidy(() => {
      const backend = tf.backend();
      const wasm = backend instanceof BackendWasm;
      const pos = this.stepSlotIndices(input.timestep);
      let x = wasm
        ? embedStepOnWasm(
          backend,
          {
            returnsToGo: input.returnToGo,
            obs: input.obs,
            actions: input.prevAction,
            timesteps: input.timestep,
          },
          this.tokenWeights(),
          this.tokenScaling(),
        )
        : this.stepTokens(input);
      x = layerNorm(x, ...this.embedLn);
      // a_{t-1} at a chunk start (slot -1) goes nowhere.
      const { mask, write } = stepSlots(pos, s);
      const keys: tf.Tensor3D[] = [];
      const values: tf.Tensor3D[] = [];
      // As in forward, the last block's outputs are wanted at s_t alone (the third new token).
      const last = this.blocks.length - 1;
      const atState = (t: tf.Tensor) => everyNthToken(t, 3, 2);
      const fused = wasm && this.config.nHead === 1;
      this.blocks.forEach((blk, i) => {
        const rows = i < last ? mask : mask.slice([0, 0, 2, 0], [n, 1, 1, s]);
        const context = (k: tf.Tensor, v: tf.Tensor): [tf.Tensor, tf.Tensor] => {
          // The chunk's tokens so far, with this step's three written into their slots.
          const kAll = write(cache.keys[i], k);
          const vAll = write(cache.values[i], v);
          keys.push(kAll);
          values.push(vAll);
          return [kAll, vAll];
        };
        if (fused) {
          const pick = i < last ? undefined : { every: 3, offset: 2 };
          x = wasmBlock(x, blk, rows, { pick, context });
        } else x = this.block(x, blk, rows, noDropout, context, i < last ? undefined : atState);
      });
      return { dist: this.head(x.reshape([n, d])), keys, values };
    });
    cache.dispose();
    cache.keys = result.keys;
    cache.values = result.values;
    return result.dist;
  }

  /** A rollout step's tokens [N, 3, D] as ops: a_{t-1}, R_t, s_t, each plus its timestep's row. */
  private stepTokens(input: StepInput): tf.Tensor {
    const int = (v: number) => tf.scalar(v, "int32");
    const t = input.timestep.cast("int32");
    const time = this.embedTime(t);
    return tf.stack([
      this.embedActions(input.prevAction).add(this.embedTime(t.sub(int(1)))),
      this.embedReturns(input.returnToGo).add(time),
      this.embedStates(input.obs).add(time),
    ], 1);
  }

  /**
   * The chunk slots of a rollout step's three tokens for timesteps t ([N]):
   * a_{t-1} at 3j - 1, R_t at 3j and s_t at 3j + 1 for j = t mod K ([N, 3]
   * int32). On wasm from the host (the timesteps are on its heap; as ops
   * these were a tenth of a step); elsewhere as ops, so GPU mode never reads
   * them back.
   */
  private stepSlotIndices(timestep: tf.Tensor): tf.Tensor {
    const K = this.config.contextLength;
    const n = timestep.shape[0]!;
    const backend = tf.backend();
    if (backend instanceof BackendWasm) {
      // As cast("int32") truncates and mod floors.
      const t = Array.from(backend.typedArrayFromHeap(timestep), Math.trunc);
      const slot = (v: number) => ((v % K) + K) % K;
      return tf.tensor2d(t.flatMap((v) => [-1, 0, 1].map((o) => 3 * slot(v) + o)), [n, 3], "int32");
    }
    const int = (v: number) => tf.scalar(v, "int32");
    const base = tf.mod(timestep.cast("int32"), int(K)).mul(int(3)).reshape([n, 1]);
    return base.add(tf.tensor2d([[-1, 0, 1]], [1, 3], "int32"));
  }

  /** Copies the weights out (one readback per tensor). */
  async getWeights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, v] of this.named) {
      out.set(name, { shape: v.shape.slice(), data: (await v.data()) as Float32Array });
    }
    return out;
  }

  /** Sets every weight; throws naming the first missing or mis-shaped tensor. */
  setWeights(weights: Map<string, { shape: number[]; data: Float32Array }>): void {
    for (const [name, v] of this.named) {
      const w = weights.get(name);
      if (!w) throw new Error(`missing weight ${name}`);
      if (w.shape.join(",") !== v.shape.join(",")) {
        throw new Error(`weight ${name} has shape [${w.shape}], expected [${v.shape}]`);
      }
    }
    tf.tidy(() => {
      for (const [name, v] of this.named) v.assign(tf.tensor(weights.get(name)!.data, v.shape));
    });
  }

  /** Frees every tensor of the model. */
  dispose(): void {
    for (const [, v] of this.named) v.dispose();
    this.obsMean.dispose();
    this.obsInvStd.dispose();
    tf.dispose(this.masks);
  }
}

/**
 * The causal mask of a segment of `k` steps (3k tokens) and its rows at the
 * s_t tokens, the queries of the last block.
 */
function causalMasks(k: number): { mask: tf.Tensor2D; stateRows: tf.Tensor2D } {
  const mask = causalMask(3 * k);
  const stateRows = mask.reshape([k, 3, 3 * k]).slice([0, 1, 0], [k, 1, 3 * k])
    .reshape([k, 3 * k]) as tf.Tensor2D;
  return { mask, stateRows };
}

/** Throws on a config that cannot make a model. */
export function validateConfig(c: DecisionTransformerConfig): void {
  const posInt = (x: number) => Number.isInteger(x) && x > 0;
  const problems: string[] = [];
  for (const key of ["obsDim", "actDim", "embedDim", "nLayer", "nHead", "contextLength"] as const) {
    if (!posInt(c[key])) problems.push(`${key} must be a positive integer`);
  }
  if (!posInt(c.maxTimestep)) problems.push("maxTimestep must be a positive integer");
  if (posInt(c.nHead) && c.embedDim % c.nHead !== 0) problems.push("nHead must divide embedDim");
  if (!(c.dropout >= 0 && c.dropout < 1)) problems.push("dropout must be in [0, 1)");
  if (c.actionKind !== "discrete" && c.actionKind !== "continuous") {
    problems.push("actionKind must be discrete or continuous");
  }
  if (c.obsMean?.length !== c.obsDim || c.obsStd?.length !== c.obsDim) {
    problems.push("obsMean and obsStd must have obsDim entries");
  } else if (!c.obsStd.every((s) => s > 0 && Number.isFinite(s))) {
    problems.push("obsStd entries must be positive");
  }
  if (!(c.returnScale > 0 && Number.isFinite(c.returnScale))) {
    problems.push("returnScale must be positive");
  }
  if (problems.length > 0) throw new Error(`invalid model config: ${problems.join("; ")}`);
} /** Dropout off: inference, or training at rate 0. */
const noDropout = (x: tf.Tensor): tf.Tensor => x;
