"""Charts a reader can hover: the compare report's time series as Plotly charts inside report.html.

Plotly's wheel carries plotly.js (plotly/package_data/plotly.min.js, about 4.6 MB), so the page embeds
it once, in its head, and needs no network (no CDN is reachable where the model runs). Each chart is a
`div` and a few lines of script with its data; hovering a line shows the month, the scenario, the value
with its unit and, from two replicates on, its 95 % interval. report.md keeps the static PNGs.

Without plotly installed, `available()` is False and the report embeds the PNGs instead (the page then
holds no script at all). `lab.report` computes what is drawn (`by_month`) and passes it here, so this
module draws and never computes an effect.
"""
from __future__ import annotations

import json

import pandas as pd

try:
    import plotly.graph_objects as go
    from plotly.offline import get_plotlyjs
    from plotly.subplots import make_subplots
except ImportError:                  # the report falls back to its PNGs
    go = None

CONFIG = {"displaylogo": False, "responsive": True,
          "modeBarButtonsToRemove": ["select2d", "lasso2d", "toImage"]}   # the PNG beside report.md is the image


def available() -> bool:
    """Whether hover charts can be drawn (plotly importable)."""
    return go is not None


def script() -> str:
    """plotly.js itself, for the page's head: once a page, whatever the number of charts."""
    return get_plotlyjs()


def _trace(fig, part: pd.DataFrame, name: str, colour: str, col: int, k: float, unit: str, digits: int,
           legend: bool) -> None:
    """One scenario's mean as a line with its 95 % band (if any) behind it; the hover names the month, the
    scenario, the value with its unit (an effect with its sign) and its interval. Values are rounded two
    decimals past what the hover shows, dates written as days: the page stays small."""
    dates = list(pd.to_datetime(part["date"]).dt.strftime("%Y-%m-%d"))
    mean, lo, hi = ((k * part[c]).round(digits + 2) for c in ("mean", "lo", "hi"))
    banded = lo.notna().any()
    sign = "+" if col == 2 else ""
    if banded:
        fig.add_trace(go.Scatter(x=dates + dates[::-1], y=list(hi) + list(lo[::-1]), fill="toself",
                                 fillcolor=colour, opacity=0.18, line={"width": 0}, hoverinfo="skip",
                                 showlegend=False, legendgroup=name), row=1, col=col)
    interval = (f" (95 % interval %{{customdata[0]:{sign},.{digits}f}} to %{{customdata[1]:{sign},.{digits}f}})"
                if banded else "")
    fig.add_trace(go.Scatter(x=dates, y=list(mean), mode="lines", name=name, legendgroup=name, showlegend=legend,
                             line={"color": colour, "width": 2},
                             customdata=list(zip(lo.fillna(0), hi.fillna(0))) if banded else None,
                             hovertemplate=f"%{{x|%b %Y}}<br>{name}: %{{y:{sign},.{digits}f}} {unit}{interval}"
                                           "<extra></extra>"), row=1, col=col)


DOTTED = {"dash": "dot", "color": "#888", "width": 1}


def _event_lines(events) -> list[dict]:
    """A dotted line at each event in both panels, and the effect panel's zero line, as layout shapes:
    one layout update instead of plotly's add_vline per line (13 charts of a compare report: 6.3 s -> 2.4 s)."""
    lines = [{"type": "line", "xref": x, "yref": f"{y} domain", "x0": pd.Timestamp(d), "x1": pd.Timestamp(d),
              "y0": 0, "y1": 1, "line": DOTTED} for d, _ in events for x, y in (("x", "y"), ("x2", "y2"))]
    return [*lines, {"type": "line", "xref": "x2 domain", "yref": "y2", "x0": 0, "x1": 1, "y0": 0, "y1": 0,
                     "line": {"color": "black", "width": 1}}]


def _event_marks(events) -> list[dict]:
    """The event's number at the top of the level panel; hovering it shows what changed."""
    return [{"x": pd.Timestamp(d), "y": 1, "xref": "x", "yref": "y domain", "text": str(i), "showarrow": False,
             "yanchor": "top", "xanchor": "left", "font": {"size": 10, "color": "#555"}, "hovertext": what}
            for i, (d, what) in enumerate(events, 1)]


def series_chart(data: pd.DataFrame, title: str, share: bool, unit: str, names: dict[str, str],
                 colours: dict[str, str], baseline: str, events=(), targets: pd.DataFrame | None = None,
                 chart_id: str = "chart") -> str:
    """A column over time as a hoverable chart: each scenario's level (left) and scenario − baseline (right).

    `data` is lab.report.by_month's table (scenario, kind, date, mean, lo, hi); shares are fractions, drawn
    in percent and their effects in percentage points. Returns an HTML fragment (a div and its script)
    that needs plotly.js on the page (`script()`)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(title, "Scenario − baseline, paired by replicate"),
                        horizontal_spacing=0.09)
    k, digits = (100, 2) if share else (1, 1)
    level_unit, effect_unit = ("%", "pp") if share else (unit, unit)
    for scenario, colour in colours.items():
        for col, kind in ((1, "level"), (2, "effect")):
            part = data[(data["scenario"] == scenario) & (data["kind"] == kind)]
            if len(part):
                name = names.get(scenario, scenario)
                _trace(fig, part, name if kind == "level" else f"{name} − {names.get(baseline, baseline)}",
                       colour, col, k, level_unit if kind == "level" else effect_unit, digits, True)
    if targets is not None and len(targets):
        fig.add_trace(go.Scatter(x=[f"{int(y)}-07-01" for y in targets["year"]], y=list(targets["value"]),
                                 mode="markers", name="Target (yearly)",
                                 marker={"symbol": "diamond", "size": 9, "color": "white",
                                         "line": {"color": "black", "width": 1.5}},
                                 hovertemplate="Target %{x|%Y}: %{y:.1f} %<extra></extra>"), row=1, col=1)
    fig.update_layout(shapes=_event_lines(events), annotations=[*fig.layout.annotations, *_event_marks(events)])
    fig.update_yaxes(title_text=level_unit, row=1, col=1)
    fig.update_yaxes(title_text=effect_unit, row=1, col=2)
    fig.update_xaxes(dtick="M12", tickformat="%Y", showgrid=True, gridcolor="#eee")
    fig.update_layout(height=400, margin={"l": 60, "r": 20, "t": 50, "b": 40}, template="plotly_white",
                      hovermode="closest", legend={"orientation": "h", "y": -0.15, "x": 0},
                      font={"family": "sans-serif", "size": 12})
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=chart_id, config=CONFIG)


def json_of(fragment: str) -> list[dict]:
    """The traces a chart fragment draws (the first argument list of its Plotly.newPlot call), for tests."""
    start = fragment.index("Plotly.newPlot(")
    body = fragment[start + len("Plotly.newPlot("):]
    decoder = json.JSONDecoder()
    rest = body[body.index(",") + 1:].lstrip()          # after the div id
    traces, _ = decoder.raw_decode(rest)
    return traces
