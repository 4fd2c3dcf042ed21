"""report.html in headless Chromium (Debian's, driven by Playwright): it renders offline with no
console error, fetches nothing, and every chart the report made is on the page and visible.

BULKGEN_UPDATE_SCREENSHOT=1 also writes the screenshot to docs/analytics_report.png (the
README's picture).
"""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

from bulkgen_pipeline.analytics.publish import render_report
from bulkgen_pipeline.analytics.synthetic import SyntheticPlan, synthetic_analytics

from .conftest import facts_from

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "analytics_report.png"
PICTURES_SCREENSHOT = DOCS_SCREENSHOT.with_name("analytics_pictures.png")


def history() -> list[dict]:
    """Runs that give every kind of chart: several categories and strategies, one over-drawn
    value, one value providers refuse, two providers."""
    rng = random.Random(7)
    plans = [
        SyntheticPlan(category="bags", bias={"material": ("velvet", 0.12)}),
        SyntheticPlan(
            category="bags",
            use_model=False,
            failing_values={("style", "luxury"): 0.5},
            color_strategy="weighted",
            palette=["#1F4E79", "#C00000", "#C00000", "#F2C14E"],
            # Only style, hardware and the colour vary, and the pictures do not show the
            # hardware: generations that differ in it alone look alike.
            fixed={
                "type": "tote bag",
                "material": "leather",
                "size": "small",
                "closure": "zip",
                "background": "on a wooden table",
            },
            unseen=("hardware",),
            colour_miss=0.3,
        ),
        SyntheticPlan(category="mugs", sampling="balanced", color_strategy="cycling"),
    ]
    return [synthetic_analytics(plans[i % 3], rng, preset_id=f"preset-{i % 6}") for i in range(90)]


def test_the_report_renders_offline_with_every_chart_visible(browser, tmp_path):
    published = render_report(facts_from(history()))
    kinds = {chart.chart_id.split("-", 1)[0] for chart in published.charts}
    assert kinds == {"frequency", "colours", "failures", "latency"}
    path = tmp_path / "report.html"
    path.write_text(published.html, encoding="utf-8")

    page = browser.new_page(viewport={"width": 1280, "height": 2000})
    problems: list[str] = []
    fetched: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))

    def only_the_file(route):
        if route.request.url.startswith("file://"):
            return route.continue_()
        fetched.append(route.request.url)
        return route.abort()

    page.route("**/*", only_the_file)
    page.goto(path.as_uri(), wait_until="load")

    assert problems == [] and fetched == []
    assert page.title() == "bulkgen · randomization report"
    on_page = page.locator("figure.chart").evaluate_all(
        "figures => figures.map(f => f.dataset.chart)"
    )
    assert sorted(on_page) == sorted(chart.chart_id for chart in published.charts)
    for chart in published.charts:
        svg = page.locator(f"#chart-{chart.chart_id} svg")
        svg.scroll_into_view_if_needed()
        assert svg.is_visible(), chart.chart_id
        box = svg.bounding_box()
        assert box and box["width"] > 100 and box["height"] > 100, chart.chart_id
        # Bars were drawn, not just axes.
        assert svg.locator("rect").count() >= 2, chart.chart_id
    # What the data team must see first: exactly the over-drawn value and the refused one.
    findings = page.locator(".findings li").all_inner_texts()
    assert findings == [
        "1 attribute test(s) flagged",
        "1 value(s) over- or under-drawn",
        "0 colour strategy check(s) failed",
        "0 balanced draw(s) off by more than one",
        "0 run(s) with a repeated combination they had room to avoid",
        "1 value(s) failing at a different rate",
    ]
    assert "velvet" in page.locator("table").first.inner_text()
    assert "style = luxury" in page.locator("#chart-failures-bags").inner_text()

    page.evaluate("window.scrollTo(0, 0)")
    screenshot = tmp_path / "analytics_report.png"
    page.screenshot(path=str(screenshot))
    assert screenshot.stat().st_size > 50_000
    if os.environ.get("BULKGEN_UPDATE_SCREENSHOT"):
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)

    # The pictures' sections: the attribute the pictures ignore comes first, at every pair.
    section = page.locator("h2", has_text="Attributes that do not change the picture")
    table = section.locator("xpath=following-sibling::table[1]")
    first_row = table.locator("tbody tr").first.locator("td").all_inner_texts()
    assert first_row[:2] == ["bags", "hardware"] and float(first_row[-1]) == 1.0
    second_row = table.locator("tbody tr").nth(1).locator("td").all_inner_texts()
    assert float(second_row[-1]) == 0.0 and int(second_row[2]) > 0  # style does change it
    colours = page.locator("h2", has_text="Colour adherence").locator(
        "xpath=following-sibling::table[1]"
    )
    weighted = colours.locator("tr", has_text="weighted").first.locator("td").all_inner_texts()
    assert 0.55 <= float(weighted[5]) <= 0.85  # 30 % of that plan's images missed their colour
    section.scroll_into_view_if_needed()
    top = section.bounding_box()
    bottom = colours.bounding_box()
    assert top and bottom
    pictures = tmp_path / "analytics_pictures.png"
    page.screenshot(
        path=str(pictures),
        full_page=True,
        clip={
            "x": 0,
            "y": top["y"] + page.evaluate("window.scrollY") - 16,
            "width": 1280,
            "height": bottom["y"] + bottom["height"] - top["y"] + 32,
        },
    )
    if os.environ.get("BULKGEN_UPDATE_SCREENSHOT"):
        shutil.copyfile(pictures, PICTURES_SCREENSHOT)
    page.close()


def test_an_empty_history_still_gives_a_page(browser, tmp_path):
    from bulkgen_pipeline.analytics.facts import FACTS_SCHEMA

    published = render_report(FACTS_SCHEMA.empty_table().to_pandas())
    assert published.charts == [] and published.report.runs == 0
    path = tmp_path / "empty.html"
    path.write_text(published.html, encoding="utf-8")
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    assert "No settled runs yet" in page.inner_text("main") and errors == []
    page.close()
