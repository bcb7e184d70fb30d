/**
 * The scripted LunarLander pilot that Gymnasium ships as `heuristic(env, s)`
 * (our own implementation of its rules): point the hull towards the pad,
 * hover at a height proportional to the horizontal offset, and after touch
 * down only brake the fall. It scores ~250 on Gymnasium's env, so it is the
 * yardstick of our physics' fidelity.
 *
 * @module
 */

/** The heuristic's discrete action (0 no-op, 1 left, 2 main, 3 right) for observation `s` at `so`. */
export function landerHeuristicDiscrete(s: ArrayLike<number>, so = 0): number {
  const [angleTodo, hoverTodo] = landerTargets(s, so);
  if (hoverTodo > Math.abs(angleTodo) && hoverTodo > 0.05) return 2;
  if (angleTodo < -0.05) return 3;
  if (angleTodo > 0.05) return 1;
  return 0;
}

/** The heuristic's continuous action `[main, lateral]`, written to `out` at `oo`. */
export function landerHeuristicContinuous(
  s: ArrayLike<number>,
  so: number,
  out: Float32Array,
  oo: number,
): void {
  const [angleTodo, hoverTodo] = landerTargets(s, so);
  out[oo] = Math.max(-1, Math.min(1, hoverTodo * 20 - 1));
  out[oo + 1] = Math.max(-1, Math.min(1, -angleTodo * 20));
}

/** How far the angle and the height are from their targets (Gymnasium's `angle_todo`, `hover_todo`). */
function landerTargets(s: ArrayLike<number>, so: number): [number, number] {
  const x = s[so], y = s[so + 1], vx = s[so + 2], vy = s[so + 3];
  const angle = s[so + 4], angularVelocity = s[so + 5];
  // Lean towards the centre, by at most 0.4 rad.
  const angleTarget = Math.max(-0.4, Math.min(0.4, x * 0.5 + vx * 1.0));
  const hoverTarget = 0.55 * Math.abs(x);
  if (s[so + 6] || s[so + 7]) return [0, -vy * 0.5];
  return [(angleTarget - angle) * 0.5 - angularVelocity, (hoverTarget - y) * 0.5 - vy * 0.5];
}
