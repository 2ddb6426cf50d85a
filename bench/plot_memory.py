"""Draw a memory run's RSS samples (``bench_sustained.py --mode memory --json F``) as an SVG, and a PNG
of it when Chromium is at hand (``--png``: headless ``/usr/bin/chromium`` renders the SVG)::

    python bench/plot_memory.py soak.json docs/img/soak-rss.svg [--png docs/img/soak-rss.png] [--title T]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

WIDTH, HEIGHT, PAD = 900, 360, 56
SERIES = (("worker_mb", "worker", "#2563eb"), ("web_mb", "web", "#16a34a"))


def svg(samples: list[dict], title: str) -> str:
    t_max = max(s["t"] for s in samples) or 1.0
    top = max(max(s[key] for s in samples) for key, _, _ in SERIES) * 1.15
    x = lambda t: PAD + (WIDTH - 2 * PAD) * t / t_max  # noqa: E731
    y = lambda mb: HEIGHT - PAD - (HEIGHT - 2 * PAD) * mb / top  # noqa: E731
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        f'<text x="{PAD}" y="24" font-size="14" font-weight="bold">{title}</text>',
    ]
    for mb in range(0, int(top) + 1, max(1, int(top / 5 / 10) * 10 or 10)):
        parts.append(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(mb):.1f}" y2="{y(mb):.1f}" stroke="#e5e7eb"/>')
        parts.append(f'<text x="{PAD - 8}" y="{y(mb) + 4:.1f}" text-anchor="end">{mb}</text>')
    step = 600 if t_max > 1800 else 60
    for t in range(0, int(t_max) + 1, step):
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - PAD + 18}" text-anchor="middle">{t // 60} min</text>')
    parts.append(f'<text x="14" y="{HEIGHT / 2}" transform="rotate(-90 14 {HEIGHT / 2})" text-anchor="middle">RSS (MB)</text>')
    for n, (key, label, colour) in enumerate(SERIES):
        points = " ".join(f"{x(s['t']):.1f},{y(s[key]):.1f}" for s in samples)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{points}"/>')
        first, last = samples[0][key], samples[-1][key]
        legend_y = 44 + 16 * n
        parts.append(f'<line x1="{WIDTH - 300}" x2="{WIDTH - 280}" y1="{legend_y - 4}" y2="{legend_y - 4}" stroke="{colour}" stroke-width="3"/>')
        parts.append(f'<text x="{WIDTH - 274}" y="{legend_y}">{label}: {first:.1f} → {last:.1f} MB</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def png(svg_path: Path, out: Path) -> None:
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            ["/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--user-data-dir={profile}",
             f"--window-size={WIDTH},{HEIGHT}", f"--screenshot={out.resolve()}", svg_path.resolve().as_uri()],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("result", type=Path)
    parser.add_argument("svg", type=Path)
    parser.add_argument("--png", type=Path)
    parser.add_argument("--title", default="RSS under ~1,000 events/s")
    args = parser.parse_args()
    samples = json.loads(args.result.read_text())["samples"]
    args.svg.parent.mkdir(parents=True, exist_ok=True)
    args.svg.write_text(svg(samples, args.title))
    if args.png:
        png(args.svg, args.png)
    print(f"wrote {args.svg}" + (f" and {args.png}" if args.png else ""))


if __name__ == "__main__":
    main()
