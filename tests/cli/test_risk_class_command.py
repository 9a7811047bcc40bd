"""`shuangsuiji import risk_classes FILE`: the monthly risk classes from the command line."""

from __future__ import annotations

from shuangsuiji.cli import main

from .. import factories
from ..services.registry.test_imports import code


def test_import_risk_classes_updates_and_reports_rejects(app, session, world, tmp_path):
    entity = factories.EntityFactory(department=world["a"], uscc=code(1))
    session.commit()
    source = tmp_path / "风险分类-2030-06.csv"
    source.write_text(
        f"统一社会信用代码,信用风险分类,分类月份\n{code(1)},D,2030-06\n{code(2)},A,2030-06\n",
        encoding="gb18030",
    )
    rejects = tmp_path / "rejects.csv"
    result = app.test_cli_runner().invoke(
        main,
        [
            "import",
            "risk_classes",
            str(source),
            "--as",
            "admin_a",
            "--yes",
            "--rejects",
            str(rejects),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "更新 1" in result.output and "拒绝 1" in result.output
    assert "本部门检查对象名录中没有该主体" in rejects.read_text(encoding="utf-8-sig")
    session.expire_all()
    assert (entity.risk_class, entity.risk_class_month) == ("D", "2030-06")
