"""ftlab.function_calling: scoring a reply against the expected call, intervals, the comparison."""
from __future__ import annotations

import pandas as pd
import pytest
from openai.types.chat import ChatCompletionMessage

from ftlab import function_calling as fc

EXPECTED = {"function": "avvia_reso", "arguments": {"numero_ordine": "BD-1", "motivo": "difettoso"}}


def message(name=None, arguments="{}", content=None) -> ChatCompletionMessage:
    calls = [{"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}] if name else None
    return ChatCompletionMessage(role="assistant", content=content, tool_calls=calls)


def test_score_right_wrong_function_and_arguments():
    right = message("avvia_reso", '{"numero_ordine": " bd-1", "motivo": "difettoso"}')
    assert fc.score(right, EXPECTED) == {"called": "avvia_reso", "kind_ok": True, "function_ok": True,
                                         "arguments_ok": True}
    wrong_args = message("avvia_reso", '{"numero_ordine": "BD-2", "motivo": "difettoso"}')
    assert fc.score(wrong_args, EXPECTED)["function_ok"] and not fc.score(wrong_args, EXPECTED)["arguments_ok"]
    assert not fc.score(message("avvia_reso", "non json"), EXPECTED)["arguments_ok"]
    wrong_function = fc.score(message("cerca_ordine"), EXPECTED)
    assert wrong_function["kind_ok"] and wrong_function["function_ok"] is False
    assert fc.score(message(content="Certo!"), EXPECTED) == {"called": None, "kind_ok": False, "function_ok": False,
                                                             "arguments_ok": False}


def test_a_text_reply_is_right_when_no_function_applies():
    none = {"function": None, "arguments": None}
    assert fc.score(message(content="Buongiorno!"), none)["arguments_ok"] is True
    assert fc.score(message("cerca_ordine"), none)["function_ok"] is False
    assert fc.score(message("cerca_ordine"), none)["kind_ok"] is False


def test_wilson_interval():
    low, high = fc.wilson(0, 20)
    assert low == 0.0 and 0.15 < high < 0.17          # 0/20: the upper bound is not 0
    low, high = fc.wilson(10, 20)
    assert low == pytest.approx(0.299, abs=0.002) and high == pytest.approx(0.701, abs=0.002)
    assert fc.wilson(0, 0) == (0.0, 1.0)


def test_compare_rates_difference_and_verdict():
    rows = [{"model": m, "line": i, "kind_ok": True, "function_ok": ok, "arguments_ok": ok and i % 2 == 0}
            for i in range(20) for m, ok in (("base", i < 2), ("ft", True))]
    table = fc.compare(pd.DataFrame(rows), "base", "ft").set_index("metrica")
    assert table.loc["function_ok", "base"] == 0.1 and table.loc["function_ok", "ft"] == 1.0
    assert table.loc["function_ok", "differenza"] == pytest.approx(0.9)
    assert table.loc["function_ok", "p (McNemar)"] < 0.001
    assert table.loc["function_ok", "verdetto"] == "B migliore di A"
    assert table.loc["arguments_ok", "ft"] == 0.5
    assert table.loc["kind_ok", "differenza"] == 0 and table.loc["kind_ok", "p (McNemar)"] == 1.0
