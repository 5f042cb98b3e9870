"""The ceiling: a bare aiohttp endpoint that parses the same JSON and answers a small object."""

import sys

import orjson
from aiohttp import web


async def ingest(request: web.Request) -> web.Response:
    event = orjson.loads(await request.read())
    return web.Response(body=orjson.dumps({"ingested": True, "eventType": event["type"]}),
                        content_type="application/json")


async def ready(request: web.Request) -> web.Response:
    return web.Response(text="ok")


def main() -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    app = web.Application()
    app.router.add_post("/api/v1/events/ingest", ingest)
    app.router.add_get("/readyz", ready)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)


if __name__ == "__main__":
    main()
