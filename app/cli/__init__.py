"""The command line ``maml``: one entry point whose subcommands serve, train and evaluate.

    maml serve                       the web app (settings from ``MAML_*``, see the README)
    maml train sinusoid|omniglot …   meta-train a model, write its checkpoint and card
    maml evaluate sinusoid|omniglot … evaluate a saved model on fresh tasks
    maml train-navigation …          meta-train a 2-D navigation policy
    maml worker                      run shared training jobs (with ``MAML_REDIS_URL``)

``python -m app`` is the same command. Each subcommand lives in the module of its name
and is imported only when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "serve": ("serve", "start the web app"),
    "train": ("train", "meta-train a model and write its checkpoint and model card"),
    "evaluate": ("evaluate", "evaluate a saved model on fresh tasks"),
    "train-navigation": ("train_navigation", "meta-train a 2-D navigation policy"),
    "worker": ("worker", "run training jobs for web replicas that share a Redis"),
}


def main(argv: list[str] | None = None) -> int:
    """Run ``maml COMMAND ARGS…``; the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="maml",
        description="MAML, explained: serve the article, train and evaluate its models.",
        epilog="'maml COMMAND -h' describes a command's arguments.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, summary) in COMMANDS.items():
        commands.add_parser(name, help=summary, add_help=False)
    command = parser.parse_args(argv[:1]).command
    module = importlib.import_module(f"app.cli.{COMMANDS[command][0]}")
    return module.main(argv[1:])
