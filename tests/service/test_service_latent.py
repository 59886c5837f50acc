"""A latent map whose purity does not apply (as many clusters as probe points) is stored,
served and shown as not applicable with its reason, never as a perfect 1."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.pages import auth
from app.results import service as results
from app.runs.models import Run
from app.users import service as users
from app.users.models import User
from tests.service.helpers import make_user

WARNING = "purity not applicable: 4 clusters for 4 probe points"
POINTS = [{"x": 0.0, "y": 0.0, "perspective": "p", "cluster": 0, "question_id": "q"}]


def test_a_purity_that_does_not_apply_is_null_with_its_warning(
    client: TestClient, session: Session
) -> None:
    user, headers = make_user(session)
    run = Run(
        name="latent", owner_id=user.id, status="succeeded", method="sft", student="s", config={}
    )
    session.add(run)
    session.flush()
    base = {"n_points": 4, "n_clusters": 2, "purity": 0.75, "nmi": 0.5}
    trained = {"n_points": 4, "n_clusters": 4, "purity": None, "nmi": 0.6, "warning": WARNING}
    results.record_latent(session, run.id, trained | {"points": POINTS, "base": base})
    session.commit()

    served = client.get(f"/api/v1/runs/{run.id}/latent", headers=headers).json()
    by_model = {row["model"]: row for row in served}
    assert (by_model["trained"]["purity"], by_model["trained"]["warning"]) == (None, WARNING)
    assert (by_model["base"]["purity"], by_model["base"]["warning"]) == (0.75, None)

    owner = session.get(User, run.owner_id)
    token = users.create_token(session, owner, auth.SESSION_NAME, kind="session")[1]
    session.commit()
    client.cookies.set(auth.COOKIE, token)
    page = client.get(f"/runs/{run.id}")
    assert page.status_code == 200, page.text
    assert ">n/a</td>" in page.text and WARNING in page.text
    assert "purity n/a" in client.get(f"/runs/{run.id}/figures.json").text
