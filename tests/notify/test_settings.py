"""NOTIFY_URLS and the other notification settings: parsed from the environment, bad values stop
start-up with one clear line that never repeats a secret."""

import pytest

from console.env import ConfigError, env_clock_time, env_urls
from tests.test_settings_env import manage

SECRET = "123456789:AAE-very-secret-token"


def test_notify_urls_are_separated_by_any_whitespace(monkeypatch):
    monkeypatch.setenv("NOTIFY_URLS", f"  json://127.0.0.1:8000/hook tgram://{SECRET}/42\n\tntfy://alerts  ")
    assert env_urls("NOTIFY_URLS") == ["json://127.0.0.1:8000/hook", f"tgram://{SECRET}/42", "ntfy://alerts"]


def test_no_notify_urls_is_no_env_target(monkeypatch):
    monkeypatch.delenv("NOTIFY_URLS", raising=False)
    assert env_urls("NOTIFY_URLS") == []


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (f"ntfy://alerts {SECRET}", "NOTIFY_URLS item 2 (scheme 'none') is not a URL like scheme://…"),
        (f"tgram:{SECRET}/42", "NOTIFY_URLS item 1 (scheme 'none') is not a URL like scheme://…"),
        (f"9gram://{SECRET}", "NOTIFY_URLS item 1 (scheme '9gram') is not a URL like scheme://…"),
        ("json://,ntfy://x", None),
    ],
)
def test_a_bad_notify_url_is_a_clear_error_without_the_secret(monkeypatch, raw, message):
    monkeypatch.setenv("NOTIFY_URLS", raw)
    if message is None:
        assert env_urls("NOTIFY_URLS") == ["json://,ntfy://x"]  # one URL-shaped item: apprise judges it at send time
        return
    with pytest.raises(ConfigError) as error:
        env_urls("NOTIFY_URLS")
    assert message in str(error.value)
    assert "secret" not in str(error.value) and "123456789" not in str(error.value)


@pytest.mark.parametrize(("raw", "value"), [("17:00", "17:00"), ("9:05", "09:05"), ("off", ""), ("", "")])
def test_the_daily_summary_time(monkeypatch, raw, value):
    monkeypatch.setenv("NOTIFY_DAILY_SUMMARY_AT", raw)
    assert env_clock_time("NOTIFY_DAILY_SUMMARY_AT", "17:00") == value


@pytest.mark.parametrize("raw", ["25:00", "5pm", "17:60"])
def test_a_bad_daily_summary_time_is_refused(monkeypatch, raw):
    monkeypatch.setenv("NOTIFY_DAILY_SUMMARY_AT", raw)
    with pytest.raises(ConfigError, match="is not a time of day HH:MM"):
        env_clock_time("NOTIFY_DAILY_SUMMARY_AT", "17:00")


def test_a_bad_notify_url_stops_start_up_with_one_line():
    result = manage("check", NOTIFY_URLS=f"json://127.0.0.1/ok {SECRET}")
    assert result.returncode == 2
    assert "NOTIFY_URLS item 2 (scheme 'none') is not a URL like scheme://…" in result.stderr
    assert SECRET not in result.stderr and "Traceback" not in result.stderr


def test_a_bad_disconnect_limit_stops_start_up():
    result = manage("check", NOTIFY_DISCONNECT_SECONDS="3")
    assert result.returncode == 2
    assert "NOTIFY_DISCONNECT_SECONDS=3 is out of range [10, 86400]" in result.stderr


def test_notify_urls_can_come_from_a_file(monkeypatch, tmp_path):
    secret_file = tmp_path / "notify"
    secret_file.write_text(f"tgram://{SECRET}/42\nntfy://alerts\n")
    monkeypatch.setenv("NOTIFY_URLS_FILE", str(secret_file))
    assert env_urls("NOTIFY_URLS") == [f"tgram://{SECRET}/42", "ntfy://alerts"]
