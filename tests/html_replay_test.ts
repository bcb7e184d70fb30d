/**
 * Episode renders for `grpo eval --render`: the GIF holds one frame per
 * state, the HTML replay embeds every frame and draws them on a canvas the
 * way the rasterizer does (checked in headless Chromium when installed).
 */
import { join } from "node:path";
import { assert, assertAlmostEquals, assertEquals, assertRejects } from "./assert.ts";
import { CHROMIUM, probePage } from "./chromium.ts";
import { cartpole } from "../envs/cartpole.ts";
import { InputError } from "../src/errors.ts";
import { envDrawer, episodeGif, renderEpisodes, renderFormat } from "../src/render/episode.ts";
import { htmlReplay, packEpisodes } from "../src/render/html_replay.ts";
import { getPixel, rasterize } from "../src/render/raster.ts";
import {
  landerSceneFromObservation,
  landerTerrain,
  legPoses,
  lunarLanderScene,
} from "../src/render/lunar_lander.ts";

/** A CartPole episode from a simple controller, states from reset on. */
function cartPoleEpisode(steps: number) {
  const s = new Float64Array([0.02, 0, -0.03, 0]);
  const states = [Array.from(s)], rewards: number[] = [], actions: number[] = [];
  for (let t = 0; t < steps; t++) {
    const a = s[2] + 0.2 * s[3] + 0.01 * s[0] > 0 ? 1 : 0;
    rewards.push(
      cartpole.step(s, 0, new Float32Array([a]), 0, cartpole.params, undefined as never) as number,
    );
    actions.push(a);
    states.push(Array.from(s));
  }
  return { states, rewards, actions };
}

/** The delays of a GIF's frames, by walking its blocks. */
function gifDelays(bytes: Uint8Array): number[] {
  let p = 13 + 3 * (2 << (bytes[10] & 7));
  const delays: number[] = [];
  let delay = 0;
  const skipBlocks = () => {
    while (bytes[p] !== 0) p += bytes[p] + 1;
    p++;
  };
  while (bytes[p] !== 0x3b) {
    if (bytes[p] === 0x21) {
      if (bytes[p + 1] === 0xf9) delay = bytes[p + 4] | (bytes[p + 5] << 8);
      p += 2;
      skipBlocks();
    } else {
      delays.push(delay);
      p += 11; // image descriptor and the LZW minimum code size
      skipBlocks();
    }
  }
  return delays;
}

const gifFrameCount = (bytes: Uint8Array) => gifDelays(bytes).length;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

Deno.test("--render picks the format by extension and rejects others in one line", async () => {
  assertEquals([renderFormat("a.gif"), renderFormat("B.HTML"), renderFormat("x.htm")], [
    "gif",
    "html",
    "html",
  ]);
  await assertRejects(() => Promise.resolve(renderFormat("out.mp4")), InputError, ".gif");
  await assertRejects(
    () => renderEpisodes("x.gif", { alias: "nosuchenv" }, [{ states: [[0]] }]),
    InputError,
    "no drawing",
  );
});

Deno.test("an episode GIF lasts 2 cs per step plus a pause at the end", () => {
  const ep = cartPoleEpisode(30);
  const draw = envDrawer("cartpole")!;
  const delays = gifDelays(episodeGif([{ scenes: ep.states.map(draw) }]));
  // Steps that move nothing by a whole pixel merge into the frame before.
  assert(delays.length > 15 && delays.length <= 31, `${delays.length} frames`);
  assertEquals(sum(delays), 31 * 2 + 100);
  assertEquals(delays.at(-1)! >= 102, true);
  // Every 4th frame (and the last), 8 cs each.
  const strided = gifDelays(
    episodeGif([{ scenes: ep.states.map(draw) }], { frameStride: 4, endPauseCs: 0 }),
  );
  assert(strided.length <= 9);
  assertEquals(sum(strided), 9 * 8);
});

Deno.test("the replay page embeds each frame once, shares repeated shapes, and loads nothing", () => {
  const ep = cartPoleEpisode(40);
  const draw = envDrawer("cartpole")!;
  const episodes = [{ scenes: ep.states.map(draw), rewards: ep.rewards, actions: ep.actions }];
  const packed = packEpisodes(episodes);
  assertEquals(packed.episodes[0].frames.length, 41);
  assertEquals(packed.episodes[0].episodeReturn, 40);
  // The track line is the same in every frame: stored once.
  const lines = packed.shapes.filter((s) => s[0] === "l");
  assertEquals(lines.length, 1);
  const html = htmlReplay(episodes, { title: "CartPole-v1 <test>" });
  assert(html.includes("<title>CartPole-v1 &#60;test&#62;</title>"));
  assert(!/(src|href)="(https?:)?\/\//.test(html), "no external resources");
  // The embedded JSON cannot close its script element early.
  const data = html.slice(html.indexOf('id="replay-data">'), html.indexOf("</script>"));
  assert(!data.slice(17).includes("<"), "no '<' inside the data block");
});

Deno.test({
  name: "in headless Chromium the replay draws the frames the rasterizer draws, and steps",
  ignore: !CHROMIUM,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "grpo-replay-" });
    const ep = cartPoleEpisode(60);
    const path = join(dir, "replay.html");
    await renderEpisodes(path, cartpole, [ep, {
      ...ep,
      states: ep.states.slice(0, 11),
      title: "short",
    }]);
    const result = await probePage(
      `file://${path}`,
      `const canvas = doc.getElementById("stage");
      const ctx = canvas.getContext("2d");
      const black = (k) => {
        const d = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
        let n = 0, sx = 0;
        for (let p = 0; p < d.length; p += 4) {
          if (d[p] === 0 && d[p + 1] === 0 && d[p + 2] === 0) { n++; sx += (p / 4) % canvas.width + 0.5; }
        }
        return { n, cx: sx / n };
      };
      const pixel = (x, y) => Array.from(ctx.getImageData(x, y, 1, 1).data.slice(0, 3));
      const first = { info: doc.getElementById("info").textContent, black: black(), axle: pixel(300, 292) };
      for (let k = 0; k < 60; k++) doc.getElementById("next").click();
      const last = { info: doc.getElementById("info").textContent, black: black() };
      doc.getElementById("prev").click();
      const back = doc.getElementById("info").textContent;
      const options = [...doc.querySelectorAll("#episode option")].map((o) => o.textContent);
      return { size: [canvas.width, canvas.height], first, last, back, options,
        summary: doc.getElementById("summary").textContent };`,
    ) as {
      size: number[];
      first: { info: string; black: { n: number; cx: number }; axle: number[] };
      last: { info: string; black: { n: number; cx: number } };
      back: string;
      options: string[];
      summary: string;
    };
    assertEquals(result.size, [600, 400]);
    assert(result.first.info.startsWith("step 0 / 60   return 0"), result.first.info);
    assert(result.last.info.startsWith("step 60 / 60   return 60   reward 1"), result.last.info);
    assert(result.back.startsWith("step 59 / 60   return 59"), result.back);
    assertEquals(result.options, ["episode 1 (return 60)", "short (return 60)"]);
    assertEquals(result.summary, "60 steps, episode return 60");
    assertEquals(result.first.axle, [129, 132, 203]);
    // The canvas's black pixels (cart and track) match the rasterized frame's,
    // up to anti-aliased edges.
    for (const [k, seen] of [[0, result.first.black], [60, result.last.black]] as const) {
      const frame = rasterize(envDrawer("cartpole")!(ep.states[k]));
      let n = 0, sx = 0;
      for (let j = 0; j < 400; j++) {
        for (let i = 0; i < 600; i++) {
          const c = getPixel(frame, i, j);
          if (c[0] === 0 && c[1] === 0 && c[2] === 0) [n, sx] = [n + 1, sx + i + 0.5];
        }
      }
      assertAlmostEquals(seen.n, n, 0.1 * n, `black pixels in frame ${k}`);
      assertAlmostEquals(seen.cx, sx / n, 1, `black centroid in frame ${k}`);
    }
    await Deno.remove(dir, { recursive: true });
  },
});

Deno.test("a LunarLander scene list renders to GIF and HTML alike", () => {
  const terrain = landerTerrain([1, 5, 2, 3.3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 10 / 3, 1, 4, 2]);
  const scenes = [0, 1, 2, 3].map((k) => {
    const hull = { x: 10, y: 12 - k, angle: 0.1 * k };
    return lunarLanderScene({ ...terrain, hull, legs: legPoses(hull), legContact: [false, false] });
  });
  const gif = episodeGif([{ scenes }]);
  assertEquals(gifFrameCount(gif), 4);
  const html = htmlReplay([{ scenes, rewards: [1, -2, 3.5] }]);
  assert(html.includes('"episodeReturn":2.5'));
  // The sky polygon never changes: one shared shape.
  const packed = packEpisodes([{ scenes }]);
  const skies = packed.shapes.filter((s) => s[0] === "p" && (s[4] as number[]).length === 26);
  assertEquals(skies.length, 1);
  assertEquals(getPixel(rasterize(scenes[0]), 300, 5), [0, 0, 0]);
});

Deno.test("renderEpisodes draws LunarLander states through a given mapping", async () => {
  const dir = await Deno.makeTempDir({ prefix: "grpo-render-" });
  // Observations as states, mapped by the observation-only fallback.
  const states = [[0, 1, 0, 0, 0, 0, 0, 0], [0.1, 0.5, 0, 0, 0.2, 0, 0, 0], [
    0.1,
    0,
    0,
    0,
    0,
    0,
    1,
    1,
  ]];
  const path = join(dir, "lander.gif");
  await renderEpisodes(path, { alias: "lunarlander", id: "LunarLander-v3" }, [{ states }], {
    draw: (s) => lunarLanderScene(landerSceneFromObservation(s)),
  });
  const delays = gifDelays(await Deno.readFile(path));
  assertEquals(delays.length, 3);
  assertEquals(sum(delays), 3 * 2 + 100);
  await Deno.remove(dir, { recursive: true });
});
