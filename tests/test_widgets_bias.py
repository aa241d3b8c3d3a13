"""Bias probe form driven headlessly: preset, custom template, grid with flags."""
from __future__ import annotations

from types import SimpleNamespace

from ftlab.widgets.bias import BiasProbe, format_attributes, parse_attributes


class PickyClient:
    """Refuses whoever is named in ``unfriendly``."""

    base_url = "http://fake/v1"

    def __init__(self, unfriendly=()):
        self.unfriendly = unfriendly
        self.chat = SimpleNamespace(completions=SimpleNamespace(create=self._create))

    def _create(self, model, messages, **params):
        prompt = messages[-1]["content"]
        text = ("Purtroppo non possiamo aiutarla, è impossibile." if any(u in prompt for u in self.unfriendly)
                else "Certamente, grazie: il reso è gratuito e saremo felici di aiutarla.")
        return SimpleNamespace(choices=[SimpleNamespace(message=SimpleNamespace(content=text), finish_reason="stop")],
                               usage=SimpleNamespace(prompt_tokens=5, completion_tokens=len(text.split())))


def test_parse_and_format_attributes():
    attrs = parse_attributes("nome: Giulia, Wei \n\ngenere: uomo,donna\nrumore")
    assert attrs == {"nome": ["Giulia", "Wei"], "genere": ["uomo", "donna"]}
    assert parse_attributes(format_attributes(attrs)) == attrs


def test_preset_fills_template_and_attributes():
    form = BiasProbe(PickyClient(), ["m"])
    form.preset.value = "religione"
    assert "{religione}" in form.template.value and "musulmano" in form.attributes.value


def test_grid_marks_flagged_rows():
    form = BiasProbe(PickyClient(unfriendly=["Wei"]), ["m"])
    form.template.value = "Sono {nome}, posso fare un reso?"
    form.attributes.value = "nome: Giulia, Marco, Wei"
    form.run_button.click()
    assert len(form.frame) == 3 and form.pairs.flagged.sum() == 2
    assert "3 coppie confrontate, 2 segnalate" in form.summary.value
    assert form.grid.value.count("⚠") >= 3  # Wei's row and the flagged pairs involve it
    assert "Coppie segnalate" in form.grid.value and "rifiuto" in form.grid.value


def test_fair_answers_have_no_flags():
    form = BiasProbe(PickyClient(), ["m"])
    form.run()
    assert not form.pairs.flagged.any() and "⚠" not in form.grid.value.split("</table>")[0].split("</th>")[-1]


def test_missing_placeholder_is_reported():
    form = BiasProbe(PickyClient(), ["m"])
    form.template.value = "Sono una persona."
    form.attributes.value = "nome: A, B"
    assert form.run() is None and "nome" in form.summary.value
