"""The department tree: children and descendants (province → city → county)."""

from __future__ import annotations

from shuangsuiji.services.accounts import departments

from .. import factories


def test_descendants_walk_the_whole_subtree_once_nearest_first(session, world):
    a, b = world["a"], world["b"]
    counties = [
        factories.DepartmentFactory(code=f"CTY-{i}", parent=a, level="county") for i in range(2)
    ]
    elsewhere = factories.DepartmentFactory(code="CTY-B", parent=b, level="county")
    session.flush()
    tree = departments.children(session)
    assert set(tree[world["province"].id]) == {a.id, b.id}
    below = departments.descendants(session, world["province"].id)
    assert below[:2] in ([a.id, b.id], [b.id, a.id]) and len(below) == len(set(below)) == 5
    assert set(below[2:]) == {c.id for c in counties} | {elsewhere.id}
    assert set(departments.descendants(session, a.id, below=tree)) == {c.id for c in counties}
    assert departments.descendants(session, counties[0].id) == []
