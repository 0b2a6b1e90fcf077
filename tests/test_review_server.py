"""zhalign review's web layer without a browser: the token, 127.0.0.1, operations, save, resume, the command's refusals."""
import json
import urllib.error
import urllib.request

import pytest

from align.cli import build_parser, main
from align.review_server import HOST, ReviewServer, create_app, open_session
from align.reviewing import ReviewBead, ReviewDocument, ReviewState, reviewed_frame
from align.writing import read_tsv, write_output

ZH = ["今天天气很好。", "我们去公园散步。", "公园里有很多人。", "孩子们在放风筝。"]
EN = ["The weather is fine today.", "We go for a walk in the park.", "There are many people in the park.",
      "The children are flying kites.", "Photo by a reporter."]


@pytest.fixture
def aligned_tsv(tmp_path):
    """A TSV as `zhalign align` writes it (no status column)."""
    document = ReviewDocument(tuple(ZH), tuple(EN), ("body",) * 4, ("body",) * 4 + ("credit",), "yes", "zhalign test")
    beads = (ReviewBead((0,), (0,), 0.99), ReviewBead((1, 2), (1, 2), 0.4), ReviewBead((3,), (3,), 0.97),
             ReviewBead((), (4,), 0.0))
    path = tmp_path / "pair.tsv"
    write_output(reviewed_frame(ReviewState(document, beads)).drop(columns="status"), path)
    return path


def session_for(*argv):
    return open_session(build_parser().parse_args(["review", *map(str, argv), "--no-browser", "-q"]))


def test_every_request_without_the_token_is_refused(aligned_tsv):
    client = create_app(session_for(aligned_tsv), "secret-token").test_client()
    for path in ("/", "/api/state", "/static/app.js", "/api/next", "/nothing-here", "/api/state?token=wrong"):
        assert client.get(path).status_code == 403, path
    assert client.post("/api/op", json={"op": "merge", "index": 0}).status_code == 403
    assert client.post("/api/save").status_code == 403
    assert client.get("/api/state", headers={"X-Review-Token": "wrong"}).status_code == 403
    page = client.get("/?token=secret-token")
    assert page.status_code == 200 and b"/static/app.js?token=secret-token" in page.data
    assert client.get("/static/app.js?token=secret-token").status_code == 200
    state = client.get("/api/state", headers={"X-Review-Token": "secret-token"}).get_json()
    assert state["zh"] == ZH and [row["status"] for row in state["rows"]] == ["auto"] * 4
    assert not state["realign"] and "needs the documents" in state["note"]


def test_the_server_listens_on_127_0_0_1_only_and_checks_the_token(aligned_tsv):
    server = ReviewServer(session_for(aligned_tsv)).start()
    try:
        assert server.address[0] == HOST == "127.0.0.1"
        assert server.url.startswith(f"http://127.0.0.1:{server.address[1]}/?token=")
        base = f"http://127.0.0.1:{server.address[1]}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/api/state")
        assert refused.value.code == 403
        with urllib.request.urlopen(f"{base}/api/state?token={server.token}") as response:
            assert json.load(response)["count"] == 4
    finally:
        server.stop()


def test_an_operation_answers_with_the_changed_rows_and_is_journaled_at_once(aligned_tsv):
    session = session_for(aligned_tsv)
    client = create_app(session, "t").test_client()
    headers = {"X-Review-Token": "t"}
    answer = client.post("/api/op", json={"op": "split", "mode": "pair", "index": 1, "cursor": 1}, headers=headers)
    data = answer.get_json()
    assert (data["start"], data["removed"], data["count"], data["unsaved"]) == (1, 1, 5, 1)
    assert [(row["zh"], row["en"], row["status"]) for row in data["rows"]] == [([1], [1], "edited"),
                                                                             ([2], [2], "edited")]
    journal = json.loads(session.paths.journal.read_text())
    assert journal["beads"][1] == [[1], [1], None, False] and journal["unsaved_edits"] == 1
    refused = client.post("/api/op", json={"op": "merge", "index": 4}, headers=headers)
    assert refused.status_code == 409 and "last bead" in refused.get_json()["error"]
    assert client.get("/api/next?cursor=0", headers=headers).get_json()["index"] == 4  # 0-1, score 0
    undone = client.post("/api/op", json={"op": "undo"}, headers=headers).get_json()
    assert (undone["start"], undone["removed"], undone["count"]) == (1, 2, 4)
    refused = client.post("/api/op", json={"op": "realign"}, headers=headers)
    assert refused.status_code == 409 and "needs the ZH and EN documents" in refused.get_json()["error"]


def test_save_writes_beside_the_input_never_over_it_and_a_new_run_resumes(aligned_tsv, tmp_path):
    session = session_for(aligned_tsv)
    assert session.paths.tsv == tmp_path / "pair.reviewed.tsv"
    client = create_app(session, "t").test_client()
    headers = {"X-Review-Token": "t"}
    client.post("/api/op", json={"op": "confirm", "index": 0}, headers=headers)
    client.post("/api/op", json={"op": "merge", "index": 2}, headers=headers)
    client.post("/api/cursor", json={"cursor": 2}, headers=headers)
    saved = client.post("/api/save", headers=headers).get_json()
    assert saved["written"] == [str(tmp_path / "pair.reviewed.tsv"), str(tmp_path / "pair.reviewed.index")]
    frame = read_tsv(tmp_path / "pair.reviewed.tsv")
    assert list(frame["status"]) == ["confirmed", "auto", "edited"]
    assert (tmp_path / "pair.reviewed.index").read_text() == "[0]:[0]\n[1, 2]:[1, 2]\n[3]:[3, 4]\n"
    assert read_tsv(aligned_tsv).shape == (4, 10)  # the input as it was
    client.post("/api/op", json={"op": "confirm", "index": 1}, headers=headers)  # after the save: journal only
    again = session_for(aligned_tsv)
    assert [b.status for b in again.review.state.beads] == ["confirmed", "confirmed", "edited"]
    assert again.review.cursor == 2 and again.review.edits == 1


def test_the_command_refuses_to_write_over_its_input(aligned_tsv, capsys):
    assert main(["review", str(aligned_tsv), "-o", str(aligned_tsv), "--no-browser"]) == 1
    assert "is an input" in capsys.readouterr().err
    reviewed = aligned_tsv.with_name("pair.reviewed.tsv")
    reviewed.write_text(aligned_tsv.read_text())
    assert main(["review", str(reviewed), "--no-browser"]) == 1
    assert f"zhalign review {aligned_tsv}" in capsys.readouterr().err
    assert main(["review", str(aligned_tsv.with_name("missing.tsv")), "--no-browser"]) == 1
    assert "missing.tsv: no such file" in capsys.readouterr().err
