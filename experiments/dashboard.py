"""The what-if dashboard: serves the page (lab/dashboard.py) on this machine, then open it in a browser.

  python -m experiments.dashboard [--host 127.0.0.1] [--port 8765]

Pick a scenario preset, move the levers, press Run: the model advances month by month with
live charts beside a baseline with the same customers and seed (`make dashboard` runs this).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from lab.errors import Parser, command

PAGE = Path(__file__).resolve().parents[1] / "lab" / "dashboard.py"


@command
def main(argv: list[str] | None = None) -> int:
    parser = Parser(prog="python -m experiments.dashboard", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    args = parser.parse_args(argv)
    solara = Path(sys.executable).parent / "solara"
    print(f"serving the dashboard on http://{args.host}:{args.port}/ (Ctrl-C stops it)", file=sys.stderr)
    os.execv(solara, [str(solara), "run", str(PAGE), "--host", args.host, "--port", str(args.port), "--production"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
