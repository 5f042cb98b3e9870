"""Running the service: one process, or several sharing the port with SO_REUSEPORT."""

import gc
import multiprocessing
import signal
import sys

from aiohttp import web

from infrastructure.nats_server import StoreInUse
from infrastructure.settings import Settings
from interfaces.app import create_app, start_private_nats
from interfaces.database import opened
from interfaces.observability import configure_logging

GC_THRESHOLD = 10_000


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    configure_logging()
    settings.jwt_key()  # generated once, before workers race to create it
    # Tables are created once here, so workers starting together never race to create them.
    with opened(settings):
        pass
    private = None
    if settings.stream_enabled and not settings.nats_servers:
        # One private server for all workers, started here so that it dies with this process.
        try:
            private, settings = start_private_nats(settings)
        except StoreInUse as error:
            print(f"tripcord: {error}", file=sys.stderr)
            return 1
    try:
        if workers <= 1:
            _run(settings, host, port, reuse_port=False)
            return 0
        context = multiprocessing.get_context("spawn")
        # One relay per host is enough: each one looks at every event of the log.
        each = [settings.model_copy(update={"relay": settings.relay and n == 0}) for n in range(workers)]
        processes = [context.Process(target=_run, args=(worker, host, port, True)) for worker in each]
        for process in processes:
            process.start()
        signal.signal(signal.SIGTERM, lambda *_: [p.terminate() for p in processes])
        try:
            for process in processes:
                process.join()
        except KeyboardInterrupt:
            for process in processes:
                process.terminate()
                process.join()
        return 0
    finally:
        if private is not None:
            private.stop()


def _run(settings: Settings, host: str, port: int, reuse_port: bool) -> None:
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    configure_logging()
    print(f"tripcord: serving on http://{host}:{port}", flush=True)
    app = create_app(settings)
    app.on_startup.append(_collect_rarely)  # after the app's own start-up: its objects are the ones to freeze
    web.run_app(app, host=host, port=port, reuse_port=reuse_port, access_log=None,
                print=None, handle_signals=True)  # the request-context middleware logs each request


async def _collect_rarely(app: web.Application) -> None:
    """A request frees almost everything it allocates by reference counting, yet at the default
    threshold (700) the cycle collector ran ≈500 times in a 10 s benchmark, each pass walking the
    long-lived objects too. Freezing what start-up built and collecting the youngest generation
    every 10,000 net allocations instead gave 10–25 % more ingest throughput and a lower p99
    (docs/PERFORMANCE.md); cycles are still collected, only less often."""
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])
