"""`tripcord serve` with parts of a request switched off, to measure what each costs.

    python -m bench.serve PORT [--without stream,triggers,outcomes,access-log]

  stream      publishes are acknowledged at once, without NATS (events and stream actions)
  triggers    no trigger matches: an ingest records and publishes its event only
  outcomes    what a request records after it answers (acknowledgements, dispatch records) is dropped
  access-log  no access line per request (also TRIPCORD_ACCESS_LOG=false)

Everything else is the product, composed by create_app; the parts are swapped after start-up.
With a part switched off the guarantees no longer hold, by design: such runs measure throughput.
"""

import argparse
import sys

from aiohttp import web

from application.trigger_index import TriggerIndex
from tests.unit.fakes import AcknowledgingStream
from infrastructure.settings import Settings
from interfaces.app import create_app
from interfaces.keys import INGESTION, RELAY
from interfaces.observability import configure_logging
from interfaces.serve import _collect_rarely

SWITCHES = ("stream", "triggers", "outcomes", "access-log")


def switched_off(without: set[str]):
    async def swap(app: web.Application) -> None:
        ingestion = app[INGESTION]
        if "stream" in without:
            ingestion.sender.stream = app[RELAY].sender.stream = AcknowledgingStream()
        if "triggers" in without:
            ingestion.planner.index = TriggerIndex(ingestion.planner.index.templates)
        if "outcomes" in without:
            ingestion.commit.later = lambda unit: None
    return swap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("--without", default="", help=f"comma-separated: {', '.join(SWITCHES)}")
    args = parser.parse_args()
    without = {part for part in args.without.split(",") if part}
    if without - set(SWITCHES):
        sys.exit(f"unknown switches: {', '.join(sorted(without - set(SWITCHES)))}")
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    configure_logging()
    settings = Settings()
    if "access-log" in without:
        settings = settings.model_copy(update={"access_log": False})
    app = create_app(settings)
    app.on_startup.append(switched_off(without))
    app.on_startup.append(_collect_rarely)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
