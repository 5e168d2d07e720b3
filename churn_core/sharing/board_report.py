"""The board report: one self-contained HTML file built from a session's Workspace.

It opens with no network (inline CSS, inline SVG charts, no scripts, no external resources), prints
cleanly to PDF (print styles, page breaks between sections) and is written in ``lang`` ("en"/"zh").
Every figure comes from the same :class:`~churn_core.workspace.Workspace` methods the pages call, so
the report and the pages tell the same story; each headline figure is also tagged
``data-figure="name" data-value="raw number"`` so tests (and anyone) can read the exact value.
Every string that comes from the user's data (file name, ids, column names, reasons) is escaped.

Sections: data summary, model quality, drivers and causes, segments at risk, watch-list by tier and
signal, value at risk, the recommended plan against both baselines with intervals and assumptions,
the win-back opportunity, and what changed since the last snapshot (when compared).
"""

from __future__ import annotations

import html
import math
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from churn_core.errors import ChurnCoreError
from churn_core.sharing.formatting import money, number, pct

_T = {
    "en": {
        "title": "Customer retention: board report", "generated": "Generated", "file": "Customer file",
        "summary": "1. The customer base", "customers": "Customers in the file", "churned": "Customers who left",
        "churn_rate": "Churn rate", "value": "Yearly customer value (all customers)",
        "book": "Customers we act on", "book_current_upload": "current customers (second upload)",
        "book_active_customers": "customers still here", "book_latest_snapshot_active": "customers still here at the latest snapshot",
        "model": "2. How good is the early warning?", "auc": "Ranking quality (ROC AUC)", "grade": "Grade",
        "baseline": "Simple baseline (logistic regression) AUC", "lift": "Leavers found in the riskiest 10% (lift)",
        "auc_words": "Shown a customer who left and one who stayed, the model ranks the leaver as riskier {n} times out of 100.",
        "grade_words": {"A": "A: ready to use.", "B": "B: useful, watch it.", "C": "C: not better than the simple baseline; improve the data first."},
        "drivers": "3. Why customers leave", "driver": "Driver", "importance": "Average effect on risk (log-odds)",
        "causes": "By cause", "cause": "Cause", "share": "Share of what drives risk",
        "cause_names": {"service": "Service", "products": "Products", "rates_fees": "Rates and fees",
                        "activity": "Activity", "circumstances": "Own circumstances"},
        "segments": "4. Segments at risk", "segment": "Segment", "rate": "Churn rate", "lift_col": "Lift",
        "watch": "5. Who to call: the watch-list", "tier": "Tier", "tier_names": {"High": "High", "Medium": "Medium", "Low": "Low"},
        "customer_value": "Yearly value", "signal": "Warning signal", "top_watch": "Riskiest customers", "id": "Customer", "risk": "Risk", "reason": "Main reason",
        "signal_names": {}, "with_signal": "Customers with the signal",
        "var": "6. Value at risk", "var_total": "Expected yearly value lost if nothing is done",
        "plan": "7. The recommended plan", "no_plan": "No plan was run (Retention simulator or `simulate`).",
        "budget": "Budget", "spend": "Spend", "unspent": "Unspent budget", "kept": "Customers kept",
        "value_kept": "Value kept", "net": "Net benefit", "roi": "Return on cost (ROI)", "interval": "90% interval",
        "this_plan": "This plan", "riskiest": "Contact the riskiest", "random": "Contact at random",
        "assumptions": "Assumptions", "objective": "Objective", "offers": "Offers",
        "winback": "8. Win-back: customers already lost", "lost_value": "Yearly value lost", "lost_customers": "Customers lost",
        "offer_cost": "Win-back offer cost (all)", "main_cause": "Main cause",
        "compare": "9. What changed since the last snapshot", "no_compare": "No second snapshot was compared.",
        "retention_rate": "Retention rate", "new_customers": "New customers", "lost": "Lost customers",
        "value_old": "Value before", "value_new": "Value now", "drift": "Columns that shifted",
        "none": "–",
    },
    "zh": {
        "title": "客户挽留：董事会报告", "generated": "生成时间", "file": "客户文件",
        "summary": "一、客户概况", "customers": "文件中的客户数", "churned": "已流失客户数",
        "churn_rate": "流失率", "value": "客户年价值（全部客户）",
        "book": "本次行动的客户", "book_current_upload": "当前客户（第二次上传）",
        "book_active_customers": "仍在行的客户", "book_latest_snapshot_active": "最新快照中仍在行的客户",
        "model": "二、预警模型是否可靠？", "auc": "排序能力（ROC AUC）", "grade": "评级",
        "baseline": "简单基准（逻辑回归）AUC", "lift": "风险最高10%中的流失客户倍数（提升度）",
        "auc_words": "任取一位已流失客户和一位留存客户，模型有{n}%的把握把流失客户排在前面。",
        "grade_words": {"A": "A：可直接使用。", "B": "B：有用，需持续观察。", "C": "C：不优于简单基准，请先改进数据。"},
        "drivers": "三、客户为什么流失", "driver": "流失原因", "importance": "对风险的平均影响（对数几率）",
        "causes": "按原因类别", "cause": "原因类别", "share": "在流失原因中的占比",
        "cause_names": {"service": "服务", "products": "产品", "rates_fees": "利率与费用",
                        "activity": "活跃度", "circumstances": "客户自身情况"},
        "segments": "四、高风险客群", "segment": "客群", "rate": "流失率", "lift_col": "提升度",
        "watch": "五、该联系谁：关注名单", "tier": "风险等级", "tier_names": {"High": "高", "Medium": "中", "Low": "低"},
        "customer_value": "年价值", "signal": "预警信号", "top_watch": "风险最高的客户", "id": "客户", "risk": "风险", "reason": "主要原因",
        "signal_names": {}, "with_signal": "出现该信号的客户数",
        "var": "六、风险价值", "var_total": "不采取行动时预计损失的年价值",
        "plan": "七、推荐的挽留方案", "no_plan": "尚未运行挽留方案（挽留模拟器或 simulate 命令）。",
        "budget": "预算", "spend": "花费", "unspent": "未使用预算", "kept": "挽留客户数",
        "value_kept": "保住的价值", "net": "净收益", "roi": "投资回报率（ROI）", "interval": "90%区间",
        "this_plan": "本方案", "riskiest": "联系风险最高的客户", "random": "随机联系",
        "assumptions": "假设", "objective": "目标", "offers": "挽留措施",
        "winback": "八、流失客户回访", "lost_value": "损失的年价值", "lost_customers": "流失客户数",
        "offer_cost": "回访优惠总成本", "main_cause": "主要原因",
        "compare": "九、与上一期快照相比", "no_compare": "尚未比较第二个快照。",
        "retention_rate": "留存率", "new_customers": "新增客户", "lost": "流失客户",
        "value_old": "上期价值", "value_new": "本期价值", "drift": "分布发生变化的字段",
        "none": "–",
    },
}

_CSS = """
body{font-family:"Noto Sans CJK SC","Noto Sans SC","Microsoft YaHei",Arial,sans-serif;color:#1b1f23;margin:32px;max-width:1000px}
h1{color:#0B6E4F;margin-bottom:4px} h2{color:#0B6E4F;border-bottom:2px solid #0B6E4F;padding-bottom:4px;margin-top:28px}
.meta{color:#555;font-size:13px} section{page-break-inside:avoid;break-inside:avoid}
.kpis{display:flex;flex-wrap:wrap;gap:12px;margin:10px 0}
.kpi{border:1px solid #d0d7de;border-radius:8px;padding:8px 14px;min-width:170px}
.kpi .v{font-size:22px;font-weight:700} .kpi .l{font-size:12px;color:#555}
table{border-collapse:collapse;width:100%;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left} th{background:#f3f6f8}
td.n{text-align:right;font-variant-numeric:tabular-nums} p.note{color:#444;font-size:13px}
svg text{font-size:12px;font-family:inherit}
@media print{body{margin:12mm} h2{page-break-before:auto} section{page-break-inside:avoid} .pb{page-break-before:always}}
"""


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def _raw(value):
    if value is None:
        return ""
    try:
        v = float(value)
    except (TypeError, ValueError):
        return _e(value)
    return repr(v) if math.isfinite(v) else ""


def _kpi(label, shown, name=None, value=None):
    tag = f' data-figure="{_e(name)}" data-value="{_raw(value)}"' if name else ""
    return f'<div class="kpi"><div class="v"{tag}>{_e(shown)}</div><div class="l">{_e(label)}</div></div>'


def _table(header, rows, numeric=()):
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = "".join(f'<td class="n">{_e(v)}</td>' if i in numeric else f"<td>{_e(v)}</td>"
                        for i, v in enumerate(row))
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def svg_bars(labels, values, fmt=str, width=640, bar=20, color="#0B6E4F"):
    """A horizontal bar chart as inline SVG (labels escaped; negative values drawn to the left)."""
    values = [float(v) if v is not None and math.isfinite(float(v)) else 0.0 for v in values]
    if not values:
        return ""
    left, right = 220, 90
    span = max(max(abs(v) for v in values), 1e-12)
    has_neg = any(v < 0 for v in values)
    zero = left + ((width - left - right) / 2 if has_neg else 0)
    scale = (width - left - right) / (2 * span if has_neg else span)
    height = len(values) * (bar + 6) + 6
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    for i, (lab, v) in enumerate(zip(labels, values)):
        y = 6 + i * (bar + 6)
        w = abs(v) * scale
        x = zero - w if v < 0 else zero
        fill = "#B33A3A" if v < 0 else color
        parts.append(f'<text x="{left - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end">{_e(str(lab)[:40])}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{bar}" fill="{fill}"/>')
        parts.append(f'<text x="{(x + w if v >= 0 else x) + 4 if v >= 0 else x - 4:.1f}" y="{y + bar * 0.7:.1f}" '
                     f'text-anchor="{"start" if v >= 0 else "end"}">{_e(fmt(v))}</text>')
    parts.append("</svg>")
    return "".join(parts)


def compute_report_figures(ws, plan=None, compare=None):
    """The report's headline figures as plain numbers (the same methods the pages call).

    Returns a dict: ``customers, churned, churn_rate, value_total, book_customers, book_source,
    roc_auc, grade, baseline_roc_auc, top_decile_lift, value_at_risk, tiers, lost_customers,
    lost_value`` and, with a plan, ``plan_*`` figures.
    """
    df = ws.df
    y = ws.churned()
    figures = {
        "customers": int(len(df)),
        "churned": int((y == 1).sum()),
        "churn_rate": float(y.mean()) if y.notna().any() else None,
        "value_total": float(np.sum(ws.customer_value("history"))),
    }
    book = ws.describe_book()
    figures["book_customers"] = book["customers"]
    figures["book_source"] = book["source"]
    if ws.model_ is not None:
        m = ws.model_.metrics_
        figures.update({"roc_auc": m.get("roc_auc"), "grade": m.get("grade"),
                        "baseline_roc_auc": m.get("baseline_roc_auc"), "top_decile_lift": m.get("top_decile_lift")})
        if book["customers"]:
            p = ws.proba("book").to_numpy()
            v = np.asarray(ws.customer_value("book"), dtype=float)
            figures["value_at_risk"] = float(np.sum(p * np.clip(v, 0, None)))
            tiers = ws.tiers().astype(str).value_counts()
            figures["tiers"] = {k: int(tiers.get(k, 0)) for k in ("High", "Medium", "Low")}
        lost = ws.lost()
        figures["lost_customers"] = int(len(lost))
        figures["lost_value"] = float(np.sum(np.clip(ws.customer_value("lost"), 0, None))) if len(lost) else 0.0
    if plan is not None:
        for key in ("budget", "cost", "targeted", "expected_saved", "expected_saved_low", "expected_saved_high",
                    "retained_value", "net_benefit", "roi"):
            figures[f"plan_{key}"] = plan.get(key)
    if compare is not None:
        for key in ("retention_rate", "customers_old", "customers_new", "lost", "new", "value_old", "value_new"):
            figures[f"compare_{key}"] = compare.get(key)
    return figures


def build_board_report(ws, lang="en", plan=None, compare=None, currency="", generated_at=None, signal_words=None):
    """The board report of a workspace as one HTML string.

    Parameters
    ----------
    ws : Workspace
        With data and a trained model.
    plan : dict, optional
        A simulated plan (``SimulationResult.to_dict()`` or the CLI's ``plan.json``).
    compare : dict, optional
        A snapshot comparison (the CLI's ``compare.json`` keys).
    currency : str
        Money symbol (defaults to the workspace's setting).
    """
    if lang not in _T:
        raise ChurnCoreError("report.bad_lang", "The report language must be 'en' or 'zh'.")
    if ws.model_ is None:
        raise ChurnCoreError("workspace.no_model", "Train the churn model first (Model page, or `train`).")
    T = _T[lang]
    cur = currency or ws.settings.currency
    when = generated_at or datetime.now(timezone.utc)
    f = compute_report_figures(ws, plan, compare)
    out = [f'<!DOCTYPE html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
           f"<title>{_e(T['title'])}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(T['title'])}</h1>",
           f'<p class="meta">{_e(T["file"])}: {_e(ws.load_.source_name)} · {_e(T["generated"])}: '
           f"{_e(when.strftime('%Y-%m-%d %H:%M UTC'))}</p>"]

    # 1. summary
    out.append(f"<section><h2>{_e(T['summary'])}</h2><div class='kpis'>")
    out.append(_kpi(T["customers"], number(f["customers"]), "customers", f["customers"]))
    out.append(_kpi(T["churned"], number(f["churned"]), "churned", f["churned"]))
    out.append(_kpi(T["churn_rate"], pct(f["churn_rate"]), "churn_rate", f["churn_rate"]))
    out.append(_kpi(T["value"], money(f["value_total"], cur, lang), "value_total", f["value_total"]))
    out.append(_kpi(T["book"] + " (" + T["book_" + f["book_source"]] + ")", number(f["book_customers"]),
                    "book_customers", f["book_customers"]))
    out.append("</div></section>")

    # 2. model
    auc = f.get("roc_auc")
    out.append(f"<section><h2>{_e(T['model'])}</h2><div class='kpis'>")
    out.append(_kpi(T["auc"], f"{auc:.3f}" if auc is not None else T["none"], "roc_auc", auc))
    out.append(_kpi(T["grade"], f.get("grade") or T["none"], "grade", None))
    out.append(_kpi(T["baseline"], f"{f['baseline_roc_auc']:.3f}" if f.get("baseline_roc_auc") is not None else T["none"],
                    "baseline_roc_auc", f.get("baseline_roc_auc")))
    out.append(_kpi(T["lift"], f"{f['top_decile_lift']:.1f}×" if f.get("top_decile_lift") is not None else T["none"],
                    "top_decile_lift", f.get("top_decile_lift")))
    out.append("</div>")
    if auc is not None:
        out.append(f"<p class='note'>{_e(T['auc_words'].format(n=int(round(auc * 100))))} "
                   f"{_e(T['grade_words'].get(str(f.get('grade')), ''))}</p>")
    out.append("</section>")

    # 3. drivers and causes
    out.append(_drivers_section(ws, T, lang))

    # 4. segments at risk
    out.append(_segments_section(ws, T, lang))

    # 5. watch-list by tier and signal, 6. value at risk
    out.append(_watch_section(ws, T, lang, cur, f, signal_words))

    # 7. plan
    out.append(f"<section class='pb'><h2>{_e(T['plan'])}</h2>")
    if plan is None:
        out.append(f"<p class='note'>{_e(T['no_plan'])}</p>")
    else:
        out.append(_plan_section(plan, T, lang, cur))
    out.append("</section>")

    # 8. win-back
    out.append(_winback_section(ws, T, lang, cur, f))

    # 9. compare
    out.append(f"<section><h2>{_e(T['compare'])}</h2>")
    if compare is None:
        out.append(f"<p class='note'>{_e(T['no_compare'])}</p>")
    else:
        out.append("<div class='kpis'>")
        out.append(_kpi(T["retention_rate"], pct(compare.get("retention_rate")), "compare_retention_rate",
                        compare.get("retention_rate")))
        out.append(_kpi(T["lost"], number(compare.get("lost")), "compare_lost", compare.get("lost")))
        out.append(_kpi(T["new_customers"], number(compare.get("new")), "compare_new", compare.get("new")))
        out.append(_kpi(T["value_old"], money(compare.get("value_old"), cur, lang), "compare_value_old",
                        compare.get("value_old")))
        out.append(_kpi(T["value_new"], money(compare.get("value_new"), cur, lang), "compare_value_new",
                        compare.get("value_new")))
        out.append("</div>")
        drift = [d for d in compare.get("drift", []) if d.get("flag") not in (None, "stable")]
        if drift:
            out.append(f"<p class='note'>{_e(T['drift'])}</p>")
            out.append(_table(["", "PSI", ""], [(d["column"], f"{d['psi']:.3f}", d["flag"]) for d in drift], numeric=(1,)))
    out.append("</section></body></html>")
    return "".join(out)


def column_name(ws, column, lang):
    """A banker's name for a column: its meaning's name when it has a one-column meaning."""
    from churn_core.data.meanings import MEANINGS

    code = ws.meanings_.meaning_of(column)
    if code and not MEANINGS[code].multi:
        m = MEANINGS[code]
        return (m.zh_name if lang == "zh" else m.en) or str(column)
    return str(column)


def _drivers_section(ws, T, lang):
    from churn_core.modeling.warning import compute_drivers

    out = [f"<section><h2>{_e(T['drivers'])}</h2>"]
    book = ws.book().frame if len(ws.book()) else ws.df
    which = "book" if len(ws.book()) else "history"
    drivers = compute_drivers(ws.model_, book, explanation=ws.explanation(which)).head(8)
    out.append(svg_bars([column_name(ws, c, lang) for c in drivers["feature"]], drivers["mean_abs_shap"].tolist(),
                        fmt=lambda v: f"{v:.2f}"))
    causes = {}
    for feat, imp in zip(drivers["feature"], drivers["mean_abs_shap"]):
        cause = ws.meanings_.cause_of(feat) or "circumstances"
        causes[cause] = causes.get(cause, 0.0) + float(imp)
    total = sum(causes.values()) or 1.0
    names = [T["cause_names"].get(c, c) for c in causes]
    out.append(f"<p class='note'>{_e(T['causes'])}</p>")
    out.append(svg_bars(names, [v / total * 100 for v in causes.values()], fmt=lambda v: f"{v:.0f}%"))
    out.append("</section>")
    return "".join(out)


def _segments_section(ws, T, lang):
    df = ws.df
    y = ws.churned()
    if y.notna().sum() == 0:
        return ""
    rate_all = float(y.mean())
    rows = []
    for code in ("region", "value_tier", "products_count", "contract", "gender"):
        col = ws.meanings_.column(code)
        if col is None or ws.meanings_.is_protected(col) or df[col].nunique() > 30:
            continue
        g = pd.DataFrame({"k": df[col].astype(str), "y": y}).groupby("k")["y"].agg(["mean", "size"])
        g = g[g["size"] >= max(30, int(0.01 * len(df)))]
        for k, r in g.iterrows():
            rows.append((f"{column_name(ws, col, lang)} = {k}", int(r["size"]), float(r["mean"]), float(r["mean"]) / rate_all if rate_all else 0.0))
    if not rows:
        return ""
    rows.sort(key=lambda r: -r[3])
    rows = rows[:8]
    out = [f"<section><h2>{_e(T['segments'])}</h2>"]
    out.append(_table([T["segment"], T["customers"], T["rate"], T["lift_col"]],
                      [(r[0], number(r[1]), pct(r[2]), f"{r[3]:.2f}") for r in rows], numeric=(1, 2, 3)))
    out.append(svg_bars([r[0] for r in rows], [r[2] * 100 for r in rows], fmt=lambda v: f"{v:.1f}%", color="#B36B00"))
    out.append("</section>")
    return "".join(out)


def _watch_section(ws, T, lang, cur, f, signal_words):
    from churn_core.modeling.warning import SIGNALS, describe_signals

    if not f.get("book_customers"):
        return ""
    out = [f"<section class='pb'><h2>{_e(T['watch'])}</h2><div class='kpis'>"]
    for tier in ("High", "Medium", "Low"):
        n = f["tiers"][tier]
        out.append(_kpi(f"{T['tier']}: {T['tier_names'][tier]}", number(n), f"tier_{tier}", n))
    out.append("</div>")
    signals = ws.signals("book")
    tiers = ws.tiers().astype(str).to_numpy()
    rows = []
    for sig in SIGNALS:
        if sig in signals.columns:
            hit = signals[sig].to_numpy(dtype=bool)
            words = (signal_words or {}).get(sig) or describe_signals(sig, lang)
            rows.append((words, number(hit.sum()), number((hit & (tiers == "High")).sum())))
    if rows:
        out.append(_table([T["signal"], T["with_signal"], T["tier_names"]["High"]], rows, numeric=(1, 2)))
    watch = ws.watchlist(lang=lang).head(15)
    reasons = ws.reasons("book", lang=lang, rows=watch.index)
    out.append(f"<p class='note'>{_e(T['top_watch'])}</p>")
    out.append(_table([T["id"], T["risk"], T["tier"], T["customer_value"], T["reason"]],
                      [(cid, pct(p), T["tier_names"].get(str(t), str(t)), money(v, cur, lang), r)
                       for cid, p, t, v, r in zip(watch["customer_id"], watch["churn_probability"], watch["risk_tier"],
                                                  watch["value"], reasons["reason_1"])], numeric=(1, 3)))
    out.append(f"<h2>{_e(T['var'])}</h2><div class='kpis'>")
    out.append(_kpi(T["var_total"], money(f["value_at_risk"], cur, lang), "value_at_risk", f["value_at_risk"]))
    out.append("</div></section>")
    return "".join(out)


def _plan_section(plan, T, lang, cur):
    out = ["<div class='kpis'>"]
    budget, cost = plan.get("budget"), plan.get("cost")
    out.append(_kpi(T["budget"], money(budget, cur, lang), "plan_budget", budget))
    out.append(_kpi(T["spend"], money(cost, cur, lang), "plan_cost", cost))
    unspent = (budget or 0) - (cost or 0)
    out.append(_kpi(T["unspent"], money(unspent, cur, lang), "plan_unspent", unspent))
    out.append(_kpi(T["kept"], number(plan.get("expected_saved"), 0), "plan_expected_saved", plan.get("expected_saved")))
    out.append(_kpi(T["value_kept"], money(plan.get("retained_value"), cur, lang), "plan_retained_value",
                    plan.get("retained_value")))
    out.append(_kpi(T["net"], money(plan.get("net_benefit"), cur, lang), "plan_net_benefit", plan.get("net_benefit")))
    out.append(_kpi(T["roi"], pct(plan.get("roi"), 0), "plan_roi", plan.get("roi")))
    out.append("</div>")
    base = plan.get("baselines", {})
    rows = [(T["this_plan"], money(cost, cur, lang), number(plan.get("expected_saved")),
             f"{number(plan.get('expected_saved_low'))}–{number(plan.get('expected_saved_high'))}",
             money(plan.get("retained_value"), cur, lang), money(plan.get("net_benefit"), cur, lang))]
    for key, name in (("risk", T["riskiest"]), ("random", T["random"])):
        b = base.get(key)
        if b:
            rows.append((name, money(b.get("cost"), cur, lang), number(b.get("expected_saved")),
                         f"{number(b.get('expected_saved_low'))}–{number(b.get('expected_saved_high'))}",
                         money(b.get("retained_value"), cur, lang), money(b.get("net_benefit"), cur, lang)))
    out.append(_table(["", T["spend"], T["kept"], T["interval"], T["value_kept"], T["net"]], rows,
                      numeric=(1, 2, 3, 4, 5)))
    out.append(svg_bars([r[0] for r in rows],
                        [plan.get("retained_value") or 0] + [base.get(k, {}).get("retained_value") or 0
                                                             for k in ("risk", "random") if base.get(k)],
                        fmt=lambda v: money(v, cur, lang)))
    settings = plan.get("settings", {})
    offers = plan.get("offers") or []
    out.append(f"<p class='note'>{_e(T['assumptions'])}: {_e(T['objective'])} = {_e(settings.get('objective', ''))}; "
               + "; ".join(f"{_e(k)} = {_e(v)}" for k, v in settings.items() if k != "objective") + "</p>")
    if offers:
        out.append(_table([T["offers"], "contact", "unit", "take-up", "effect"],
                          [(o.get("name_zh") if lang == "zh" and o.get("name_zh") else o.get("name", o.get("code")),
                            money(o.get("contact_cost"), cur, lang), money(o.get("unit_cost"), cur, lang),
                            pct(o.get("take_up"), 0), pct(o.get("effect_mid"), 0) if o.get("effect_mid") is not None else "")
                           for o in offers], numeric=(1, 2, 3, 4)))
    return "".join(out)


def _winback_section(ws, T, lang, cur, f):
    if not f.get("lost_customers"):
        return ""
    out = [f"<section><h2>{_e(T['winback'])}</h2><div class='kpis'>"]
    out.append(_kpi(T["lost_customers"], number(f["lost_customers"]), "lost_customers", f["lost_customers"]))
    out.append(_kpi(T["lost_value"], money(f["lost_value"], cur, lang), "lost_value", f["lost_value"]))
    try:
        wb = ws.winback(lang=lang)
    except Exception:  # noqa: BLE001 - the win-back module is optional for the summary figures
        wb = None
    if wb is not None and len(wb):
        cost_col = next((c for c in ("offer_cost", "winback_cost", "cost") if c in wb.columns), None)
        if cost_col:
            total = float(wb[cost_col].sum())
            out.append(_kpi(T["offer_cost"], money(total, cur, lang), "winback_cost", total))
        out.append("</div>")
        cause_col = next((c for c in ("main_cause", "cause") if c in wb.columns), None)
        value_col = next((c for c in ("value_lost", "value") if c in wb.columns), None)
        if cause_col and value_col:
            g = wb.groupby(cause_col)[value_col].sum().sort_values(ascending=False)
            out.append(svg_bars([T["cause_names"].get(c, c) for c in g.index], g.tolist(),
                                fmt=lambda v: money(v, cur, lang), color="#B33A3A"))
    else:
        out.append("</div>")
    out.append("</section>")
    return "".join(out)
