"""Chat completions on the stand-in: max_tokens, stop, n, seed, streaming, usage."""
from __future__ import annotations

import pytest

from ftlab.sandbox.batching import sample as _sample
from ftlab.sandbox.inference import Engine

import torch

PROMPT = [{"role": "system", "content": "Sei un assistente che scrive codice Python."},
          {"role": "user", "content": "Scrivi una funzione che somma due numeri."}]


@pytest.fixture(scope="module")
def engine():
    return Engine()


def test_max_tokens_ends_with_length(engine):
    result = engine.chat(PROMPT, temperature=0, max_tokens=4)
    (choice,) = result.choices
    assert choice.finish_reason == "length" and choice.completion_tokens == 4
    assert result.prompt_tokens == len(engine.prompt_ids(PROMPT)) > 10
    choices, prompt_tokens = result   # the server unpacks it like a tuple
    assert prompt_tokens == result.prompt_tokens


def test_greedy_is_deterministic_and_stop_cuts_before_the_stop_string(engine):
    text = engine.chat(PROMPT, temperature=0, max_tokens=16).choices[0].text
    assert text == engine.chat(PROMPT, temperature=0, max_tokens=16).choices[0].text
    stop = text[5:8]
    assert stop.strip(), text
    cut = engine.chat(PROMPT, temperature=0, max_tokens=16, stop=["§never§", stop]).choices[0]
    assert cut.finish_reason == "stop" and cut.text == text[: text.find(stop)]
    assert cut.completion_tokens < 16


def test_n_choices_and_seed(engine):
    a = engine.chat(PROMPT, temperature=1.0, max_tokens=8, n=3, seed=11)
    b = engine.chat(PROMPT, temperature=1.0, max_tokens=8, n=3, seed=11)
    c = engine.chat(PROMPT, temperature=1.0, max_tokens=8, n=3, seed=12)
    assert len(a.choices) == 3 and a.choices == b.choices
    assert [x.text for x in a.choices] != [x.text for x in c.choices]


def test_stream_deltas_add_up_to_the_chat_answer(engine):
    full = engine.chat(PROMPT, temperature=0, max_tokens=12).choices[0]
    stream = engine.stream(PROMPT, temperature=0, max_tokens=12)
    deltas = list(stream)
    assert len(deltas) > 1 and "".join(deltas) == full.text
    assert stream.result.finish_reason == full.finish_reason
    assert stream.result.completion_tokens == full.completion_tokens
    assert stream.result.prompt_tokens == len(engine.prompt_ids(PROMPT))


def test_stream_never_sends_part_of_a_stop_string(engine):
    text = engine.chat(PROMPT, temperature=0, max_tokens=16).choices[0].text
    stop = text[6:10]
    stream = engine.stream(PROMPT, temperature=0, max_tokens=16, stop=stop)
    assert "".join(stream) == text[: text.find(stop)] and stream.result.finish_reason == "stop"


def test_top_p_keeps_only_the_nucleus():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.05, 0.05]]))
    gen = torch.Generator().manual_seed(0)
    drawn = {_sample(logits, 1.0, 0.5, gen).item() for _ in range(50)}
    assert drawn == {0}
    drawn = {_sample(logits, 1.0, 0.8, gen).item() for _ in range(200)}
    assert drawn == {0, 1}
    assert _sample(logits, 0.0, 1.0, gen).item() == 0


# ---------------------------------------------------------------- batching of concurrent requests

PROMPTS = [[{"role": "user", "content": text}] for text in (
    "Converti in python: somma due numeri", "Scrivi una poesia sul mare.", "Ciao!",
    "Spiega in una frase che cos'è una lista in Python, con un esempio molto lungo e dettagliato.",
    "Converti in python: inverti una stringa")]


@pytest.fixture(scope="module")
def random_adapter(tmp_path_factory):
    """A LoRA adapter with random (non-zero) weights: answers differ from the base."""
    from peft import LoraConfig, get_peft_model

    from ftlab.sandbox import models
    base, _ = models.load_base(progress=False)
    torch.manual_seed(0)
    config = LoraConfig(r=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    out = tmp_path_factory.mktemp("adapter")
    get_peft_model(base, config).save_pretrained(out)
    return out


def _concurrently(fn, jobs):
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(len(jobs)) as pool:
        return list(pool.map(fn, jobs))


def test_concurrent_requests_get_the_answers_they_get_alone(engine, random_adapter):
    jobs = [(p, adapter) for p in PROMPTS for adapter in (None, random_adapter)]

    def ask(job):
        prompt, adapter = job
        return engine.chat(prompt, adapter_dir=adapter, temperature=0, max_tokens=10).choices[0]

    alone = [ask(job) for job in jobs]
    together = _concurrently(ask, jobs)
    assert together == alone
    assert alone[0].text != alone[1].text   # the adapter really is in use


def test_seeded_sampling_does_not_depend_on_batch_mates(engine):
    def ask(i):
        return engine.chat(PROMPTS[i], temperature=1.0, max_tokens=8, n=2, seed=7).choices

    alone = ask(1)
    assert _concurrently(ask, [1, 0, 3, 1])[0] == alone == ask(1)


def test_a_broken_request_fails_alone_and_the_engine_goes_on(engine, tmp_path):
    def ask(adapter):
        try:
            return engine.chat(PROMPTS[2], adapter_dir=adapter, temperature=0, max_tokens=4).choices[0].text
        except Exception as exc:   # the missing adapter's error reaches its own caller
            return exc

    missing = tmp_path / "no-such-adapter"
    out = _concurrently(ask, [None, missing, None])
    assert isinstance(out[1], Exception) and out[0] == out[2] == ask(None)


# ---------------------------------------------------------------- the float16 output layer (greedyhead)

COURSE_PROMPTS = [[{"role": "system", "content": "Converti la richiesta in una funzione Python."},
                   {"role": "user", "content": text}] for text in (
    "Scrivi una funzione Python che dice se un numero è pari",
    "Converti in python: Verifica se un numero è primo",
    "Come calcolo in Python la media di una lista di numeri?")]


def test_greedy_head_gives_the_float32_answers(engine, random_adapter):
    assert engine.fast_greedy   # CPU: a lone greedy row takes the float16 shortcut
    jobs = [(p, a) for p in COURSE_PROMPTS for a in (None, random_adapter)]
    fast = [engine.chat(p, adapter_dir=a, temperature=0, max_tokens=48).choices[0] for p, a in jobs]
    engine.fast_greedy = False   # the float32 output layer instead
    try:
        full = [engine.chat(p, adapter_dir=a, temperature=0, max_tokens=48).choices[0] for p, a in jobs]
    finally:
        engine.fast_greedy = True
    assert fast == full
    assert fast[0].text != fast[1].text   # the adapter really is in use


def test_refined_logits_pick_the_float32_argmax_even_on_near_ties():
    """Output rows that differ by less than float16 can tell apart still give the float32
    argmax after ``refine``, where plain float16 logits often pick the other one."""
    import torch.nn.functional as F

    from ftlab.sandbox.greedyhead import GreedyHead

    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(512, 64, generator=gen)
    # near-twin tokens: logits ~1e-3 apart, below float16's resolution, far above float32's
    weight[1::2] = weight[0::2] + 3e-4 * torch.randn(256, 64, generator=gen)
    hidden = torch.randn(200, 64, generator=gen)
    exact = F.linear(hidden, weight)
    rough = torch.cat([F.linear(h, weight.half()) for h in hidden.half().split(1)]).float()
    assert not torch.equal(rough.argmax(-1), exact.argmax(-1))   # the case worth testing occurs
    head = GreedyHead(weight)
    fast = torch.cat([head(h) for h in hidden.split(1)])
    assert torch.equal(fast.argmax(-1), exact.argmax(-1))


# ---------------------------------------------------------------- a lone row's step (layout.lone_row_layout)

def test_engine_weights_are_input_major_with_the_same_values():
    from ftlab.sandbox import models
    from ftlab.sandbox.layout import LoneRowLinear, lone_row_layout

    model, tokenizer = models.load_base(progress=False)
    linears = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    ids = torch.tensor([tokenizer("def somma(a, b):")["input_ids"]])
    with torch.inference_mode():
        before = [model(input_ids=ids[:, :k]).logits[0, -1] for k in (1, ids.shape[1])]
        weights = [m.weight.clone() for m in linears]
        lone_row_layout(model)
        after = [model(input_ids=ids[:, :k]).logits[0, -1] for k in (1, ids.shape[1])]
    layers = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert len(layers) == len(linears) and all(type(m) is LoneRowLinear for m in layers)
    assert all(type(m) is torch.nn.Linear for m in linears)   # the layers replaced, not changed in class
    assert all(a.weight is b.weight for a, b in zip(layers, linears))   # the same parameters
    assert all(m.weight.t().is_contiguous() and not m.weight.is_contiguous() for m in layers)
    assert all(torch.equal(m.weight, w) for m, w in zip(layers, weights))
    assert model.get_input_embeddings().weight is model.get_output_embeddings().weight   # still tied
    for b, a in zip(before, after):
        assert torch.allclose(b, a, atol=1e-4) and b.argmax() == a.argmax()


def test_a_lone_row_product_is_the_same_on_one_thread_or_two():
    from ftlab.sandbox.layout import LoneRowLinear, lone_row_layout

    torch.manual_seed(0)
    layer = torch.nn.Sequential(torch.nn.Linear(576, 1536, bias=True))
    plain = layer[0].weight.detach().clone(), layer[0].bias.detach().clone()
    lone_row_layout(layer)
    assert type(layer[0]) is LoneRowLinear
    row, rows = torch.randn(1, 1, 576), torch.randn(3, 576)
    threads = torch.get_num_threads()
    try:
        out = []
        for n in (1, 2):
            torch.set_num_threads(n)
            out.append(layer(row))
    finally:
        torch.set_num_threads(threads)
    assert out[0].shape == (1, 1, 1536) and torch.equal(out[0], out[1])
    assert torch.allclose(out[0], torch.nn.functional.linear(row, *plain), atol=1e-5)
    assert torch.equal(layer(rows), torch.nn.functional.linear(rows, layer[0].weight, layer[0].bias))


# ---------------------------------------------------------------- the thread policy (cpu)

def test_another_process_keeping_a_core_busy_is_measured():
    """The CPU time another process used is counted (at least that: the machine may be busier)."""
    import subprocess
    import sys
    import time

    import psutil

    from ftlab.sandbox.cpu import OtherProcesses

    def used(proc) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    others = OtherProcesses(every=0.0)
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        proc, deadline = psutil.Process(hog.pid), time.monotonic() + 120
        while used(proc) < 0.1 and time.monotonic() < deadline:   # it is running
            time.sleep(0.02)
        others.busy_cores()
        start, before = others._last[0], used(proc)
        while used(proc) - before < 0.5 and time.monotonic() < deadline:
            time.sleep(0.02)
        busy = others.busy_cores()
        hog_seconds = used(proc) - before
        assert hog_seconds >= 0.5, "the other process never got the CPU"
        assert busy * (others._last[0] - start) >= hog_seconds - 0.05
    finally:
        hog.kill()
        hog.wait()


def test_our_own_cpu_time_is_not_counted(monkeypatch):
    """Readings made up so that the test does not depend on what else the machine runs."""
    from ftlab.sandbox import cpu

    clock, machine, mine = [100.0], [50.0], [10.0]
    monkeypatch.setattr(cpu.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(cpu.OtherProcesses, "_sample", lambda self: (clock[0], machine[0], mine[0]))
    others = cpu.OtherProcesses(every=0.25)

    def after(seconds, busy, ours):
        clock[0] += seconds
        machine[0] += busy
        mine[0] += ours
        return others.busy_cores()

    assert after(1.0, 1.0, 1.0) == 0.0                       # all the machine's work was ours
    assert after(1.0, 1.6, 0.5) == pytest.approx(1.1)
    assert after(0.1, 2.0, 0.0) == pytest.approx(1.1)        # too soon: the last reading stands
    assert after(0.5, 0.0, 0.0) == pytest.approx(2.0 / 0.6)  # the 2 s above, over 0.6 s


def test_busy_seconds_leave_out_idle_waiting_and_guest_time():
    from collections import namedtuple

    from ftlab.sandbox.cpu import _busy_seconds

    Linux = namedtuple("Linux", "user nice system idle iowait irq softirq steal guest guest_nice")
    assert _busy_seconds(Linux(10, 1, 4, 100, 7, 1, 1, 2, 3, 1)) == pytest.approx(19)   # guest is in user
    Mac = namedtuple("Mac", "user nice system idle")
    assert _busy_seconds(Mac(10, 1, 4, 100)) == pytest.approx(15)


def test_steps_take_the_cores_other_processes_leave_free(monkeypatch):
    from ftlab.sandbox import cpu

    class Busy:
        def __init__(self, cores):
            self.cores = cores

        def busy_cores(self):
            return self.cores

    threads = torch.get_num_threads()
    try:
        monkeypatch.setattr(cpu, "usable_cpus", lambda: 2)
        assert [cpu.share_threads(Busy(c)) for c in (0.0, 0.4, 0.6, 1.5)] == [2, 2, 1, 1]
        assert torch.get_num_threads() == 1
        monkeypatch.setattr(cpu, "usable_cpus", lambda: 4)
        assert [cpu.share_threads(Busy(c)) for c in (0.0, 1.2, 3.0)] == [4, 3, 1]
        assert cpu.share_threads(Busy(0.0), most=2) == 2 == torch.get_num_threads()
    finally:
        torch.set_num_threads(threads)


def test_lone_answers_do_not_depend_on_the_thread_count(engine, random_adapter, monkeypatch):
    others = engine._batcher._others
    answers = []
    for busy in (0.0, 8.0):   # 2 threads, then 1
        monkeypatch.setattr(others, "busy_cores", lambda busy=busy: busy)
        answers.append([engine.chat(COURSE_PROMPTS[0], adapter_dir=a, temperature=t, seed=3, max_tokens=24).choices[0]
                        for a in (None, random_adapter) for t in (0, 1.0)])
    assert answers[0] == answers[1]


def test_greedy_head_copies_an_input_major_weight_row_major():
    from ftlab.sandbox.greedyhead import GreedyHead

    weight = torch.randn(300, 32).t().contiguous().t()
    head = GreedyHead(weight)
    assert head.weight16.is_contiguous() and torch.equal(head.weight16, weight.half())
    hidden = torch.randn(1, 32)
    assert head(hidden).argmax() == torch.nn.functional.linear(hidden, weight).argmax()


def test_closing_ends_the_scheduler_thread_and_fails_what_was_running():
    """Run at exit: a thread left inside torch while Python finalizes aborts the process."""
    import threading

    engine = Engine()
    first = engine.chat(PROMPT, temperature=0, max_tokens=2).choices[0]
    assert first.completion_tokens == 2
    running = engine.stream(PROMPT, temperature=0, max_tokens=400)
    deltas = iter(running)
    next(deltas)   # it is decoding now
    closer = threading.Thread(target=engine._batcher.close)
    closer.start()
    with pytest.raises(RuntimeError, match="closed"):
        for _ in deltas:
            pass
    closer.join(timeout=20)
    assert not closer.is_alive() and not engine._batcher._thread.is_alive()
    with pytest.raises(RuntimeError, match="closed"):
        engine.chat(PROMPT, max_tokens=2)
