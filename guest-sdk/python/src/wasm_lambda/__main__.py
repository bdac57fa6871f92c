"""`python -m wasm_lambda build app.py -o app.wasm`."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Optional, Sequence

from .build import BuildError, build


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m wasm_lambda",
        description="Tools for wasm-lambda guests written in Python.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build_cmd = commands.add_parser(
        "build",
        help="build an app module into a guest component (.wasm)",
        description="Build APP (a .py file with a @wasm_lambda.handler) into a WebAssembly "
        "component the wasm-lambda host runs: check, precompile and publish it like any guest.",
    )
    build_cmd.add_argument("app", type=Path, help="the app module, e.g. app.py")
    build_cmd.add_argument("-o", "--output", type=Path,
                           help="the component to write (default: APP with .wasm)")
    build_cmd.add_argument("-p", "--path", type=Path, action="append", default=[],
                           help="an extra folder on the guest's import path (your packages, or "
                           "dependencies installed with pip install --target); repeatable")
    build_cmd.add_argument("-r", "--requirements", type=Path,
                           help="a pip requirements file to bundle (pure-Python packages only)")
    build_cmd.add_argument("-q", "--quiet", action="store_true", help="only print errors")
    args = parser.parse_args(argv)

    output = args.output or args.app.with_suffix(".wasm")
    started = time.monotonic()
    try:
        build(args.app, output, args.path, args.requirements, args.quiet)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if not args.quiet:
        size_mb = output.stat().st_size / 1e6
        print(f"built {output} ({size_mb:.1f} MB) in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
