"""Summarise a py-spy collapsed-stack file (``run_load.py --profile FILE``): where the server's
samples went, by function (own and cumulative) and by project file. Opt-in helper.

    python benchmarks/load/top_stacks.py FILE [--top 25] [--match pages/]
"""

import argparse
import collections
import re


def parse(path):
    """(frames, count) per line; a frame is ``function (file:line)``."""
    out = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if not line:
                continue
            stack, _, count = line.rpartition(" ")
            try:
                out.append((stack.split(";"), int(count)))
            except ValueError:
                continue
    return out


def where(frame):
    """``function (file)`` without the line number, so one function is one row."""
    return re.sub(r":\d+\)$", ")", frame)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="only count cumulative rows whose frame contains this")
    args = parser.parse_args(argv)
    stacks = parse(args.file)
    total = sum(c for _, c in stacks) or 1
    own, cumulative = collections.Counter(), collections.Counter()
    for frames, count in stacks:
        own[where(frames[-1])] += count
        for frame in {where(f) for f in frames}:
            if args.match in frame:
                cumulative[frame] += count
    print(f"{total} samples")
    print("\n-- cumulative (any frame of the stack) --")
    for frame, count in cumulative.most_common(args.top):
        print(f"{100.0 * count / total:5.1f}%  {frame}")
    print("\n-- own (top of the stack) --")
    for frame, count in own.most_common(args.top):
        print(f"{100.0 * count / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
