"""The benchmark's table, its targets (met or missed) and its cost-curve plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGET_CHUNKS = 10000  # the load targets are stated at 10k chunks


def _nearest(rows: list[dict[str, Any]], key: str = "chunks") -> int | None:
    sizes = sorted({int(r[key]) for r in rows if r.get(key)})
    return min(sizes, key=lambda s: abs(s - TARGET_CHUNKS)) if sizes else None


def _load_row(
    report: dict[str, Any], chunks: int | None, endpoint: str, clients: int | None = None
) -> list[dict[str, Any]]:
    return [
        r
        for r in report["load"]
        if r.get("status") == "measured"
        and r["chunks"] == chunks
        and r["endpoint"] == endpoint
        and (clients is None or r["clients"] == clients)
    ]


def evaluate_targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target of the issue with the measured figure and met / missed / not measured."""
    targets: list[dict[str, Any]] = []

    def add(name: str, goal: str, value: float | None, met: bool | None, where: str) -> None:
        targets.append(
            {
                "target": name,
                "goal": goal,
                "value": value,
                "status": "not measured" if met is None else ("met" if met else "missed"),
                "where": where,
            }
        )

    for row in report["ingest"]:
        ratio = row.get("ingest_to_encode_ratio")
        where = f"{row['chunks']} chunks"
        if ratio is not None:
            add("ingest chunks/s ÷ raw encode rate", "≥ 0.7", ratio, ratio >= 0.7, where)
        share = row["reingest_unchanged"]["share_of_full"]
        add("re-ingest unchanged, share of full ingest", "≤ 0.05", share, share <= 0.05, where)
        if row["add_1_percent"] is None:
            add("1% new documents, share of full ingest", "≤ 0.05", None, None, where)
        else:
            share = row["add_1_percent"]["share_of_full"]
            add("1% new documents, share of full ingest", "≤ 0.05", share, share <= 0.05, where)
    measured = [r for r in report["load"] if r.get("status") == "measured"]
    chunks = _nearest(measured)
    where = f"{chunks} chunks, best configuration measured"
    single = _load_row(report, chunks, "search", 1)
    p95 = min((r["p95_ms"] for r in single), default=None)
    add("/api/search p95, 1 client", "≤ 50 ms", p95, None if p95 is None else p95 <= 50, where)
    rps = max((r["requests_per_s"] for r in _load_row(report, chunks, "search")), default=None)
    add(
        "/api/search requests/s at saturation",
        "≥ 150",
        rps,
        None if rps is None else rps >= 150,
        where,
    )
    single = _load_row(report, chunks, "ask", 1)
    p95 = min((r["p95_ms"] for r in single), default=None)
    add(
        "extractive /api/ask p95, 1 client",
        "≤ 150 ms",
        p95,
        None if p95 is None else p95 <= 150,
        where,
    )
    seconds = report.get("duration_seconds")
    quick = report["options"]["quick"]
    add(
        "whole benchmark run",
        "< 20 min",
        seconds,
        None if seconds is None or quick else seconds < 1200,
        "this run" + (" (quick: not judged)" if quick else ""),
    )
    return targets


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 10 else f"{value:.0f}"
    return str(value)


def _table(header: list[str], rows: list[list[Any]]) -> str:
    cells = [header, *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _with_share(step: dict[str, Any] | None) -> str:
    if step is None:
        return "not measured"
    return f"{step['seconds']} ({step['share_of_full']})"


def format_tables(report: dict[str, Any]) -> str:
    m = report["machine"]
    parts = [
        f"machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, GPU {m['gpu']}; "
        f"load average before {m['load_average_before']}, after "
        f"{m.get('load_average_after')}; run took {report.get('duration_seconds')} s",
        "",
        "INGEST (embeddings: " + report["options"]["model_for_curves"] + ")",
        _table(
            [
                "chunks",
                "docs",
                "full s",
                "docs/s",
                "chunks/s",
                "raw enc/s",
                "ratio",
                "re-ingest s (share)",
                "+1% s (share)",
                "peak RSS MB",
                "vectors from",
            ],
            [
                [
                    r["chunks"],
                    r["documents"],
                    r["full"]["seconds"],
                    r["full"]["documents_per_s"],
                    r["full"]["chunks_per_s"],
                    r["raw_encode"]["per_s"],
                    r.get("ingest_to_encode_ratio"),
                    _with_share(r["reingest_unchanged"]),
                    _with_share(r["add_1_percent"]),
                    r["full"]["peak_rss_mb"],
                    "model" if r.get("ingest_to_encode_ratio") is not None else "cache",
                ]
                for r in report["ingest"]
            ],
        ),
        "",
        "LOAD (locust, closed-loop clients on loopback)",
        _table(
            [
                "chunks",
                "config",
                "endpoint",
                "clients",
                "req/s",
                "p50",
                "p95",
                "p99",
                "fail",
                "load average / note",
            ],
            [
                [
                    r.get("chunks"),
                    r["config"],
                    r.get("endpoint", ""),
                    r.get("clients", ""),
                    r.get("requests_per_s"),
                    r.get("p50_ms"),
                    r.get("p95_ms"),
                    r.get("p99_ms"),
                    r.get("failures"),
                    r.get("load", ""),
                ]
                if r.get("status") == "measured"
                else [
                    r.get("chunks"),
                    r["config"],
                    "—",
                    "",
                    "",
                    "",
                    "",
                    "",
                    "",
                    f"{r['status']}: {r['why']}",
                ]
                for r in report["load"]
            ],
        ),
        "",
        "MEMORY",
        _table(
            ["what", "chunks", "peak RSS MB", "RSS/PSS at ready MB (per process)"],
            [
                [
                    f"server, {r['config']}, {r['embedding']}",
                    r["chunks"],
                    r["peak_rss_total_mb"],
                    ", ".join(f"{p['rss_mb']}/{p['pss_mb']}" for p in r["processes_at_ready"]),
                ]
                for r in report["memory"]["server_per_size"]
            ]
            + [
                [
                    f"server, sample KB, {r['embedding']}",
                    r["chunks"],
                    r["peak_rss_mb"],
                    f"{r['rss_at_ready_mb']}/{r['pss_at_ready_mb']}",
                ]
                for r in report["memory"]["server_per_embedding"]
            ]
            + [
                [
                    "ingest (full / re-ingest / +1%)",
                    r["chunks"],
                    " / ".join(
                        str(r[k])
                        for k in ("full_peak_rss_mb", "reingest_peak_rss_mb", "add_peak_rss_mb")
                    ),
                    "",
                ]
                for r in report["memory"]["ingest"]
            ],
        ),
    ]
    llm = report.get("llm", {})
    parts += ["", "LLM STREAMS (first verified sentence within 10 s)"]
    if llm.get("status") == "measured":
        parts.append(
            _table(
                ["streams at once", "within 10 s", "first sentence s", "fell back", "draft p50 s"],
                [
                    [
                        r["streams"],
                        r["first_sentence_within_10s"],
                        ", ".join(str(t) for t in r["first_sentence_s"]),
                        r["fell_back_to_extractive"],
                        r["draft_p50_s"],
                    ]
                    for r in llm["levels"]
                    if "streams" in r
                ],
            )
        )
    else:
        parts.append(f"{llm.get('status')}: {llm.get('why')}")
    parts += [
        "",
        "TARGETS",
        _table(
            ["target", "goal", "value", "status", "where"],
            [
                [t["target"], t["goal"], t["value"], t["status"], t["where"]]
                for t in report["targets"]
            ],
        ),
    ]
    return "\n".join(parts)


def curve_points(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Long-format points for the plot: one per (figure, size)."""
    points: list[dict[str, Any]] = []
    for r in report["ingest"]:
        points.append(
            {
                "figure": "ingest chunks/s",
                "chunks": r["chunks"],
                "value": r["full"]["chunks_per_s"],
                "series": "full ingest",
            }
        )
        points.append(
            {
                "figure": "ingest seconds",
                "chunks": r["chunks"],
                "value": r["full"]["seconds"],
                "series": "full ingest",
            }
        )
        points.append(
            {
                "figure": "ingest seconds",
                "chunks": r["chunks"],
                "value": r["reingest_unchanged"]["seconds"],
                "series": "re-ingest unchanged",
            }
        )
        if r["add_1_percent"] is not None:
            points.append(
                {
                    "figure": "ingest seconds",
                    "chunks": r["chunks"],
                    "value": r["add_1_percent"]["seconds"],
                    "series": "+1% documents",
                }
            )
        points.append(
            {
                "figure": "peak RSS MB",
                "chunks": r["chunks"],
                "value": r["full"]["peak_rss_mb"],
                "series": "ingest",
            }
        )
    for r in report["load"]:
        if r.get("status") != "measured":
            continue
        if r["clients"] == 1:
            points.append(
                {
                    "figure": "p95 ms, 1 client",
                    "chunks": r["chunks"],
                    "value": r["p95_ms"],
                    "series": f"{r['endpoint']}, {r['config']}",
                }
            )
    best: dict[tuple[int, str], float] = {}
    for r in report["load"]:
        if r.get("status") == "measured":
            key = (r["chunks"], f"{r['endpoint']}, {r['config']}")
            best[key] = max(best.get(key, 0.0), r["requests_per_s"])
    for (chunks, series), value in best.items():
        points.append(
            {
                "figure": "requests/s at saturation",
                "chunks": chunks,
                "value": value,
                "series": series,
            }
        )
    for r in report["memory"]["server_per_size"]:
        points.append(
            {
                "figure": "peak RSS MB",
                "chunks": r["chunks"],
                "value": r["peak_rss_total_mb"],
                "series": f"server, {r['config']}",
            }
        )
    return points


def write_plot(report: dict[str, Any], out: Path) -> None:
    """bench.svg and bench.png beside bench.json: each figure against the corpus size."""
    import altair as alt
    import vl_convert

    points = curve_points(report)
    machine = report["machine"]
    base = alt.Chart(alt.Data(values=points)).mark_line(point=True)
    chart = (
        base.encode(
            x=alt.X("chunks:Q", scale=alt.Scale(type="log"), title="chunks (log)"),
            y=alt.Y("value:Q", title=None),
            color=alt.Color("series:N", legend=alt.Legend(orient="bottom", columns=2)),
        )
        .properties(width=260, height=170)
        .facet(facet=alt.Facet("figure:N", title=None), columns=3)
        .resolve_scale(y="independent")
        .properties(title=f"helpdesk cost curve ({machine['cores']} cores, {machine['cpu']})")
    )
    spec = chart.to_json()
    (out / "bench.svg").write_text(vl_convert.vegalite_to_svg(spec), "utf-8")
    (out / "bench.png").write_bytes(vl_convert.vegalite_to_png(spec, scale=1.5))


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs as one report (say the default 1k+10k run and a separate 50k run): their
    rows side by side, each tagged with the run it came from; the first run's machine, options,
    LLM figures and duration (the one judged against the 20-minute budget)."""
    first = reports[0]
    merged: dict[str, Any] = {
        **first,
        "ingest": [],
        "load": [],
        "memory": {"server_per_size": [], "server_per_embedding": [], "ingest": []},
        "runs": [],
    }
    for report in reports:
        tag = report["started"]
        merged["runs"].append(
            {
                "started": tag,
                "sizes": report["options"]["sizes"],
                "duration_seconds": report.get("duration_seconds"),
                "load_average_before": report["machine"].get("load_average_before"),
                "load_average_after": report["machine"].get("load_average_after"),
            }
        )
        merged["ingest"] += [{**r, "run": tag} for r in report["ingest"]]
        merged["load"] += [{**r, "run": tag} for r in report["load"]]
        for key in ("server_per_size", "server_per_embedding", "ingest"):
            merged["memory"][key] += [{**r, "run": tag} for r in report["memory"][key]]
        if merged["llm"].get("status") != "measured" and report["llm"].get("status") == "measured":
            merged["llm"] = report["llm"]
    merged["targets"] = evaluate_targets(merged)
    return merged
