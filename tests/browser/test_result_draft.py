"""An inspector on a phone never loses what was typed on the result entry page: not to a
reload, not to a photo (uploaded with the draft in one form), not to deleting an attachment.

Screenshots are kept under tests/browser/artifacts/ (git-ignored) for review.
"""

from __future__ import annotations

import pytest

from . import result_world
from .result_world import PHONE, shot, today
from .test_console import _login


@pytest.fixture(scope="module")
def drawn(live_app):
    return result_world.drawn(live_app)


@pytest.fixture
def entry(page, base_url, drawn):
    """lf_zhangwei on the result entry page of the first drawn entity, at phone width."""
    page.set_viewport_size(PHONE)
    _login(page, base_url, "lf_zhangwei")
    page.wait_for_selector("text=工作台")
    url = f"{base_url}/console/draws/{drawn['draw_id']}/results/0"
    page.goto(url)
    page.wait_for_selector("#result-form")
    return url


def _type(page, drawn):
    first, _ = drawn["matters"]
    page.fill("input[name=checked_on]", today())
    page.check(f"input[name=m{first}_codes][value='6']")
    page.check(f"input[name=m{first}_methods][value=field]")
    page.check(f"input[name=m{first}_measures][value=feedback]")
    page.fill(f"textarea[name=m{first}_notes]", "门店已关闭，邻居称已搬走")
    page.fill("textarea[name=notes]", "现场无人，已拍照")


def _assert_typed(page, drawn):
    first, _ = drawn["matters"]
    assert page.input_value("input[name=checked_on]") == today()
    assert page.is_checked(f"input[name=m{first}_codes][value='6']")
    assert page.is_checked(f"input[name=m{first}_methods][value=field]")
    assert page.is_checked(f"input[name=m{first}_measures][value=feedback]")
    assert not page.is_checked(f"input[name=m{first}_codes][value='1']")
    assert page.input_value(f"textarea[name=m{first}_notes]") == "门店已关闭，邻居称已搬走"
    assert page.input_value("textarea[name=notes]") == "现场无人，已拍照"


def test_typed_input_survives_a_reload_and_a_new_visit(page, entry, drawn):
    _type(page, drawn)
    page.reload()
    page.wait_for_selector("#draft-restored")
    _assert_typed(page, drawn)
    shot(page, "result-draft-1-restored-phone")
    page.goto(entry)  # a new navigation: no form state kept by the browser itself
    page.wait_for_selector("#draft-restored")
    _assert_typed(page, drawn)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]  # nothing pushes the page sideways on the phone

    page.click("#draft-discard")  # back to what the server has: nothing was saved
    assert page.locator("#draft-restored").count() == 0
    assert page.input_value("textarea[name=notes]") == ""
    page.reload()
    page.wait_for_selector("#result-form")
    assert page.locator("#draft-restored").count() == 0
    assert page.input_value("textarea[name=notes]") == ""
    assert page.console_errors == []


def test_a_photo_is_saved_with_the_typed_draft(page, entry, drawn, tmp_path):
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    photo = tmp_path / "门头照片.png"
    photo.write_bytes(result_world.png())
    _type(page, drawn)
    page.set_input_files("#result-form input[name=file]", str(photo))
    page.click("#save")
    page.wait_for_selector("text=附件已上传（1 个）")
    assert "检查结果已保存" in page.inner_text("main")
    assert "门头照片.png" in page.inner_text("#attachments")
    assert page.locator("#draft-restored").count() == 0  # saved: nothing to restore
    _assert_typed(page, drawn)
    shot(page, "result-draft-2-saved-with-photo-phone")

    # Typing on, then deleting the photo (a separate post that reloads the page): the new
    # text is still there afterwards, and the saved part too.
    page.fill("textarea[name=notes]", "现场无人，已拍照；照片拍错，重拍")
    page.click("#attachments >> text=删除")
    page.wait_for_selector("text=附件已删除")
    assert dialogs == ["确定删除该附件？"]
    assert "门头照片.png" not in page.inner_text("#attachments")
    page.wait_for_selector("#draft-restored")
    assert page.input_value("textarea[name=notes]") == "现场无人，已拍照；照片拍错，重拍"
    first, _ = drawn["matters"]
    assert page.is_checked(f"input[name=m{first}_codes][value='6']")
    shot(page, "result-draft-3-after-delete-phone")
    assert page.console_errors == []
