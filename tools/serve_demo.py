"""`make run`: serve the marketplace, with the worker that runs the scheduled jobs
(`flask worker`) beside it; in demo mode with no Stripe keys, card payments work offline
against localstripe on the loopback interface. Both are started and stopped here.

Never used in production: with APP_ENV=production, DEMO_MODE=0 or a STRIPE_SECRET_KEY of
your own, it runs `flask run` and `flask worker` only.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request

DEMO_KEYS = {
    "STRIPE_SECRET_KEY": "sk_test_demo_localstripe",
    "STRIPE_PUBLISHABLE_KEY": "pk_test_demo_localstripe",
    "STRIPE_WEBHOOK_SECRET": "whsec_demo_localstripe",
}


def _wants_localstripe(env: dict) -> bool:
    return (
        not env.get("STRIPE_SECRET_KEY")
        and env.get("APP_ENV", "development") == "development"
        and env.get("DEMO_MODE", "1").strip().lower() not in {"0", "false", "no", "off"}
    )


def _wait_for(url: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"localstripe did not answer at {url}") from None
            time.sleep(0.1)


def main() -> int:
    port = os.environ.get("PORT", "5000")
    env = dict(os.environ)
    stripe = None
    if _wants_localstripe(env):
        stripe_port = env.get("STRIPE_DEMO_PORT", "8420")
        base = f"http://127.0.0.1:{stripe_port}"
        instance = env.get("INSTANCE_PATH", "instance")
        os.makedirs(instance, exist_ok=True)
        stripe = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tools.localstripe_loopback",
                "--port",
                stripe_port,
                "--state",
                os.path.join(instance, "localstripe.pickle"),
            ]
        )
        _wait_for(f"{base}/js.stripe.com/v3/")
        env.update(DEMO_KEYS, STRIPE_API_BASE=base)
        # localstripe signs the events it sends, as Stripe does.
        body = urllib.parse.urlencode(
            {"url": f"http://127.0.0.1:{port}/webhooks/stripe", "secret": DEMO_KEYS["STRIPE_WEBHOOK_SECRET"]}
        ).encode()
        urllib.request.urlopen(urllib.request.Request(f"{base}/_config/webhooks/marketplace", data=body, method="POST")).close()
        print(f"Card payments: offline demo against localstripe at {base} (Stripe test cards, e.g. 4242 4242 4242 4242)")
    flask = os.path.join(os.path.dirname(sys.executable), "flask")
    worker = subprocess.Popen([flask, "worker"], env=env)
    print("Scheduled jobs: the worker runs them (email every minute, budgets each morning...): see /admin/jobs")
    try:
        return subprocess.call([flask, "run", "--host", "127.0.0.1", "--port", port], env=env)
    except KeyboardInterrupt:
        return 0
    finally:
        # SIGINT lets the worker finish the jobs it is running (a job stopped mid-way would be
        # finished by its next run anyway).
        _stop(worker, signal.SIGINT, seconds=30)
        if stripe is not None:
            _stop(stripe, signal.SIGTERM, seconds=10)


def _stop(process: subprocess.Popen, how: signal.Signals, *, seconds: float) -> None:
    if process.poll() is None:
        process.send_signal(how)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()


if __name__ == "__main__":
    sys.exit(main())
