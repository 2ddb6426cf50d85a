"""Summarise a py-spy ``--format raw`` profile: the functions where the samples are (self and total)::

python bench/profile_top.py out/profile-worker-orders-25.txt [--top 25]
"""

from __future__ import annotations

import argparse
from collections import Counter


def summarise(path: str, top: int) -> str:
    self_time, total_time, samples = Counter(), Counter(), 0
    for line in open(path):
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack:
            continue
        count = int(count)
        samples += count
        frames = [frame.split(" (")[0] + " (" + frame.split(" (")[1].split(":")[0].split("/")[-1] + ")" if " (" in frame else frame
                  for frame in stack.split(";")]  # fmt: skip
        self_time[frames[-1]] += count
        for frame in set(frames):
            total_time[frame] += count
    lines = [f"{samples} samples"]
    lines += ["-- total (inclusive) --"] + [f"{100 * n / samples:5.1f}%  {f}" for f, n in total_time.most_common(top)]
    lines += ["-- self --"] + [f"{100 * n / samples:5.1f}%  {f}" for f, n in self_time.most_common(top)]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    print(summarise(args.path, args.top))
