"""Throughput of wbplay.safetext.visible (the escape every console/report value goes through).

    python bench/bench_safetext.py [--repeat N]

Prints millions of characters per second for ASCII paths, Japanese text (a ja-JP
PC's event messages) and text dense with control sequences.  Run by hand for numbers.
"""

from __future__ import annotations

import argparse
import timeit

from wbplay.safetext import visible

SAMPLES = {
    "ascii": "C:\\Windows\\system32\\svchost.exe -k netsvcs " * 25_000,
    "japanese": "内部エラーのため、バックアップアプリケーションを開始できませんでした" * 30_000,
    "hostile": "ok\x1b[1A\x1b[2K\u202e" * 100_000,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    for name, text in SAMPLES.items():
        seconds = timeit.timeit(lambda t=text: visible(t), number=repeat) / repeat
        rate = len(text) / seconds / 1e6
        print(f"{name:<9} {len(text) / 1e6:5.2f} M chars  {seconds * 1000:7.1f} ms  {rate:6.1f} M chars/s")


if __name__ == "__main__":
    main()
