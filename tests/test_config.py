import pytest

from shuangsuiji import settings


def test_defaults_load_for_development():
    config = settings.load(environ={})
    assert config["ENV"] == "development"
    assert config["SESSION_IDLE_MINUTES"] == 30


def test_environment_variable_overrides_with_type():
    config = settings.load(environ={"SHUANGSUIJI_SESSION_IDLE_MINUTES": "5"})
    assert config["SESSION_IDLE_MINUTES"] == 5


def test_unknown_environment_key_stops_start_up():
    with pytest.raises(settings.ConfigError, match="SHUANGSUIJI_NO_SUCH_KEY"):
        settings.load(environ={"SHUANGSUIJI_NO_SUCH_KEY": "1"})


def test_bad_integer_is_reported():
    with pytest.raises(settings.ConfigError, match="expected an integer"):
        settings.load(environ={"SHUANGSUIJI_SESSION_IDLE_MINUTES": "half an hour"})


def test_production_without_secret_stops_start_up():
    with pytest.raises(settings.ConfigError, match="SECRET_KEY") as info:
        settings.load(environ={"SHUANGSUIJI_ENV": "production"})
    assert "DATABASE_URL" in str(info.value)


def test_production_with_secrets_starts():
    config = settings.load(
        environ={
            "SHUANGSUIJI_ENV": "production",
            "SHUANGSUIJI_SECRET_KEY": "x" * 40,
            "DATABASE_URL": "postgresql+psycopg://db/prod",
            "SHUANGSUIJI_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        }
    )
    assert config["FORCE_HTTPS"] is True
    assert config["DATABASE_URL"] == "postgresql+psycopg://db/prod"


def test_unknown_key_in_environment_file(tmp_path, monkeypatch):
    (tmp_path / "default.py").write_text('ENV = "development"\nSECRET_KEY = "s"\n')
    (tmp_path / "development.py").write_text("TYPO_KEY = 1\n")
    monkeypatch.setenv("SHUANGSUIJI_CONFIG_DIR", str(tmp_path))
    with pytest.raises(settings.ConfigError, match="TYPO_KEY"):
        settings.load(environ={})


def test_every_problem_of_every_layer_is_reported_at_once(tmp_path, monkeypatch):
    (tmp_path / "default.py").write_text(
        'ENV = "development"\nSECRET_KEY = ""\nDATABASE_URL = ""\nLIMIT = 3\n'
    )
    env_file = tmp_path / "development.py"
    env_file.write_text("TYPO_KEY = 1\nLIMIT = 4\n")
    monkeypatch.setenv("SHUANGSUIJI_CONFIG_DIR", str(tmp_path))
    with pytest.raises(settings.ConfigError) as info:
        settings.load(
            {"LIMIT": 5, "OTHER": 1},
            environ={
                "SHUANGSUIJI_NOPE": "1",
                "SHUANGSUIJI_LIMIT": "x",
                "DATABASE_URL": "sqlite://",
            },
        )
    assert str(info.value).splitlines() == [
        "configuration refused:",
        f"  - {env_file}: unknown key TYPO_KEY (not declared in default.py)",
        "  - environment variable SHUANGSUIJI_NOPE: unknown key NOPE",
        "  - SHUANGSUIJI_LIMIT: expected an integer, got 'x'",
        "  - override: unknown key OTHER",
        "  - SHUANGSUIJI_SECRET_KEY is empty",
    ]


def test_layers_apply_in_order_file_then_environment_then_overrides(tmp_path, monkeypatch):
    (tmp_path / "default.py").write_text(
        'ENV = "development"\nSECRET_KEY = "s"\nDATABASE_URL = ""\nA = 1\nB = 1\nC = 1\n'
    )
    (tmp_path / "development.py").write_text("A = 2\nB = 2\nC = 2\n")
    monkeypatch.setenv("SHUANGSUIJI_CONFIG_DIR", str(tmp_path))
    config = settings.load(
        {"C": 4},
        environ={"SHUANGSUIJI_B": "3", "SHUANGSUIJI_C": "3", "DATABASE_URL": "sqlite://"},
    )
    assert (config["A"], config["B"], config["C"]) == (2, 3, 4)
    assert config["DATABASE_URL"] == "sqlite://"


def test_app_refuses_a_route_without_access_rule(db, monkeypatch):
    import shuangsuiji.web as web
    from shuangsuiji.app import create_app

    original = web.register

    def register_with_undeclared_route(app):
        original(app)
        app.add_url_rule("/undeclared", "undeclared", lambda: "x")

    monkeypatch.setattr(web, "register", register_with_undeclared_route)

    with pytest.raises(settings.ConfigError, match="/undeclared"):
        create_app({"ENV": "testing"}, database=db)


def test_the_request_cap_admits_the_largest_import():
    values = settings.load(environ={})
    assert values["REQUEST_MAX_BYTES"] > values["IMPORT_MAX_BYTES"]
    assert values["REQUEST_MAX_BYTES"] > values["RESULT_ATTACHMENT_MAX_BYTES"]


def test_an_import_limit_beyond_the_request_cap_stops_start_up():
    with pytest.raises(settings.ConfigError, match="REQUEST_MAX_BYTES .*IMPORT_MAX_BYTES"):
        settings.load(environ={"SHUANGSUIJI_IMPORT_MAX_BYTES": str(400 * 1024 * 1024)})


def test_the_app_caps_requests_at_request_max_bytes(app):
    assert app.config["MAX_CONTENT_LENGTH"] == app.config["REQUEST_MAX_BYTES"]
    assert app.config["MAX_CONTENT_LENGTH"] > app.config["IMPORT_MAX_BYTES"]
