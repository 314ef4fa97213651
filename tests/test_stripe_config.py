"""The four Stripe settings: read from the environment, checked at start-up."""

from __future__ import annotations

import ast
import datetime as dt
import sys
from pathlib import Path

import pytest

from app.config import ConfigError, DevelopmentConfig, ProductionConfig


@pytest.fixture
def env(monkeypatch):
    for name in ("STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_no_keys_is_fine_and_means_not_configured(env):
    config = DevelopmentConfig()
    config.validate()
    assert config.STRIPE_SECRET_KEY == "" and config.STRIPE_API_BASE == ""


def test_keys_are_read_from_the_environment(env):
    env.setenv("STRIPE_SECRET_KEY", "sk_test_abc")
    env.setenv("STRIPE_PUBLISHABLE_KEY", "pk_test_abc")
    env.setenv("STRIPE_WEBHOOK_SECRET", "whsec_abc")
    env.setenv("STRIPE_API_BASE", "http://127.0.0.1:8420/")
    config = DevelopmentConfig()
    config.validate()
    assert (config.STRIPE_SECRET_KEY, config.STRIPE_API_BASE) == ("sk_test_abc", "http://127.0.0.1:8420")


@pytest.mark.parametrize(
    "values, message",
    [
        ({"STRIPE_SECRET_KEY": "sk_test_abc"}, "both"),
        ({"STRIPE_SECRET_KEY": "pk_test_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc"}, "secret key"),
        ({"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_PUBLISHABLE_KEY": "sk_test_abc"}, "publishable key"),
        ({"STRIPE_SECRET_KEY": "sk_test_abc", "STRIPE_PUBLISHABLE_KEY": "pk_test_abc"}, "STRIPE_WEBHOOK_SECRET"),
        (
            {
                "STRIPE_SECRET_KEY": "sk_test_a",
                "STRIPE_PUBLISHABLE_KEY": "pk_test_a",
                "STRIPE_WEBHOOK_SECRET": "whsec_a",
                "STRIPE_API_BASE": "http://stripe.example",
            },
            "loopback",
        ),
    ],
)
def test_incomplete_or_unsafe_stripe_settings_stop_start_up(env, values, message):
    for name, value in values.items():
        env.setenv(name, value)
    with pytest.raises(ConfigError, match=message):
        DevelopmentConfig().validate()
    env.setenv("SECRET_KEY", "x" * 40)
    with pytest.raises(ConfigError, match=message):
        ProductionConfig().validate()


# Timeouts and leases (a slow request must never outlive the lease of its attempt) ----------------


def test_a_stripe_request_gives_up_well_inside_an_attempts_lease():
    from app.services import card_payments

    budget = dt.timedelta(
        seconds=(card_payments.STRIPE_CONNECT_TIMEOUT + card_payments.STRIPE_READ_TIMEOUT) * (card_payments.STRIPE_NETWORK_RETRIES + 1)
    )
    assert budget == card_payments.CALL_BUDGET
    assert card_payments.LEASE > card_payments.CALL_BUDGET
    assert dt.timedelta(seconds=30) >= card_payments.CALL_BUDGET  # not the library's default 80 seconds
    card_payments.check_timing()  # the start-up check passes with the settings we ship
    with pytest.raises(RuntimeError, match="lease"):
        card_payments.check_timing(lease=dt.timedelta(seconds=60), call_budget=dt.timedelta(seconds=80))


def test_the_stripe_client_uses_those_timeouts_and_no_automatic_retries(app):
    from app.services import card_payments
    from app.services.card_payments import stripe_api

    app.config.update(STRIPE_SECRET_KEY="sk_test_x", STRIPE_PUBLISHABLE_KEY="pk_test_x")
    with app.test_request_context():
        client = stripe_api.client()
    requestor = client._requestor  # the library keeps these privately: read them there
    assert requestor._client._timeout == (card_payments.STRIPE_CONNECT_TIMEOUT, card_payments.STRIPE_READ_TIMEOUT)
    assert requestor._options.max_network_retries == card_payments.STRIPE_NETWORK_RETRIES == 0


# Who may import stripe and localstripe ---------------------------------------------------------


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in ("import_module", "__import__"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value.split(".")[0])
    return found


def test_only_card_payments_imports_stripe_and_nothing_in_the_app_imports_localstripe():
    root = Path(__file__).resolve().parent.parent
    modules = sorted((root / "app").rglob("*.py"))
    assert len(modules) > 20
    importing = {str(p.relative_to(root)): _imports(p) for p in modules}
    assert [name for name, found in importing.items() if "stripe" in found] == ["app/services/card_payments/stripe_api.py"]
    assert [name for name, found in importing.items() if "localstripe" in found] == []  # GPL: a development tool only


def test_the_import_check_sees_every_form_of_import(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("import stripe.error as e\nfrom localstripe.server import app\nimport importlib\nimportlib.import_module('stripe')\n")
    assert {"stripe", "localstripe", "importlib"} <= _imports(sample)


# localstripe in CI ---------------------------------------------------------------------------------


def test_without_localstripe_the_card_tests_skip_locally_and_fail_in_ci(monkeypatch):
    from tests import payments_fixtures

    monkeypatch.setitem(sys.modules, "localstripe", None)  # as if it were not installed
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("REQUIRE_LOCALSTRIPE", raising=False)
    with pytest.raises(pytest.skip.Exception):
        payments_fixtures.import_localstripe_or_skip()
    monkeypatch.setenv("REQUIRE_LOCALSTRIPE", "1")
    with pytest.raises(pytest.fail.Exception, match="localstripe is required"):
        payments_fixtures.import_localstripe_or_skip()
    monkeypatch.delenv("REQUIRE_LOCALSTRIPE")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        payments_fixtures.import_localstripe_or_skip()
