"""The ``vidline`` command.

    vidline serve --config FILE          run vidline against the configured PBX
    vidline demo [--config FILE] [--port N] [--pbx asterisk|freeswitch]
                                         the sandbox PBX, SQLite, two demo agents
    vidline dialplan --config FILE [--out DIR]
                                         the Asterisk snippets for this config
    vidline db init|upgrade --config FILE
                                         create or extend the reporting tables
    vidline report --config FILE [--from WHEN] [--to WHEN] [--format csv|json]
                   [--by queue|category|hour]
                                         queue figures, video chats next to phone calls
    vidline recordings prune --config FILE [--dry-run]
                                         delete recordings past their queue's retention
    vidline passwd                       hash an agent password for the config
    vidline check-config --config FILE   validate a config file

A config problem prints ``vidline: config key X: problem`` and exits 2, the
way argparse reports a bad command line. Heavy modules (aiohttp, the PBX
adapter) are imported by the subcommands that need them, so ``check-config``
and ``dialplan`` stay fast.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import getpass
import os
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from vidline.config import Config, ConfigError, load_config, parse_config

EXIT_CONFIG = 2
SECRET_FILE = "manager_vidline.conf"


def load_demo_config() -> Config:
    """The demo config shipped inside the package (``vidline/demo.toml``)."""
    import tomllib

    text = resources.files("vidline").joinpath("demo.toml").read_text(encoding="utf-8")
    return parse_config(tomllib.loads(text))


def _serve(args: argparse.Namespace) -> int:
    from vidline import app

    asyncio.run(app.serve(load_config(args.config), demo=False))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from vidline import app

    config = load_config(args.config) if args.config else load_demo_config()
    if not config.sandbox.enabled:
        raise ConfigError("sandbox.enabled", "must be true for the demo")
    if args.pbx is not None:  # the sandbox's AMI face or its ESL (FreeSWITCH) face
        config = dataclasses.replace(config, pbx=args.pbx)
    if args.port is not None:
        server = dataclasses.replace(
            config.server, port=args.port,
            public_url=f"http://{config.server.host}:{args.port}")
        config = dataclasses.replace(config, server=server)
    asyncio.run(app.serve(config, demo=True))
    return 0


def _dialplan(args: argparse.Namespace) -> int:
    from vidline.dialplan_render import render_asterisk

    config = load_config(args.config)
    secret_file = SECRET_FILE
    if config.pbx == "freeswitch":
        from vidline.pbx.freeswitch.render import SECRET_FILE as FS_SECRET_FILE
        from vidline.pbx.freeswitch.render import render_freeswitch

        files, secret_file = render_freeswitch(config), FS_SECRET_FILE
    else:
        files = render_asterisk(config)
    if args.out is None:
        for name, text in files.items():
            header = f"<!-- ---- {name} ---- -->" if name.endswith(".xml") else \
                f";;; ---- {name} ----"
            sys.stdout.write(f"{header}\n{text}\n")
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = out / name
        # the manager file holds the AMI secret: readable by its owner only
        # (chown it to the user Asterisk runs as)
        mode = 0o600 if name == secret_file else 0o644
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        os.fchmod(fd, mode)  # O_CREAT's mode does not apply to an existing file
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        print(path)
    return 0


def _recordings(args: argparse.Namespace) -> int:
    from vidline.recording.catalog import prune

    config = load_config(args.config).recording
    root = Path(config.directory)
    if not root.is_dir():
        print(f"vidline: recordings directory {root} does not exist", file=sys.stderr)
        return 1
    removed = prune(root, config.retention_of, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for path in removed:
        print(f"{verb} {path}")
    print(f"{len(removed)} recording set(s) {verb}")
    return 0


def _db(args: argparse.Namespace) -> int:
    from vidline.reporting.db import Database
    from vidline.reporting.tables import ensure_lookup_indexes, ensure_reporting_schema

    config = load_config(args.config)
    db = Database(config.database.url)
    try:
        # init and upgrade do the same today: both only ever add what is missing
        ensure_reporting_schema(db)
        if args.lookup_indexes:
            for name in ensure_lookup_indexes(db):
                print(f"index {name}: present")
        for table in ("cdr", "queue_log", "vidline_interactions", "vidline_interaction_events",
                      "vidline_queue_log_keys"):
            print(f"{table}: {len(db.columns(table))} columns")
    except Exception as exc:  # pymysql and sqlite3 errors share no base class
        print(f"vidline: database {_redacted(config.database.url)}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    return 0


def _report(args: argparse.Namespace) -> int:
    from vidline.reporting.db import Database
    from vidline.reporting.report_io import as_csv, as_json, build_report, parse_moment

    config = load_config(args.config)
    try:
        start = parse_moment(args.start) if args.start else None
        end = parse_moment(args.end) if args.end else None
    except ValueError as exc:
        print(f"vidline: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    db = Database(config.database.url)
    try:
        rows = build_report(db, config.reports, args.by, start, end)
    except Exception as exc:  # pymysql and sqlite3 errors share no base class
        print(f"vidline: database {_redacted(config.database.url)}: {exc}", file=sys.stderr)
        return 1
    finally:
        db.close()
    sys.stdout.write(as_json(rows, args.by, start, end) if args.format == "json"
                     else as_csv(rows))
    return 0


def _redacted(url: str) -> str:
    """The database URL without its password, for error messages."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    return url.replace(f":{parts.password}@", ":***@", 1)


def _passwd(args: argparse.Namespace) -> int:
    from vidline.agents.passwords import hash_password

    first = getpass.getpass("password: ")
    if not first:
        print("vidline: the password is empty", file=sys.stderr)
        return 1
    if first != getpass.getpass("again: "):
        print("vidline: the two passwords differ", file=sys.stderr)
        return 1
    print(hash_password(first))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    from vidline.crm.links import CrmLinks

    config = load_config(args.config)
    CrmLinks(config.crm)  # compiles the CRM template: ConfigError if unusable
    if config.pbx == "asterisk":
        from vidline.dialplan_render import render_asterisk

        render_asterisk(config)  # e.g. two agents on one extension
    else:
        from vidline.pbx.freeswitch.render import render_freeswitch

        render_freeswitch(config)
    print(f"{args.config}: ok (pbx {config.pbx}, {len(config.agents)} agents, "
          f"{len(config.routing.rules)} routing rules)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vidline", description="Customer video chat queued natively in Asterisk.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def config_arg(p: argparse.ArgumentParser, required: bool = True) -> None:
        p.add_argument("--config", type=Path, required=required, metavar="FILE",
                       help="the vidline TOML config file")

    p = sub.add_parser("serve", help="run vidline with a config file")
    config_arg(p)
    p.set_defaults(run=_serve)

    p = sub.add_parser("demo", help="run the demo: sandbox PBX, SQLite, demo agents")
    config_arg(p, required=False)
    p.add_argument("--port", type=int, metavar="N", help="web port (0: any free port)")
    p.add_argument("--pbx", choices=("asterisk", "freeswitch"),
                   help="which PBX the sandbox plays (default: the config's)")
    p.set_defaults(run=_demo)

    p = sub.add_parser("dialplan", help="render the Asterisk config snippets")
    config_arg(p)
    p.add_argument("--out", metavar="DIR", help="write the files here instead of printing")
    p.set_defaults(run=_dialplan)

    p = sub.add_parser("db", help="create or extend the reporting tables")
    p.add_argument("action", choices=("init", "upgrade"))
    p.add_argument("--lookup-indexes", action="store_true",
                   help="also index queue_log(time) and cdr(end) for last-agent routing "
                        "(builds indexes on the centre's own, possibly big, tables)")
    config_arg(p)
    p.set_defaults(run=_db)

    p = sub.add_parser("report", help="queue figures from queue_log: phone calls and video chats")
    config_arg(p)
    p.add_argument("--from", dest="start", metavar="WHEN",
                   help="calls that entered a queue from then on (YYYY-MM-DD [HH:MM], local)")
    p.add_argument("--to", dest="end", metavar="WHEN", help="... and before then")
    p.add_argument("--format", choices=("csv", "json"), default="csv")
    p.add_argument("--by", choices=("queue", "category", "hour"), default="queue")
    p.set_defaults(run=_report)

    p = sub.add_parser("recordings", help="manage call recordings")
    p.add_argument("action", choices=("prune",))
    p.add_argument("--dry-run", action="store_true", help="list what would go, delete nothing")
    config_arg(p)
    p.set_defaults(run=_recordings)

    p = sub.add_parser("passwd", help="hash an agent password (scrypt) for the config")
    p.set_defaults(run=_passwd)

    p = sub.add_parser("check-config", help="validate a config file")
    config_arg(p)
    p.set_defaults(run=_check_config)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except ConfigError as exc:
        print(f"vidline: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `vidline dialplan | head`: the reader left; not an error worth a traceback
        # swap stdout so the interpreter's final flush does not raise again
        sys.stdout = open(os.devnull, "w")
        return 141
    return result


if __name__ == "__main__":
    sys.exit(main())
