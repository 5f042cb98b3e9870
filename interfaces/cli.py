"""The `tripcord` command: serve, token, replay projections|stream, tail, dispatches list|retry."""

import argparse
import asyncio
import sys

from infrastructure.auth import ROLES
from infrastructure.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tripcord", description="Real-time customer-event trigger engine")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")

    token = commands.add_parser("token", help="mint a JWT with the configured secret")
    token.add_argument("--tenant", action="append", required=True, help="tenant id, or * for all (repeatable)")
    token.add_argument("--role", action="append", choices=ROLES, required=True,
                       help="admin, editor, or ingest (may only send events: the token an app embeds)")
    token.add_argument("--sub", default="cli")
    token.add_argument("--ttl", type=int, default=3600, help="seconds until it expires")

    replay = commands.add_parser("replay", help="rebuild from the event store")
    replay.add_argument("what", choices=["projections", "stream"])

    tail = commands.add_parser("tail", help="print the live event stream")
    tail.add_argument("--tenant", default="*")
    tail.add_argument("--type", default="*")
    tail.add_argument("--from-start", action="store_true")
    tail.add_argument("--count", type=int, default=0, help="stop after this many events (0: never)")

    dispatches = commands.add_parser("dispatches", help="the dispatch log: list, or resend")
    dispatch_commands = dispatches.add_subparsers(dest="action", required=True)
    listing = dispatch_commands.add_parser("list", help="print dispatches as JSON lines, newest first")
    retry = dispatch_commands.add_parser("retry", help="make dispatches due now: the running service resends them")
    for sub in (listing, retry):
        sub.add_argument("--tenant", required=True)
        sub.add_argument("--trigger", help="a trigger id")
        sub.add_argument("--since", help="created at or after (ISO 8601)")
        sub.add_argument("--until", help="created before (ISO 8601)")
    listing.add_argument("--status", choices=["pending", "retrying", "delivered", "dead"])
    listing.add_argument("--limit", type=int, default=50)
    retry.add_argument("--id", help="one dispatch id")
    retry.add_argument("--status", choices=["dead", "retrying", "delivered"], default="dead",
                       help="which dispatches to resend (delivered ones only with --force)")
    retry.add_argument("--force", action="store_true", help="resend delivered dispatches too")

    args = parser.parse_args(argv)
    settings = Settings()
    if args.command == "serve":
        from interfaces.serve import serve as run
        return run(settings, args.host, args.port, args.workers)
    if args.command == "token":
        from infrastructure.auth import TokenAuthority
        print(TokenAuthority(settings.jwt_key()).mint(args.sub, args.role, args.tenant, args.ttl))
        return 0
    if args.command == "dispatches":
        from interfaces import dispatch_tools
        return dispatch_tools.run(settings, args)
    if args.command == "replay" and args.what == "projections":
        from interfaces.database import replay_projections
        return replay_projections(settings)
    from interfaces import stream_tools
    if args.command == "replay":
        return asyncio.run(stream_tools.replay_stream(settings))
    return asyncio.run(stream_tools.tail(settings, args.tenant, args.type, args.from_start, args.count))


if __name__ == "__main__":
    sys.exit(main())
