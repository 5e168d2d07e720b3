"""Column roles and churn-label detection across naming styles."""

import numpy as np
import pandas as pd
import pytest

from churn_core.errors import ChurnCoreError
from churn_core.data.roles import (
    Roles,
    coerce_positive,
    detect_label,
    detect_positive,
    detect_roles,
    label_to_binary,
    normalize_name,
)

N = 40


def _frame(label_name, values, extra=None):
    """A small table with an id, two features and the label column (values cycled)."""
    rng = np.random.default_rng(0)
    data = {
        "customer_ref": [f"R{i:04d}" for i in range(N)],
        "age": rng.integers(18, 80, N),
        "segment": ["a", "b", "c", "d"] * (N // 4),
        label_name: [values[i % len(values)] for i in range(N)],
    }
    if extra:
        data.update(extra)
    return pd.DataFrame(data)


# (label column name, its values (cycled), expected positive)
LABEL_CASES = [
    ("Exited", [0, 1, 0, 0], 1),
    ("churn", [0, 1], 1),
    ("Churn", ["No", "Yes", "No"], "Yes"),
    ("CHURN", ["N", "Y", "N"], "Y"),
    ("churned", [False, True, False], True),
    ("Churned", ["False", "True"], "True"),
    ("is_churn", [0, 0, 1], 1),
    ("IsChurned", ["no", "yes"], "yes"),
    ("churn_flag", [1, 0, 0], 1),
    ("Churn Label", ["No", "Yes"], "Yes"),
    ("Attrition_Flag", ["Existing Customer", "Attrited Customer", "Existing Customer"],
     "Attrited Customer"),
    ("Attrition", ["No", "Yes", "No"], "Yes"),
    ("流失", [0, 1, 0], 1),
    ("是否流失", ["否", "是", "否"], "是"),
    ("流失标志", ["未流失", "流失", "未流失"], "流失"),
    ("客户状态", ["正常", "已流失", "正常"], "已流失"),
    ("left", [0, 1, 0, 0], 1),
    ("status", ["active", "closed", "active"], "closed"),
    ("status", ["Active", "Churned", "Active", "Suspended"], "Churned"),
    ("Customer Status", ["Stayed", "Churned", "Joined", "Stayed"], "Churned"),
    ("target", [0, 1, 0], 1),
    ("churn_value", [0.0, 1.0, 0.0], 1.0),
    ("Churn?", ["False.", "False.", "True.", "False."], "True."),
    ("Churn", ["stayed", "churned", "stayed"], "churned"),
    ("是否离网", ["0", "1", "0"], "1"),
    ("客户流失", ["N", "Y", "N"], "Y"),
]


@pytest.mark.parametrize("name,values,positive", LABEL_CASES,
                         ids=[f"{c[0]}={c[2]}" for c in LABEL_CASES])
def test_label_detection_table(name, values, positive):
    df = _frame(name, values)
    column, found = detect_label(df)
    assert column == name
    assert found == positive
    assert type(found) is type(positive) or isinstance(found, (int, float, bool))


def test_label_values_only_without_a_churn_name():
    df = _frame("customer_type", ["Existing Customer", "Attrited Customer", "Existing Customer"])
    assert detect_label(df) == ("customer_type", "Attrited Customer")


def test_no_label_when_nothing_looks_like_churn():
    df = _frame("gender", ["M", "F"])
    assert detect_label(df) == (None, None)
    roles = detect_roles(df)
    assert roles.label is None and roles.positive is None


def test_churn_score_and_reason_are_not_the_label():
    df = _frame("Churn Label", ["No", "Yes"], extra={
        "Churn Score": list(range(N)),
        "Churn Reason": ["price", "service", None, "moved"] * (N // 4),
    })
    assert detect_label(df) == ("Churn Label", "Yes")


def test_explicit_churn_name_beats_generic_status():
    df = _frame("Exited", [0, 1], extra={"status": ["active", "closed"] * (N // 2)})
    assert detect_label(df)[0] == "Exited"


def test_detect_positive_unknown_binary_values_takes_the_rarer_one():
    s = pd.Series(["A", "A", "A", "B"])
    assert detect_positive(s) == "B"
    assert detect_positive(pd.Series([1, 1, 1])) is None


# ---- ids and roles ----------------------------------------------------------------------------

ID_CASES = ["id", "customer_id", "CustomerId", "customerID", "RowNumber", "CLIENTNUM", "客户号",
            "客户编号", "编号", "序号", "Client_No", "account number"]


@pytest.mark.parametrize("name", ID_CASES)
def test_id_by_name(name):
    df = _frame("churn", [0, 1], extra={name: list(range(1000, 1000 + N))})
    roles = detect_roles(df)
    assert name in roles.id_columns
    assert roles.roles[name] == "id"


def test_ids_by_uniqueness_numeric_and_text_but_not_continuous_floats():
    rng = np.random.default_rng(1)
    n = 300
    df = pd.DataFrame({
        "acct": rng.permutation(n) + 7_000_000,
        "ref": [f"X{i:05d}" for i in range(n)],
        "EstimatedSalary": rng.uniform(1000, 200000, n).round(2),
        "churn": [0, 1, 0] * 100,
    })
    roles = detect_roles(df)
    assert roles.id_columns == ["acct", "ref"]
    assert roles.roles["EstimatedSalary"] == "numeric"


def test_roles_of_feature_types():
    n = 200
    rng = np.random.default_rng(2)
    names = [f"Name{i}" for i in range(150)]
    df = pd.DataFrame({
        "customer_id": range(n),
        "Surname": [names[i % 150] if i % 3 else names[(i * 7) % 150] for i in range(n)],
        "balance": rng.normal(1000, 100, n),
        "num_products": rng.integers(1, 5, n),
        "has_card": rng.integers(0, 2, n),
        "Partner": rng.choice(["Yes", "No"], n),
        "gender": rng.choice(["Male", "Female"], n),
        "opened": pd.date_range("2020-01-01", periods=n, freq="D"),
        "active": pd.array(rng.integers(0, 2, n).astype(bool), dtype="boolean"),
        "note": ["customer called about fees and rates " + str(i) for i in range(n)],
        "Exited": rng.integers(0, 2, n),
    })
    roles = detect_roles(df)
    assert roles.roles == {
        "customer_id": "id", "Surname": "text", "balance": "numeric", "num_products": "numeric",
        "has_card": "boolean", "Partner": "boolean", "gender": "categorical", "opened": "date",
        "active": "boolean", "note": "text", "Exited": "label",
    }
    assert roles.features == ["balance", "num_products", "has_card", "Partner", "gender", "opened",
                              "active"]


def test_normalize_name():
    assert normalize_name("CustomerId") == "customer_id"
    assert normalize_name("customerID") == "customer_id"
    assert normalize_name("Attrition Flag") == "attrition_flag"
    assert normalize_name("CLIENTNUM") == "clientnum"
    assert normalize_name("IsActiveMember") == "is_active_member"


# ---- corrections ---------------------------------------------------------------------------


def _roles():
    df = _frame("Churn", ["No", "Yes", "No"])
    return df, detect_roles(df)


def test_with_role_changes_one_column_and_keeps_ids_in_sync():
    df, roles = _roles()
    assert roles.id_columns == ["customer_ref"]
    changed = roles.with_role("customer_ref", "categorical")
    assert changed.id_columns == []
    assert changed.roles["customer_ref"] == "categorical"
    assert roles.roles["customer_ref"] == "id"  # original untouched (frozen copy)
    back = changed.with_role("age", "id")
    assert back.id_columns == ["age"]


def test_with_label_moves_the_label_and_restores_the_old_column():
    df, roles = _roles()
    assert (roles.label, roles.positive) == ("Churn", "Yes")
    moved = roles.with_label("segment", "d")
    assert (moved.label, moved.positive) == ("segment", "d")
    assert moved.roles["segment"] == "label"
    assert moved.roles["Churn"] == "boolean"
    cleared = moved.with_label(None)
    assert cleared.label is None and "label" not in cleared.roles.values()


def test_with_role_label_and_away_from_label():
    df, roles = _roles()
    r2 = roles.with_role("Churn", "categorical")
    assert r2.label is None and r2.positive is None
    r3 = r2.with_role("Churn", "label", positive="Yes")
    assert (r3.label, r3.positive) == ("Churn", "Yes")


def test_corrections_validate_column_and_role():
    df, roles = _roles()
    with pytest.raises(ChurnCoreError) as info:
        roles.with_role("nope", "numeric")
    assert info.value.code == "roles.unknown_column"
    with pytest.raises(ChurnCoreError) as info:
        roles.with_role("age", "weird")
    assert info.value.code == "roles.unknown_role"


def test_label_to_binary_with_missing_and_types():
    s = pd.Series(["Yes", "No", None, "Yes"], name="Churn")
    out = label_to_binary(s, "Yes")
    assert str(out.dtype) == "Int8"
    assert out.tolist()[:2] == [1, 0] and pd.isna(out.iloc[2]) and out.iloc[3] == 1
    assert label_to_binary(pd.Series([0, 1, 1]), 1).tolist() == [0, 1, 1]
    assert label_to_binary(pd.Series([0.0, 1.0, np.nan]), "1").tolist()[:2] == [0, 1]
    assert label_to_binary(pd.Series([True, False]), True).tolist() == [1, 0]
    assert label_to_binary(pd.Series(["Existing Customer", "Attrited Customer"]),
                           "Attrited Customer").tolist() == [0, 1]


def test_label_to_binary_unknown_positive_is_an_error():
    with pytest.raises(ChurnCoreError, match="does not occur") as info:
        label_to_binary(pd.Series(["Yes", "No"], name="Churn"), "Maybe")
    assert info.value.code == "roles.positive_not_found"


def test_coerce_positive_matches_the_cli_text_to_the_frame_value():
    assert coerce_positive(pd.Series([0, 1]), "1") == 1
    assert coerce_positive(pd.Series(["Yes", "No"]), "yes") == "Yes"
    assert coerce_positive(pd.Series(["是", "否"]), "是") == "是"


def test_roles_to_dict_is_json_safe():
    import json

    df = pd.DataFrame({"id": range(30), "Exited": np.array([0, 1, 0] * 10, dtype="int64")})
    roles = detect_roles(df)
    assert json.loads(json.dumps(roles.to_dict())) == {
        "roles": {"id": "id", "Exited": "label"}, "label": "Exited", "positive": 1,
        "id_columns": ["id"],
    }


def test_roles_rejects_a_bad_role_map():
    with pytest.raises(ChurnCoreError):
        Roles(roles={"a": "weird"})


def test_roles_of_large_unique_columns_without_counting_every_value():
    n = 5000
    rng = np.random.default_rng(3)
    df = pd.DataFrame({
        "customer_id": [f"C{k:06d}" for k in rng.permutation(n)],    # id by name: decided on a head
        "row_no": np.arange(n) + 1,                                     # consecutive unique integers
        # unique, 1 to 4 digits wide, with gaps (no 9, no 99)
        "amount_cents": rng.permutation(np.r_[np.arange(9), np.arange(10, 99), np.arange(100, 100 + n - 98)]),
        "churn": [0, 1] * (n // 2),
    })
    roles = detect_roles(df)
    assert roles.roles["customer_id"] == "id" and roles.roles["row_no"] == "id"
    assert roles.roles["amount_cents"] == "numeric"  # a measure: widths vary, not consecutive
    assert roles.id_columns == ["customer_id", "row_no"]
