"""axe-core in the browser tests: the vendored engine (vendor/axe-core, from the npm registry,
MPL-2.0) is added to every document of a context as an init script, so the page's strict CSP
does not stop it and nothing is downloaded while the tests run."""

from __future__ import annotations

from pathlib import Path

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA (GB/T 37668-2019 follows WCAG 2.0 AA).
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def install(context) -> None:
    context.add_init_script(path=str(AXE))


def violations(page) -> list[dict]:
    """The WCAG 2.1 A/AA violations axe finds on the page as it is now."""
    return page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {
                runOnly: { type: "tag", values: tags },
                resultTypes: ["violations"],
            });
            return result.violations.map((v) => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                nodes: v.nodes.slice(0, 5).map((n) => ({
                    target: n.target.join(" "),
                    html: n.html.slice(0, 160),
                    summary: n.failureSummary,
                })),
                count: v.nodes.length,
            }));
        }""",
        TAGS,
    )


def report(where: str, found: list[dict]) -> str:
    lines = [f"{where}: {len(found)} axe violation(s)"]
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}, {v['count']} node(s)): {v['help']}")
        lines.extend(f"    {n['target']}  {n['html']}\n      {n['summary']}" for n in v["nodes"])
    return "\n".join(lines)
