"""Accessibility and 适老化 that the HTML and CSS show without a browser: skip link and <main>
on every page, contrast of the muted grey, text sized in rem, the public reading aids, form
errors tied to their fields. The browser tests add axe-core and the rendered sizes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .. import factories
from ..conftest import csrf_token, login

CSS = Path(__file__).parents[2] / "shuangsuiji" / "web" / "static" / "css" / "site.css"


def _luminance(hex_colour: str) -> float:
    value = hex_colour.lstrip("#")
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(fg: str, bg: str) -> float:
    high, low = sorted((_luminance(fg), _luminance(bg)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def _root_variables() -> dict[str, str]:
    root = re.search(r":root \{([^}]*)\}", CSS.read_text(encoding="utf-8")).group(1)
    return dict(re.findall(r"--([\w-]+): (#[0-9a-fA-F]{6})", root))


def test_contrast_helper_matches_known_ratios():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#66788a", "#f5f7fa") == pytest.approx(4.23, abs=0.01)  # the old grey


def test_muted_and_body_text_reach_4_5_to_1_on_every_background():
    colours = _root_variables()
    for fg in ("muted", "fg", "link"):
        for bg in ("bg", "surface", "head", "info", "error"):
            ratio = contrast(colours[fg], colours[bg])
            assert ratio >= 4.5, f"--{fg} on --{bg}: {ratio:.2f}:1"


def test_font_sizes_are_relative_and_body_text_is_at_least_16px():
    css = CSS.read_text(encoding="utf-8")
    assert not re.findall(r"font-size:\s*[\d.]+px", css)
    body = re.search(r"^body \{([^}]*)\}", css, re.M).group(1)
    assert "font-size: 1rem" in body
    sizes = [float(s) for s in re.findall(r"font-size:\s*([\d.]+)rem", css)]
    assert min(sizes) >= 0.875  # 14 px at the browser's default, nothing smaller


def _assert_landmarks(html: str, where: str):
    assert '<a class="skip-link" href="#main">跳到正文</a>' in html, where
    assert len(re.findall(r'<main [^>]*id="main"', html)) == 1, where
    assert html.index("skip-link") < html.index("<main"), where


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/matters",
        "/public/plans",
        "/public/results",
        "/audit-checkpoints",
        "/console/login",
        "/no-such-page",
    ],
)
def test_public_pages_have_a_skip_link_and_one_main(client, session, path):
    response = client.get(path)
    _assert_landmarks(response.get_data(as_text=True), path)


def test_console_pages_have_a_skip_link_and_one_main(app, world, session):
    session.commit()
    client = app.test_client()
    login(client, "admin_a")
    for path in ("/console/", "/console/entities", "/console/plans", "/console/audit"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_landmarks(response.get_data(as_text=True), path)


def test_the_notice_page_has_a_main(app, world, registry, session):
    draw = factories.DrawFactory(
        actor=world["admin_a"],
        commitment__plan__code="PLAN-001",
        commitment__plan__matters=[registry["matter"]],
    )
    session.commit()
    client = app.test_client()
    login(client, "admin_a")
    html = client.get(f"/console/draws/{draw.id}/notices/0").get_data(as_text=True)
    _assert_landmarks(html, "notice")
    assert re.search(r'<main [^>]*>\s*<article class="notice"', html)


def test_the_public_site_offers_large_text_and_high_contrast(client, session):
    html = client.get("/").get_data(as_text=True)
    assert '<html lang="zh-CN" class="site-public">' in html
    head = html[: html.index("</head>")]
    assert "/static/js/aids.js" in head  # applied before the page is drawn
    assert re.search(r'<button type="button" data-aid="large" aria-pressed="false"', html)
    assert re.search(r'<button type="button" data-aid="contrast" aria-pressed="false"', html)
    assert "<script>" not in html  # no inline script under the CSP
    js = (CSS.parents[1] / "js" / "aids.js").read_text(encoding="utf-8")
    assert "localStorage" in js and "aid-large" in js and "aid-contrast" in js
    css = CSS.read_text(encoding="utf-8")
    assert "html.site-public.aid-large { font-size: 125%; }" in css


def test_console_pages_do_not_take_the_public_aids(app, world, session):
    session.commit()
    client = app.test_client()
    login(client, "admin_a")
    html = client.get("/console/").get_data(as_text=True)
    assert "site-public" not in html and "aids.js" not in html


def test_a_field_error_marks_its_input_and_is_not_colour_alone(app, world, session):
    session.commit()
    client = app.test_client()
    login(client, "admin_a")
    token = csrf_token(client, "/console/entities/new")
    response = client.post(
        "/console/entities/new",
        data={"csrf_token": token, "uscc": "not-a-code", "name": "某某小吃店"},
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    control = re.search(r'<input name="uscc"[^>]*>', html).group(0)
    assert 'aria-invalid="true"' in control and 'aria-describedby="fe-uscc"' in control
    message = re.search(r'<span class="field-error" id="fe-uscc" data-field="uscc">([^<]+)', html)
    assert message and message.group(1).strip()
    # the summary names the field by its label, never by its code
    assert re.search(r'<li id="error-uscc" data-field="uscc">统一社会信用代码：', html)
    assert '.field-error::before { content: "⚠ "; }' in CSS.read_text(encoding="utf-8")
