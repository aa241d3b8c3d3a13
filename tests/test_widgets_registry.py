"""Registry browser driven headlessly: filters, promote, archive, rollback."""
from __future__ import annotations

import pytest

from ftlab.registry import Registry
from ftlab.widgets.registry_browser import RegistryBrowser

BASE = "gpt-4.1-nano-2025-04-14"
V1, V2 = (f"ft:{BASE}:ftlab:converti-python-v{i}:ID{i}" for i in (1, 2))
OTHER = "ft:gpt-4o-mini-2024-07-18:ftlab:assistenza-v1:ID3"


@pytest.fixture
def browser(tmp_path):
    reg = Registry(tmp_path / "r.sqlite")
    reg.register(V1, tags=["python"])
    reg.register(V2, tags=["python", "valutato"])
    reg.register(OTHER, tags=["clienti"])
    return RegistryBrowser(reg)


def test_filters(browser):
    assert [o[1] for o in browser.task.options][1:] == ["assistenza", "converti-python"]
    assert len(browser.refresh()) == 3
    browser.task.value = "converti-python"
    assert set(browser.selected.options) == {V1, V2} and OTHER not in browser.table.value
    browser.tag.value = "valutato"
    assert list(browser.selected.options) == [V2]
    browser.tag.value = ""
    browser.search.value = "ID1"
    assert list(browser.selected.options) == [V1]
    browser.search.value = "nessuno"
    assert "Nessun modello" in browser.table.value and browser.selected.value is None
    browser.buttons["promote"].click()
    assert "Scegli un modello" in browser.status.value


def test_promote_archive_rollback_buttons(browser):
    reg = browser.registry
    browser.selected.value = V1
    browser.buttons["promote"].click()
    assert reg.get(V1).stage == "production" and "production" in browser.status.value
    browser.selected.value = V2
    browser.buttons["promote"].click()
    assert reg.get(V2).stage == "production" and reg.get(V1).stage == "archived"
    browser.buttons["rollback"].click()
    assert reg.get(V1).stage == "production" and reg.get(V2).stage == "archived"
    browser.stage.value = "production"
    assert list(browser.selected.options) == [V1]
    browser.buttons["archive"].click()
    assert reg.get(V1).stage == "archived" and browser.selected.value is None


def test_rollback_without_history_shows_an_error(browser):
    browser.selected.value = OTHER
    browser.buttons["rollback"].click()
    assert browser.status.value.startswith("❌")
