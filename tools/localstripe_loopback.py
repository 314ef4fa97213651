"""Run localstripe (a fake, stateful Stripe server) on the loopback interface only.

localstripe's own launcher binds every network interface and keeps its state in one
shared file (/tmp/localstripe.pickle, rewritten on every change). This wrapper serves the
same aiohttp application on 127.0.0.1 alone, keeps the state in memory (or in a file you
name), and can run in a background thread (the test suite) or in the foreground
(`make run` in demo mode).

localstripe is GPL-licensed and a development, demo and test tool: the marketplace app
(app/) never imports it. It talks to it over HTTP, exactly as it talks to Stripe.

    python -m tools.localstripe_loopback --port 8420 [--state instance/localstripe.pickle]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import pickle
import signal
import threading
from pathlib import Path

from aiohttp import web

HOST = "127.0.0.1"


def _configure_store(state_file: Path | None):
    """Point localstripe's store at ``state_file`` (or keep it in memory only)."""
    from localstripe.resources import store

    def dump_to_disk() -> None:
        if state_file is not None:
            tmp = state_file.with_suffix(".tmp")
            with open(tmp, "wb") as f:
                pickle.dump(dict(store), f, protocol=pickle.HIGHEST_PROTOCOL)
            tmp.replace(state_file)

    def try_load_from_disk() -> None:
        if state_file is not None and state_file.exists():
            with open(state_file, "rb") as f:
                old = pickle.load(f)
            dict.clear(store)
            dict.update(store, old)

    # Instance attributes shadow the methods that write /tmp/localstripe.pickle.
    store.dump_to_disk = dump_to_disk
    store.try_load_from_disk = try_load_from_disk
    store.try_load_from_disk()
    return store


def _application() -> web.Application:
    from localstripe.server import app

    return app


class LoopbackStripe:
    """localstripe served on 127.0.0.1 from a background thread (for tests)."""

    def __init__(self, port: int = 0, state_file: Path | None = None):
        self.port = port
        self.state_file = state_file
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> LoopbackStripe:
        _configure_store(self.state_file)
        self._thread = threading.Thread(target=self._serve, name="localstripe", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=30):
            raise RuntimeError("localstripe did not start within 30 seconds")
        if self._error:
            raise RuntimeError(f"localstripe failed to start: {self._error}") from self._error
        return self

    def _serve(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start_site())
        except BaseException as exc:  # reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self._loop.run_forever()
        # localstripe schedules webhook deliveries as tasks: end them quietly.
        pending = [task for task in asyncio.all_tasks(self._loop) if not task.done()]
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.run_until_complete(self._runner.cleanup())
        self._loop.close()

    async def _start_site(self) -> None:
        self._runner = web.AppRunner(_application(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self.port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self) -> None:
        if self._loop is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> LoopbackStripe:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--state", type=Path, default=None, help="keep localstripe's objects in this file across restarts")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="localstripe: %(message)s")
    _configure_store(args.state)

    async def serve() -> None:
        runner = web.AppRunner(_application())
        await runner.setup()
        await web.TCPSite(runner, HOST, args.port).start()
        logging.info("fake Stripe API on http://%s:%d (loopback only; Stripe.js look-alike at /js.stripe.com/v3/)", HOST, args.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await runner.cleanup()

    asyncio.run(serve())


if __name__ == "__main__":
    main()
