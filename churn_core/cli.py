"""Command line interface: ``python -m churn_core SUBCOMMAND ...``.

Each subcommand lives in ``churn_core/commands/<name>.py`` and defines
``HELP`` (one line), ``add_arguments(parser)`` and ``run(args) -> int``.
Errors exit with code 2 and one line on stderr, never a traceback.
"""

import argparse
import importlib
import sys

COMMANDS = ["generate", "profile", "sql", "segments", "train", "score", "simulate", "uplift", "compare", "report"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse already exits 2; keep it to one line.
        sys.stderr.write(f"error: {message}\n")
        raise SystemExit(2)


def build_parser():
    parser = _Parser(prog="python -m churn_core", description="Retention Studio engine")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"churn_core.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"churn_core.commands.{name}":
                raise
            continue
        p = sub.add_parser(name, help=getattr(module, "HELP", name))
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def _one_line(exc):
    text = " ".join(str(exc).split()) or exc.__class__.__name__
    return text[:500]


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(args._run(args) or 0)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted\n")
        return 2
    except MemoryError:
        sys.stderr.write("error: out of memory while processing the input\n")
        return 2
    except Exception as exc:  # noqa: BLE001 - the CLI contract: one line, exit 2
        sys.stderr.write(f"error: {_one_line(exc)}\n")
        return 2
