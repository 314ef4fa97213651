"""The four Stripe settings: read from the environment, checked at start-up."""

from __future__ import annotations

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
            {"STRIPE_SECRET_KEY": "sk_test_a", "STRIPE_PUBLISHABLE_KEY": "pk_test_a", "STRIPE_WEBHOOK_SECRET": "whsec_a",
             "STRIPE_API_BASE": "http://stripe.example"},
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
