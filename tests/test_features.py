"""AI features behind the gate: pages, runs, refunds on failure, charges used once."""

import io
import re
import zipfile

import pytest

from support.features import run_through_gate
from support.openai import chat_reply
from support.uploads import benign_docx
from support.waiting import wait_for_run
from support.web import Api, AuthActions, user_id
from tokenapp.extensions import db
from tokenapp.features.forms import FLAGSHIP_PATHS, FORMS
from tokenapp.models import TokenTransaction

SAMPLE = {
    "job_description": "Acme Robotics is hiring a Senior Python Engineer. Must have Python, PostgreSQL and Docker. "
    "Nice to have: Kubernetes. 5+ years of experience required.",
    "resume_text": "Ada Lovelace\nada@example.com\nSkills: Python, PostgreSQL, Flask\nExperience\n"
    "Senior Engineer, Analytical Engines Ltd, 2015 - Present\n- Built data pipelines in Python",
    "tone": "professional",
    "role": "Senior Python Engineer",
    "level": "senior",
    "location": "Berlin",
    "target_role": "Data Engineer",
    "current_role": "Backend Engineer",
    "question": "Tell me about a conflict.",
    "answer": "I disagreed with a teammate about a schema; we ran a test and shipped a 30% faster design.",
    "story": "Our release broke checkout; I led the rollback and added canary deploys; incidents fell by half.",
    "recipient": "Grace Hopper",
    "context": "We met at PyCon.",
    "company": "Acme Robotics",
    "interviewer": "Sam",
    "offer": "120000",
    "audience": "recruiter",
    "notes": "",
    "topics": "robot fleet telemetry",
}


def inputs_for(feature_key):
    return {
        field.name: SAMPLE[field.name]
        for field in FORMS[feature_key]
        if field.name in SAMPLE and field.kind not in ("file", "resume")
    }


def spend_and_refund_rows(app, feature_key):
    with app.app_context():
        return db.session.execute(
            db.select(TokenTransaction.type, TokenTransaction.amount)
            .where(TokenTransaction.feature_key == feature_key)
            .order_by(TokenTransaction.id)
        ).all()


@pytest.fixture
def rich(app, api):
    from tokenapp.services import ledger

    with app.app_context():
        ledger.adjust(user_id(app, "ada@example.com"), 500, reason="test")
    return api


@pytest.mark.parametrize("path", [*FLAGSHIP_PATHS.values(), "/features/ats_check", "/features"])
def test_feature_pages_render_with_a_gated_button(client, api, path):
    html = client.get(path).get_data(as_text=True)
    assert 'id="feature-result"' in html or path == "/features"
    if path != "/features":
        assert re.search(r'button type="submit" data-feature-key="\w+"', html)
        assert 'id="feature-form"' in html


@pytest.mark.parametrize("feature_key", sorted(k for k in FORMS if k != "resume_parsing"))
def test_every_feature_runs_locally_and_costs_its_price(app, client, rich, feature_key):
    from tokenapp.services import gate

    before = rich.balance()
    response = run_through_gate(client, feature_key, inputs_for(feature_key))
    assert response.status_code == 200, response.get_data(as_text=True)
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    done = wait_for_run(rich, run_id)
    assert done["status"] == "succeeded", done["error"]
    assert done["output"]["sections"] and done["output"]["title"]
    with app.app_context():
        cost = gate.feature(feature_key).cost
    assert rich.balance() == before - cost
    page = client.get(f"/features/runs/{run_id}").get_data(as_text=True)
    assert done["output"]["title"].split(":")[0] in page


def test_a_failed_run_refunds_and_says_so(app, client, rich, monkeypatch):
    from tokenapp.features import engine

    def broken(feature_key, inputs):
        raise RuntimeError("model fell over")

    monkeypatch.setattr(engine, "generate", broken)
    response = run_through_gate(client, "cover_letter", inputs_for("cover_letter"))
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    done = wait_for_run(rich, run_id)
    assert done["status"] == "failed" and "refunded" in done["error"]
    assert rich.balance() == 510
    assert spend_and_refund_rows(app, "cover_letter") == [("spend", -10), ("refund", 10)]


def test_an_unexpected_error_text_is_logged_not_shown(app, client, rich, monkeypatch):
    from jinja2 import UndefinedError

    from tokenapp.features import engine

    def broken(feature_key, inputs):
        raise UndefinedError("'secret_internal_name' is undefined")

    monkeypatch.setattr(engine, "generate", broken)
    response = run_through_gate(client, "cover_letter", inputs_for("cover_letter"))
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    done = wait_for_run(rich, run_id)
    assert done["status"] == "failed"
    assert done["error"] == "The AI run failed. Your tokens were refunded."
    assert rich.balance() == 510


def test_missing_inputs_are_refused_before_charging(app, client, rich):
    response = run_through_gate(client, "cover_letter", {"tone": "professional"})
    assert response.status_code == 400 and b"Job description is required" in response.data
    assert b"Nothing was charged" in response.data
    assert rich.balance() == 510 and spend_and_refund_rows(app, "cover_letter") == []


def test_a_charge_pays_for_one_run_of_its_feature_by_its_owner(app, client, rich):
    charge = rich.deduct("job_description_analysis").get_json()["charge_id"]
    body = {"charge_id": charge, "inputs": {"job_description": SAMPLE["job_description"]}}
    first = rich.post("/api/features/job_description_analysis/runs", json=body)
    assert first.status_code == 202
    assert rich.post("/api/features/job_description_analysis/runs", json=body).status_code == 409
    wait_for_run(rich, first.get_json()["run_id"])
    other_charge = rich.deduct("job_description_analysis").get_json()["charge_id"]
    wrong_feature = rich.post(
        "/api/features/skills_gap/runs", json={"charge_id": other_charge, "inputs": {"target_role": "Data Engineer"}}
    )
    assert wrong_feature.status_code == 409
    intruder = app.test_client()
    AuthActions(intruder).register("eve@example.com")
    stolen = Api(intruder).post(
        "/api/features/job_description_analysis/runs", json={"charge_id": other_charge, "inputs": body["inputs"]}
    )
    assert stolen.status_code == 409
    assert Api(intruder).get(f"/api/features/runs/{first.get_json()['run_id']}").status_code == 404


def test_unlimited_users_run_free_but_are_recorded(app, client, api):
    from tokenapp.services import ledger

    with app.app_context():
        ledger.set_unlimited(user_id(app, "ada@example.com"), True)
    response = run_through_gate(client, "cover_letter", inputs_for("cover_letter"))
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    assert wait_for_run(api, run_id)["status"] == "succeeded"
    assert api.balance() == 10
    assert spend_and_refund_rows(app, "cover_letter") == [("spend", 0)]


def zip_without_word_body():
    """A zip holding no word/document.xml; its entry is dated, so every xdist worker collects the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(zipfile.ZipInfo("xl/workbook.xml", date_time=(2024, 1, 1, 0, 0, 0)), "<workbook/>")
    return buffer.getvalue()


def test_resume_upload_is_parsed_saved_and_reused(app, client, rich):
    filename, data = benign_docx()
    upload = {"resume_file": (io.BytesIO(data), filename)}
    response = run_through_gate(client, "resume_parsing", files=upload)
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    done = wait_for_run(rich, run_id)
    assert done["status"] == "succeeded" and "Ada Lovelace" in done["output"]["title"]
    assert rich.balance() == 502
    page = client.get("/cover-letter").get_data(as_text=True)
    resume_id = re.search(r'<option value="(\d+)">ada.docx', page).group(1)
    letter = run_through_gate(
        client,
        "cover_letter",
        {"job_description": SAMPLE["job_description"], "tone": "enthusiastic", "resume_id": resume_id},
    )
    letter_id = re.search(r'id="run-(run_\w+)"', letter.get_data(as_text=True)).group(1)
    output = wait_for_run(rich, letter_id)["output"]
    assert "Acme Robotics" in str(output)


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.pdf", b"", b"empty"),
        ("photo.pdf", b"\x89PNG\r\n\x1a\n" + b"0" * 100, b"PDF"),
        ("virus.exe", b"MZ" + b"0" * 100, b"supported"),
        ("cv.docx", zip_without_word_body(), b"a Word document"),
    ],
)
def test_bad_uploads_get_a_clear_error_and_no_charge(app, client, rich, name, data, message):
    response = run_through_gate(client, "resume_parsing", files={"resume_file": (io.BytesIO(data), name)})
    assert response.status_code == 400
    assert b'role="alert"' in response.data and message in response.data
    assert rich.balance() == 510


def test_a_file_that_passes_the_cheap_checks_but_not_the_parse_is_refunded(app, client, rich):
    # The request only sniffs the type; the parse runs in the run, so a damaged PDF is charged, then refunded.
    response = run_through_gate(
        client, "resume_parsing", files={"resume_file": (io.BytesIO(b"%PDF-1.4\n1 0 obj <<"), "broken.pdf")}
    )
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    failed = wait_for_run(rich, run_id)
    assert failed["status"] == "failed" and "refunded" in failed["error"]  # the message: test_upload_limits
    assert rich.balance() == 510
    assert spend_and_refund_rows(app, "resume_parsing") == [("spend", -8), ("refund", 8)]


def test_someone_elses_resume_cannot_be_used(app, client, rich):
    response = run_through_gate(client, "cover_letter", {**inputs_for("cover_letter"), "resume_id": "999999"})
    assert response.status_code == 400 and b"saved resumes" in response.data
    assert rich.balance() == 510


def test_openai_provider_runs_the_prompt_file_and_refunds_on_outage(app, client, rich, fake_openai):

    app.config.update(
        AI_PROVIDER="openai", OPENAI_API_KEY="sk-test-feature", OPENAI_BASE_URL=fake_openai.url, OPENAI_TIMEOUT="5"
    )
    fake_openai.script(chat_reply("Dear Acme Robotics team, ..."))
    ok = run_through_gate(client, "cover_letter", inputs_for("cover_letter"))
    done = wait_for_run(rich, re.search(r'id="run-(run_\w+)"', ok.get_data(as_text=True)).group(1))
    assert done["status"] == "succeeded" and "Dear Acme Robotics team" in str(done["output"])
    sent = fake_openai.requests[0]["json"]["messages"]
    assert "Acme Robotics is hiring" in sent[1]["content"] and "professional" in sent[1]["content"]
    fake_openai.script(*[(500, {"error": "down"}, {})] * 3)
    down = run_through_gate(client, "cover_letter", inputs_for("cover_letter"))
    failed = wait_for_run(rich, re.search(r'id="run-(run_\w+)"', down.get_data(as_text=True)).group(1))
    assert failed["status"] == "failed" and "refunded" in failed["error"]
    assert rich.balance() == 500
    assert spend_and_refund_rows(app, "cover_letter") == [("spend", -10), ("spend", -10), ("refund", 10)]


def test_a_run_interrupted_by_a_crash_is_refunded_and_shown_failed(app, client, rich):
    from datetime import timedelta

    from tokenapp.jobs import tasks
    from tokenapp.models import FeatureRun, TokenCharge
    from tokenapp.models._types import utcnow

    charge = rich.deduct("skills_gap").get_json()["charge_id"]
    with app.app_context():
        db.session.add(
            FeatureRun(
                id="run_crashed",
                user_id=user_id(app, "ada@example.com"),
                feature_key="skills_gap",
                charge_id=charge,
                status="running",
                inputs={"target_role": "x"},
                created_at=utcnow(),
            )
        )
        db.session.execute(
            db.update(TokenCharge).where(TokenCharge.id == charge).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
        assert tasks.sweep_stale_charges() == 1
    body = rich.get("/api/features/runs/run_crashed").get_json()
    assert body["status"] == "failed" and "refunded" in body["error"]
    assert rich.balance() == 510


def test_user_text_in_outputs_comes_back_escaped(app, client, rich):
    evil = '<script>alert(1)</script> " onmouseover="alert(2)" javascript:alert(3)'
    response = run_through_gate(
        client, "job_description_analysis", {"job_description": f"Acme needs a Python developer. {evil}"}
    )
    run_id = re.search(r'id="run-(run_\w+)"', response.get_data(as_text=True)).group(1)
    assert wait_for_run(rich, run_id)["status"] == "succeeded"
    assert "<script>" in str(rich.get(f"/api/features/runs/{run_id}").get_json()["output"])
    html = client.get(f"/features/runs/{run_id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)" in html
    assert "<script>alert(1)" not in html and '" onmouseover="alert(2)"' not in html
