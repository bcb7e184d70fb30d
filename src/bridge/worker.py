"""grpo's Gymnasium worker: N envs of one id in this process, stepped on request.

grpo starts `python3 -c <this file>` and speaks a binary protocol over
stdin/stdout. Every message is a frame: a little-endian u32 payload length,
then the payload, whose first byte is its kind:

  host -> worker
    I + JSON {"id", "module", "kwargs", "n", "autoreset"}   create the envs
    R + n u32 seeds                                         reset every env
    S + n*A f32 actions + n u32 seeds                       one step of every env
  worker -> host
    I + JSON {"obs_size", "action", "max_episode_steps", "backend"}
    R + n*O f32 observations
    S + n*O f32 obs + n*O f32 final obs + n f64 rewards + n u8 terminated + n u8 truncated
    E + one line of text                                    an error; the worker then exits

An env that ends in a step is reset in the same step with that step's seed
for it (the seed of its next episode); `obs` then holds the new episode's first
observation and `final obs` the ended one's last. Without autoreset an ended
env is not stepped again until the next R. End of stdin ends the worker, and
so does grpo's death (checked every second, also during a hung step).

With no gymnasium installed, a module named by `gym:module:Id` that defines
`grpo_make(id, **kwargs)` provides plain Python envs (reset/step and spaces
named Box and Discrete, duck-typed): grpo's tests use this.
"""

import importlib
import json
import os
import struct
import sys
import threading
import time
from array import array

UNSUPPORTED = "grpo supports Box and Discrete spaces"


class Refusal(Exception):
    """A problem the user must fix, reported as one line."""


def read_exact(stream, size):
    data = stream.read(size)
    if data is None or len(data) < size:
        sys.exit(0)  # grpo is gone
    return data


def read_frame(stream):
    (size,) = struct.unpack("<I", read_exact(stream, 4))
    return read_exact(stream, size)


def write_frame(out, kind, *parts):
    size = 1 + sum(len(p) for p in parts)
    out.write(struct.pack("<I", size) + kind)
    for p in parts:
        out.write(p)
    out.flush()


def space_name(space):
    return type(space).__name__


def flat_floats(values):
    """A space bound as a list of floats (numpy arrays and nested lists alike)."""
    if hasattr(values, "ravel"):
        return [float(x) for x in values.ravel()]
    if isinstance(values, (list, tuple)):
        return [x for v in values for x in flat_floats(v)]
    return [float(values)]


def describe_obs(space):
    kind = space_name(space)
    if kind == "Box":
        return len(flat_floats(space.low)), None
    if kind == "Discrete":
        return int(space.n), int(getattr(space, "start", 0))
    raise Refusal("%s observation space: %s" % (kind, UNSUPPORTED))


def describe_action(space):
    kind = space_name(space)
    if kind == "Box":
        return {"kind": "box", "low": flat_floats(space.low), "high": flat_floats(space.high)}
    if kind == "Discrete":
        return {"kind": "discrete", "n": int(space.n), "start": int(getattr(space, "start", 0))}
    raise Refusal("%s action space: %s" % (kind, UNSUPPORTED))


def make_factory(config):
    """A function making one env, and which backend it uses."""
    module = None
    if config.get("module"):
        sys.path.insert(0, os.getcwd())
        try:
            module = importlib.import_module(config["module"])
        except ImportError as e:
            raise Refusal("cannot import module %s: %s" % (config["module"], e))
    if module is not None and hasattr(module, "grpo_make"):
        return (lambda: module.grpo_make(config["id"], **config["kwargs"])), "plain"
    try:
        import gymnasium
    except ImportError:
        raise Refusal("gymnasium is not installed for %s; pip install gymnasium" % sys.executable)
    try:
        gymnasium.spec(config["id"])
    except Exception as e:
        raise Refusal("unknown id: %s" % str(e).splitlines()[0])
    return (lambda: gymnasium.make(config["id"], **config["kwargs"])), "gymnasium"


def max_steps_of(env):
    spec = getattr(env, "spec", None)
    steps = getattr(spec, "max_episode_steps", None) or getattr(env, "max_episode_steps", None)
    if not steps:
        raise Refusal(
            "no step limit; add one with --gym-kwargs '{\"max_episode_steps\": 1000}'"
        )
    return int(steps)


class Batch:
    """N envs of one kind and the byte buffers of their outcomes."""

    def __init__(self, config):
        make, self.backend = make_factory(config)
        self.n = int(config["n"])
        self.autoreset = bool(config["autoreset"])
        self.envs = [make() for _ in range(self.n)]
        first = self.envs[0]
        self.obs_size, self.obs_start = describe_obs(first.observation_space)
        self.action = describe_action(first.action_space)
        self.max_steps = max_steps_of(first)
        self.action_size = 1 if self.action["kind"] == "discrete" else len(self.action["low"])
        self.t = [0] * self.n
        self.ended = [False] * self.n
        self.last_flags = [(0, 0)] * self.n
        self.rows = [None] * self.n
        self.final_rows = None
        try:
            import numpy

            self.numpy = numpy
        except ImportError:
            self.numpy = None

    def describe(self):
        return {
            "obs_size": self.obs_size,
            "action": self.action,
            "max_episode_steps": self.max_steps,
            "backend": self.backend,
        }

    def pack(self, rows):
        """The observations of all envs as n*O float32 bytes (one conversion per message)."""
        size, np = self.obs_size, self.numpy
        if self.obs_start is not None:
            values = array("f", bytes(4 * size * self.n))
            for i, o in enumerate(rows):
                values[i * size + int(o) - self.obs_start] = 1.0
            data = values.tobytes()
        elif np is not None:
            data = np.asarray(rows, dtype=np.float32).tobytes()
        else:
            data = array("f", [x for o in rows for x in flat_floats(o)]).tobytes()
        if len(data) != 4 * size * self.n:
            raise Refusal("observations are not %d floats each" % size)
        return data

    def reset_one(self, i, seed):
        self.rows[i], _ = self.envs[i].reset(seed=seed)
        self.t[i] = 0
        self.ended[i] = False

    def reset(self, payload):
        seeds = array("I", payload)
        for i in range(self.n):
            self.reset_one(i, int(seeds[i]))
        if self.final_rows is None:
            self.final_rows = list(self.rows)
        return self.pack(self.rows)

    def actions(self, payload):
        """Per env, the action in the form its env takes: an int, or a clipped vector."""
        n, size = self.n, self.action_size
        if self.action["kind"] == "discrete":
            start = self.action["start"]
            return [int(a) + start for a in array("f", payload[: 4 * n])]
        low, high = self.action["low"], self.action["high"]
        if self.numpy is not None:
            np = self.numpy
            rows = np.frombuffer(payload[: 4 * n * size], dtype=np.float32).reshape(n, size)
            rows = np.clip(rows, np.asarray(low, np.float32), np.asarray(high, np.float32))
            shape = getattr(self.envs[0].action_space, "shape", None)
            return [row.reshape(shape) if shape else row.tolist() for row in rows]
        flat = array("f", payload[: 4 * n * size])
        return [
            [min(max(flat[i * size + k], low[k]), high[k]) for k in range(size)] for i in range(n)
        ]

    def step(self, payload):
        n, envs, rows, t, ended, max_steps = (
            self.n, self.envs, self.rows, self.t, self.ended, self.max_steps
        )
        actions = self.actions(payload)
        seeds = array("I", payload[4 * n * self.action_size :])
        rewards = array("d", bytes(8 * n))
        terminated = bytearray(n)
        truncated = bytearray(n)
        for i in range(n):
            if ended[i]:
                terminated[i], truncated[i] = self.last_flags[i]
                continue
            observation, reward, term, trunc, _ = envs[i].step(actions[i])
            t[i] += 1
            rewards[i] = float(reward)
            if term or trunc or t[i] >= max_steps:
                terminated[i] = 1 if term else 0
                truncated[i] = 1 if trunc or t[i] >= max_steps else 0
                self.final_rows[i] = observation
                if self.autoreset:
                    self.reset_one(i, seeds[i])
                    continue
                ended[i] = True
            rows[i] = observation
        if not self.autoreset:
            self.last_flags = list(zip(terminated, truncated))
        return [
            self.pack(rows), self.pack(self.final_rows), rewards.tobytes(), terminated, truncated
        ]


def exit_with_parent():
    """Ends the worker when grpo dies, even while an env is stuck in a step."""
    parent = os.getppid()
    while True:
        time.sleep(1)
        if os.getppid() != parent:
            os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, daemon=True).start()
    stdin = sys.stdin.buffer
    # The protocol owns the real stdout; anything an env prints goes to stderr.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    batch = None
    try:
        while True:
            frame = read_frame(stdin)
            kind, payload = frame[:1], frame[1:]
            if kind == b"I":
                batch = Batch(json.loads(payload.decode("utf-8")))
                write_frame(out, b"I", json.dumps(batch.describe()).encode("utf-8"))
            elif kind == b"R":
                write_frame(out, b"R", batch.reset(payload))
            elif kind == b"S":
                write_frame(out, b"S", *batch.step(payload))
            else:
                raise Refusal("unknown message %r" % kind)
    except Refusal as e:
        write_frame(out, b"E", str(e).encode("utf-8"))
        sys.exit(1)
    except Exception as e:
        message = "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else "")
        write_frame(out, b"E", message.encode("utf-8"))
        raise


if __name__ == "__main__":
    main()
