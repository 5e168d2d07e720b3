"""One-page HTML summary of a simulated retention plan, with every assumption behind it.

The page is self-contained (inline CSS, no scripts, no external resources) and every value that
comes from the user (offer names, descriptions, rules, scenario and file names) is HTML-escaped.
Text is produced for ``lang`` in {"en", "zh"}.
"""

import html
import math
from datetime import datetime, timezone

from churn_core.errors import ChurnCoreError

_TEXT = {
    "en": {
        "title": "Retention plan", "generated": "Generated", "scenario": "Scenario", "data": "Customer file",
        "results": "Results (90% interval)", "metric": "Figure", "expected": "Expected", "low": "Low", "high": "High",
        "customers": "Customers in file", "targeted": "Customers contacted", "expected_saved": "Customers kept",
        "retention_before": "Retention rate before", "retention_after": "Retention rate after",
        "retained_value": "Value kept", "cost": "Cost", "net_benefit": "Net benefit", "roi": "Return on cost (ROI)",
        "baselines": "Compared with simpler plans at the same budget", "plan": "Plan",
        "optimiser": "This plan", "risk": "Contact the riskiest", "random": "Contact at random",
        "by_offer": "By offer", "offer": "Offer", "source": "Effect from",
        "tornado": "What moves the ROI most", "factor": "Assumption", "roi_low": "ROI if lower", "roi_high": "ROI if higher",
        "take_up": "Take-up (low / high)", "effect": "Effect (low / high)", "cost_f": "Cost (+20% / -20%)",
        "assumptions": "Assumptions", "settings": "Settings", "budget": "Budget",
        "take_up_multiplier": "Take-up multiplier", "effect_multiplier": "Effect multiplier",
        "cost_multiplier": "Cost multiplier", "objective": "Objective", "targeting": "Targeting",
        "confidence": "Interval", "n_draws": "Monte Carlo draws", "seed": "Seed", "value_source": "Customer value",
        "catalogue": "Offer catalogue", "name": "Name", "description": "Description", "unit_cost": "Unit cost (on take-up)",
        "contact_cost": "Contact cost", "take_up_range": "Take-up (low-expected-high)",
        "effect_range": "Effect on churn risk (low-mid-high)", "eligibility": "Eligibility", "capacity": "Capacity",
        "levers": "Features moved", "everyone": "everyone", "unlimited": "unlimited", "none": "—",
        "net_value": "maximise expected net value", "saved_value": "maximise value kept within the budget",
        "mask": "chosen group, riskiest first",
        "assumed": "assumed", "model": "churn model re-scoring", "measured": "measured campaign uplift",
        "custom": "given per customer", "true": "true effects (sample generator)",
        "contribution": "yearly contribution (value page formula)", "assets": "1% a year of assets",
        "balance": "1% a year of balance", "monthly_charges": "12 x monthly charges", "count": "1 per customer (value = customers)", "given": "given",
        "method": ("Expected customers kept = sum over contacted customers of the reduction of their churn "
                   "probability. Intervals: Monte Carlo over take-up and effect ranges (triangular), measured "
                   "standard errors, and which customers actually churn. Cost = contact cost + take-up x unit cost."),
    },
    "zh": {
        "title": "客户挽留方案", "generated": "生成时间", "scenario": "情景", "data": "客户文件",
        "results": "结果（90%区间）", "metric": "指标", "expected": "预期", "low": "下限", "high": "上限",
        "customers": "文件中的客户数", "targeted": "联系客户数", "expected_saved": "挽留客户数",
        "retention_before": "挽留前留存率", "retention_after": "挽留后留存率",
        "retained_value": "保住的价值", "cost": "成本", "net_benefit": "净收益", "roi": "投资回报率（ROI）",
        "baselines": "与相同预算下的简单方案比较", "plan": "方案",
        "optimiser": "本方案", "risk": "联系风险最高的客户", "random": "随机联系",
        "by_offer": "按挽留措施", "offer": "措施", "source": "效果来源",
        "tornado": "对ROI影响最大的假设", "factor": "假设", "roi_low": "偏低时的ROI", "roi_high": "偏高时的ROI",
        "take_up": "接受率（低/高）", "effect": "效果（低/高）", "cost_f": "成本（+20%/-20%）",
        "assumptions": "假设", "settings": "设置", "budget": "预算",
        "take_up_multiplier": "接受率倍数", "effect_multiplier": "效果倍数",
        "cost_multiplier": "成本倍数", "objective": "目标", "targeting": "目标客户选择",
        "confidence": "区间", "n_draws": "蒙特卡洛模拟次数", "seed": "随机种子", "value_source": "客户价值",
        "catalogue": "挽留措施目录", "name": "名称", "description": "说明", "unit_cost": "单位成本（客户接受时）",
        "contact_cost": "联系成本", "take_up_range": "接受率（低-预期-高）",
        "effect_range": "对流失风险的效果（低-中-高）", "eligibility": "适用条件", "capacity": "容量",
        "levers": "改变的特征", "everyone": "所有客户", "unlimited": "不限", "none": "—",
        "net_value": "最大化预期净收益", "saved_value": "在预算内最大化保住的价值",
        "mask": "所选客户群，风险高者优先",
        "assumed": "假设值", "model": "流失模型重新评分", "measured": "历史活动实测效果",
        "custom": "逐客户给定", "true": "真实效果（样本生成器）",
        "contribution": "年度贡献（价值页公式）", "assets": "资产的1%/年",
        "balance": "余额的1%/年", "monthly_charges": "月费 × 12", "count": "每位客户计1（价值=客户数）", "given": "给定",
        "method": ("预期挽留客户数 = 所联系客户流失概率下降之和。区间：对接受率和效果范围（三角分布）、实测标准误以及"
                   "哪些客户实际流失进行蒙特卡洛模拟。成本 = 联系成本 + 接受率 × 单位成本。"),
    },
}

_CSS = """
body{font-family:-apple-system,"Segoe UI","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:24px;color:#1f2937;font-size:13px}
h1{font-size:20px;margin:0 0 4px}h2{font-size:15px;margin:18px 0 6px;border-bottom:1px solid #d1d5db}
table{border-collapse:collapse;width:100%;margin-bottom:6px}th,td{border:1px solid #e5e7eb;padding:3px 6px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}th{background:#f3f4f6}.muted{color:#6b7280}
@media print{body{margin:8mm}}
"""


def _num(value, digits=0):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:,.{digits}f}"


def _pct(value, digits=1):
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{100 * value:.{digits}f}%"


def _e(value):
    return html.escape("" if value is None else str(value), quote=True)


def build_report_html(result, catalogue, lang="en", scenario_name=None, data_name=None, generated_at=None):
    """The one-page summary of ``result`` (a :class:`~churn_core.retention.simulate.SimulationResult`).

    Parameters
    ----------
    result : SimulationResult
    catalogue : OfferCatalogue used for the simulation
    lang : {"en", "zh"}
    scenario_name, data_name : str, optional (user text, escaped)
    generated_at : datetime, optional (default: now, UTC)

    Returns
    -------
    str : a complete HTML document.
    """
    if lang not in _TEXT:
        raise ChurnCoreError("report.bad_lang", "lang must be 'en' or 'zh'.", lang=str(lang))
    tx = _TEXT[lang]
    s = result.summary
    st = result.settings
    when = (generated_at or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    out = ["<!DOCTYPE html>", f'<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
           f"<title>{_e(tx['title'])}</title><style>{_CSS}</style></head><body>",
           f"<h1>{_e(tx['title'])}{(' — ' + _e(scenario_name)) if scenario_name else ''}</h1>",
           f'<p class="muted">{_e(tx["generated"])}: {_e(when)}'
           + (f" · {_e(tx['data'])}: {_e(data_name)}" if data_name else "") + "</p>"]

    rows = [
        ("targeted", _num(s["targeted"]), "", ""),
        ("expected_saved", _num(s["expected_saved"], 1), _num(s.get("expected_saved_low"), 1), _num(s.get("expected_saved_high"), 1)),
        ("retention_before", _pct(s["retention_before"], 2), _pct(s.get("retention_before_low"), 2), _pct(s.get("retention_before_high"), 2)),
        ("retention_after", _pct(s["retention_after"], 2), _pct(s.get("retention_after_low"), 2), _pct(s.get("retention_after_high"), 2)),
        ("retained_value", _num(s["retained_value"]), _num(s.get("retained_value_low")), _num(s.get("retained_value_high"))),
        ("cost", _num(s["cost"]), _num(s.get("cost_low")), _num(s.get("cost_high"))),
        ("net_benefit", _num(s["net_benefit"]), _num(s.get("net_benefit_low")), _num(s.get("net_benefit_high"))),
        ("roi", _pct(s["roi"], 0), _pct(s.get("roi_low"), 0), _pct(s.get("roi_high"), 0)),
    ]
    out.append(f"<h2>{_e(tx['results'])}</h2><table><tr><th>{_e(tx['metric'])}</th><th>{_e(tx['expected'])}</th>"
               f"<th>{_e(tx['low'])}</th><th>{_e(tx['high'])}</th></tr>")
    for key, a, b, c in rows:
        out.append(f"<tr><td>{_e(tx[key])}</td><td class='n'>{a}</td><td class='n'>{b}</td><td class='n'>{c}</td></tr>")
    out.append("</table>")

    if result.baselines:
        out.append(f"<h2>{_e(tx['baselines'])}</h2><table><tr><th>{_e(tx['plan'])}</th><th>{_e(tx['targeted'])}</th>"
                   f"<th>{_e(tx['expected_saved'])}</th><th>{_e(tx['retained_value'])}</th><th>{_e(tx['cost'])}</th>"
                   f"<th>{_e(tx['net_benefit'])}</th></tr>")
        for name, b in [("optimiser", s)] + list(result.baselines.items()):
            out.append(f"<tr><td>{_e(tx[name])}</td><td class='n'>{_num(b['targeted'])}</td>"
                       f"<td class='n'>{_num(b['expected_saved'], 1)}</td><td class='n'>{_num(b['retained_value'])}</td>"
                       f"<td class='n'>{_num(b['cost'])}</td><td class='n'>{_num(b['net_benefit'])}</td></tr>")
        out.append("</table>")

    out.append(f"<h2>{_e(tx['by_offer'])}</h2><table><tr><th>{_e(tx['offer'])}</th><th>{_e(tx['targeted'])}</th>"
               f"<th>{_e(tx['cost'])}</th><th>{_e(tx['expected_saved'])}</th><th>{_e(tx['retained_value'])}</th>"
               f"<th>{_e(tx['net_benefit'])}</th><th>{_e(tx['source'])}</th></tr>")
    for row in result.by_offer.to_dict("records"):
        offer = catalogue.get(row["offer"])
        out.append(f"<tr><td>{_e(offer.name(lang))}</td><td class='n'>{_num(row['customers'])}</td>"
                   f"<td class='n'>{_num(row['cost'])}</td><td class='n'>{_num(row['expected_saved'], 1)}</td>"
                   f"<td class='n'>{_num(row['retained_value'])}</td><td class='n'>{_num(row['net_benefit'])}</td>"
                   f"<td>{_e(tx.get(row['source'], row['source']))}</td></tr>")
    out.append("</table>")

    out.append(f"<h2>{_e(tx['tornado'])}</h2><table><tr><th>{_e(tx['factor'])}</th><th>{_e(tx['roi_low'])}</th>"
               f"<th>{_e(tx['roi'])}</th><th>{_e(tx['roi_high'])}</th></tr>")
    for row in result.tornado.to_dict("records"):
        label = tx["cost_f"] if row["factor"] == "cost" else tx[row["factor"]]
        out.append(f"<tr><td>{_e(label)}</td><td class='n'>{_pct(row['low'], 0)}</td><td class='n'>{_pct(row['base'], 0)}</td>"
                   f"<td class='n'>{_pct(row['high'], 0)}</td></tr>")
    out.append("</table>")

    out.append(f"<h2>{_e(tx['assumptions'])}</h2><table>")
    targeting = tx["mask"] if st.targeting == "mask" else tx.get(st.targeting, st.targeting)
    settings_rows = [
        ("budget", _num(st.budget)), ("objective", tx[st.objective]), ("targeting", targeting),
        ("take_up_multiplier", f"× {st.take_up_multiplier:g}"), ("effect_multiplier", f"× {st.effect_multiplier:g}"),
        ("cost_multiplier", f"× {st.cost_multiplier:g}"), ("confidence", _pct(st.confidence, 0)),
        ("n_draws", _num(st.n_draws)), ("seed", str(st.seed)),
        ("value_source", tx.get(result.inputs.value_source, result.inputs.value_source)),
    ]
    if st.fixed_offer:
        settings_rows.append(("offer", catalogue.get(st.fixed_offer).name(lang)))
    for key, value in settings_rows:
        out.append(f"<tr><th>{_e(tx[key])}</th><td>{_e(value)}</td></tr>")
    out.append("</table>")
    out.append(f"<table><tr><th>{_e(tx['offer'])}</th><th>{_e(tx['description'])}</th><th>{_e(tx['contact_cost'])}</th>"
               f"<th>{_e(tx['unit_cost'])}</th><th>{_e(tx['take_up_range'])}</th><th>{_e(tx['effect_range'])}</th>"
               f"<th>{_e(tx['eligibility'])}</th><th>{_e(tx['capacity'])}</th><th>{_e(tx['levers'])}</th>"
               f"<th>{_e(tx['source'])}</th></tr>")
    sources = dict(zip(result.codes, result.inputs.effects.sources))
    for offer in catalogue:
        levers = "; ".join(lv.to_text() for lv in offer.levers) or tx["none"]
        out.append(
            f"<tr><td>{_e(offer.name(lang))}<br><span class='muted'>{_e(offer.code)}</span></td>"
            f"<td>{_e(offer.description(lang))}</td><td class='n'>{_num(offer.contact_cost, 2)}</td>"
            f"<td class='n'>{_num(offer.unit_cost, 2)}</td>"
            f"<td class='n'>{_pct(offer.take_up_low, 0)}–{_pct(offer.take_up, 0)}–{_pct(offer.take_up_high, 0)}</td>"
            f"<td class='n'>{_pct(offer.effect_low, 0)}–{_pct(offer.effect_mid, 0)}–{_pct(offer.effect_high, 0)}</td>"
            f"<td>{_e(offer.eligibility or tx['everyone'])}</td>"
            f"<td class='n'>{_e(tx['unlimited'] if offer.capacity is None else f'{offer.capacity:,}')}</td>"
            f"<td>{_e(levers)}</td><td>{_e(tx.get(sources.get(offer.code), sources.get(offer.code)))}</td></tr>")
    out.append("</table>")
    out.append(f"<p class='muted'>{_e(tx['method'])}</p></body></html>")
    return "\n".join(out)
