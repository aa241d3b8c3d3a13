"""The class roster (keys stored as hashes, CSV reading) and the fair queue's order: unit tests."""
from __future__ import annotations

import sqlite3

import pytest

from ftlab.sandbox.queue import fair_order
from ftlab.sandbox.roster import PREFIX, Roster, RosterError, check_name, key_hash, read_names


def test_keys_are_shown_once_and_stored_only_as_hashes(tmp_path):
    roster = Roster(tmp_path)
    pairs = roster.add(["Anna", "Bruno"])
    assert [n for n, _ in pairs] == ["Anna", "Bruno"]
    keys = [k for _, k in pairs]
    assert all(k.startswith(PREFIX) and len(k) > 40 for k in keys) and keys[0] != keys[1]
    raw = (tmp_path / "sandbox.db").read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("sandbox.db*"))
    assert not any(k.encode() in raw or k[len(PREFIX):].encode() in raw for k in keys)
    with sqlite3.connect(tmp_path / "sandbox.db") as conn:
        assert {r[0] for r in conn.execute("SELECT key_hash FROM class_keys")} == {key_hash(k) for k in keys}
    assert roster.caller(keys[0]).name == "Anna" and roster.caller(keys[0]).project == "Anna"
    assert roster.caller(keys[1]).name == "Bruno"
    assert roster.caller(keys[0] + "x") is None and roster.caller("") is None


def test_revoke_rotate_and_instructor(tmp_path):
    roster = Roster(tmp_path)
    (_, old), = roster.add(["Anna"])
    roster.revoke("Anna")
    assert roster.caller(old) is None
    new = roster.rotate("Anna")
    assert roster.caller(new).name == "Anna" and roster.caller(old) is None
    boss = roster.instructor()
    caller = roster.caller(boss)
    assert caller.role == "instructor" and caller.project is None
    again = roster.instructor()
    assert roster.caller(boss) is None and roster.caller(again).role == "instructor"
    entries = {e["name"]: e for e in roster.entries()}
    assert set(entries) == {"Anna", "instructor"} and entries["Anna"]["revoked_at"] is None
    assert entries["Anna"]["hint"] == f"{PREFIX}…{new[-4:]}"
    with pytest.raises(RosterError) as err:
        roster.revoke("Nessuno")
    assert err.value.code == "unknown_name"


def test_adding_a_name_twice_refuses_the_whole_batch(tmp_path):
    roster = Roster(tmp_path)
    roster.add(["Anna"])
    with pytest.raises(RosterError) as err:
        roster.add(["Carla", "Anna"])
    assert err.value.code == "name_exists"
    assert [e["name"] for e in roster.entries()] == ["Anna"]


def test_read_names_takes_the_name_column_and_names_bad_lines(tmp_path):
    ok = tmp_path / "ok.csv"
    ok.write_text("email,Name,gruppo\na@x.it, Anna Rossi ,1\n\nb@x.it,Bruno,2\n", encoding="utf-8")
    assert read_names(ok) == ["Anna Rossi", "Bruno"]
    cases = {"email\na@x.it\n": ("missing_name_column", 1),
             "name\nAnna\nBruno\nAnna\n": ("duplicate_name", 4),
             "name,email\nAnna,a\n,b\n": ("empty_name", 3),
             "name\ninstructor\n": ("reserved_name", 2),
             "name\n" + "x" * 65 + "\n": ("name_too_long", 2)}
    for i, (text, (code, line)) in enumerate(cases.items()):
        path = tmp_path / f"bad{i}.csv"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(RosterError) as err:
            read_names(path)
        assert (err.value.code, err.value.line) == (code, line), text
        assert f"line {line}:" in str(err.value)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name\nNiccolò\n".encode("latin-1"))
    with pytest.raises(RosterError) as err:
        read_names(latin)
    assert err.value.code == "invalid_encoding"
    with pytest.raises(RosterError):
        check_name("a\x07b")


def _q(project, seq):
    return {"project": project, "seq": seq}


def test_fair_order_is_round_robin_across_projects():
    # Anna queued three jobs before Bruno and Carla queued one each
    queued = [_q("Anna", 1), _q("Anna", 2), _q("Anna", 3), _q("Bruno", 4), _q("Carla", 5)]
    assert [(i["project"], i["seq"]) for i in fair_order(queued, {})] == [
        ("Anna", 1), ("Bruno", 4), ("Carla", 5), ("Anna", 2), ("Anna", 3)]
    # Anna trained a minute ago, Bruno never: Bruno goes first within the round
    order = fair_order(queued, {"Anna": 1000.0, "Carla": 900.0})
    assert [(i["project"], i["seq"]) for i in order] == [
        ("Bruno", 4), ("Carla", 5), ("Anna", 1), ("Anna", 2), ("Anna", 3)]


def test_fair_order_with_one_project_is_fifo():
    queued = [_q("", 3), _q("", 1), _q("", 2)]
    assert [i["seq"] for i in fair_order(queued, {"": 5.0})] == [1, 2, 3]


def test_request_limiter_is_a_sliding_minute_per_name():
    from ftlab.sandbox.errors import APIError
    from ftlab.sandbox.quotas import RequestLimiter
    now = [1000.0]
    limiter = RequestLimiter(3, clock=lambda: now[0])
    assert [limiter.wait_needed("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    now[0] += 20
    assert limiter.wait_needed("a") == pytest.approx(40.0)   # the first request leaves the window at 1060
    assert limiter.wait_needed("b") == 0.0
    with pytest.raises(APIError) as err:
        limiter.check("a")
    assert err.value.status == 429 and err.value.headers == {"retry-after": "40"}
    now[0] += 40.5
    assert limiter.wait_needed("a") == 0.0


def _job(store, project, status="queued", **fields):
    from ftlab.sandbox.store import new_id
    return store.for_project(project).add_job({"id": new_id("ftjob-"), "status": status, **fields})["id"]


def test_estimates_follow_the_fair_queue_and_the_running_job(tmp_path):
    from ftlab.sandbox import queue
    from ftlab.sandbox.store import Store
    store = Store(tmp_path)
    now = 10_000.0
    _job(store, "Carla", "running", estimated_finish=int(now + 30))
    a1, a2, a3 = (_job(store, "Anna") for _ in range(3))
    b1 = _job(store, "Bruno")
    _job(store, "Bruno", "succeeded")
    per = queue.DEFAULT_SECONDS   # nothing has finished with a start time yet
    assert queue.estimates(store, now) == {a1: (1, now + 30 + per), b1: (2, now + 30 + 2 * per),
                                           a2: (3, now + 30 + 3 * per), a3: (4, now + 30 + 4 * per)}
    # two workers: the second starts the queue at once
    two = queue.estimates(store, now, workers=2)
    assert two[a1] == (1, now + per) and two[b1] == (2, now + 30 + per)


def test_job_seconds_is_the_mean_of_recent_real_jobs(tmp_path):
    from ftlab.sandbox import queue
    from ftlab.sandbox.store import Store
    store = Store(tmp_path)
    for started, took in ((100.0, 60), (500.0, 120)):
        job_id = _job(store, "Anna", "succeeded", finished_at=int(started + took))
        store.update_job(job_id, state={"started_at": started})
    assert queue.job_seconds(store) == 90.0
    assert store.last_starts() == {"Anna": 500.0}


def test_store_views_see_only_their_project(tmp_path):
    import io
    from ftlab.sandbox.store import Store
    store = Store(tmp_path)
    anna, bruno = store.for_project("Anna"), store.for_project("Bruno")
    f = anna.add_file(io.BytesIO(b"{}\n"), "a.jsonl", "fine-tune", max_bytes=100)
    job = _job(store, "Anna")
    assert anna.get_file(f["id"]) and bruno.get_file(f["id"]) is None and store.get_file(f["id"])
    assert bruno.get_job(job) is None and anna.get_job(job)["id"] == job
    assert not bruno.delete_file(f["id"]) and (store.blobs / f["id"]).exists()
    assert store.usage()["Anna"]["files"] == 1 and "Bruno" not in bruno.usage()
    assert store.job_project(job) == "Anna"


def test_a_restarted_worker_slot_recovers_only_its_own_jobs(tmp_path):
    from ftlab.sandbox import worker
    from ftlab.sandbox.store import Store
    store = Store(tmp_path)
    mine, sibling, orphan = (_job(store, "Anna", "running") for _ in range(3))
    for job_id, slot in ((mine, 1), (sibling, 0), (orphan, 3)):
        store.update_job(job_id, state={"slot": slot})
    worker.recover(store, slot=1, slots=2)
    assert store.get_job(mine)["error"]["code"] == "training_interrupted"
    assert store.get_job(sibling)["status"] == store.get_job(orphan)["status"] == "running"
    worker.recover(store, slot=0, slots=2)   # slot 0 also takes the jobs of slots that no longer exist
    assert store.get_job(orphan)["status"] == "failed" and store.get_job(sibling)["status"] == "failed"


def test_two_slots_never_claim_the_same_validation(tmp_path):
    from ftlab.sandbox.store import Store
    store = Store(tmp_path)
    job = _job(store, "Anna", "validating_files")
    assert store.claim(job, "validating_files", 0) and store.claim(job, "validating_files", 0)
    assert not store.claim(job, "validating_files", 1)
    assert not store.claim(job, "queued", 0)
    store.release(0)   # slot 0 died and restarted: its claims are free again
    assert store.claim(job, "validating_files", 1)
