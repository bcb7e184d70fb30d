import { mountainCar } from "../envs/mountain_car.ts";
import { collectRandomEpisodes } from "../src/play/collect_dataset.ts";
import { episodeBounds } from "../src/rl/dataset.ts";
for (const hold of [1, 4, 8, 12, 16, 24, 32]) {
  const ds = await collectRandomEpisodes({ ...mountainCar, randomActionHold: hold }, 1000, 0, "cpu");
  const { length } = episodeBounds(ds);
  const reached = [...length].filter((l) => l < 200);
  console.log(hold, "reached", reached.length / 1000, "best", -Math.min(...length));
}
