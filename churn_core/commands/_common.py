"""What every subcommand that reads a customer file shares: ``--columns MAP.json`` (the column
meanings saved from the Data page, format in the README), ``--label`` / ``--positive``, and one way
to open the file: a :class:`churn_core.workspace.Workspace`, the same object the app uses."""


def add_customer_arguments(parser, label=True):
    """Add ``--columns`` (and ``--label`` / ``--positive`` unless ``label=False``)."""
    parser.add_argument("--columns", metavar="MAP.json",
                        help="column meanings saved from the Data page (JSON; see the README)")
    if label:
        parser.add_argument("--label", help="churn label column (default: from --columns, else detected)")
        parser.add_argument("--positive", help="label value that means churned (default: detected)")


def open_workspace(path, args, **load_kwargs):
    """A Workspace on ``path`` with the command's ``--columns``, ``--label`` and ``--positive``."""
    from pathlib import Path

    from churn_core.errors import ChurnCoreError
    from churn_core.workspace import Workspace

    if not isinstance(path, (bytes, bytearray)) and not Path(path).exists():
        raise ChurnCoreError("cli.file_not_found", f"File not found: {path}.", path=str(path))
    return Workspace.from_file(path, mapping=getattr(args, "columns", None), label=getattr(args, "label", None),
                               positive=getattr(args, "positive", None), **load_kwargs)
