#!/usr/bin/env python3
"""Runs the built demo (target/debug/demo) and reports its time and the peak of the resident
memory of all its processes together (moto, the functions, presencectl), sampled every 0.1 s:
the demo's figures in README.md. Build first (make demo, or cargo build --workspace --bins)."""
import subprocess
import time


def tree(pid):
    """The process and its descendants."""
    pids = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as children:
            for child in children.read().split():
                pids += tree(int(child))
    except OSError:
        pass
    return pids


def resident_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    demo = subprocess.Popen(["target/debug/demo"], stdout=subprocess.DEVNULL)
    start, peak = time.time(), 0
    while demo.poll() is None:
        peak = max(peak, sum(resident_kb(pid) for pid in tree(demo.pid)))
        time.sleep(0.1)
    print(f"demo: exit {demo.returncode}, {time.time() - start:.1f} s, "
          f"peak resident memory of all its processes {peak / 1024:.0f} MB")


if __name__ == "__main__":
    main()
