"""The developers' client and CLI against the template on in-process moto, its API served on a
loopback port as `eventsapi run` serves it: a webhook created from the terminal receives a
published event, its delivery shows with its attempts, and the receiver verifies it with
eventsapi_client.verify (the reference header, Standard Webhooks and v1a)."""

import json
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer

import pytest

from eventsapi import developer_cli
from eventsapi.cli import main, parser
from eventsapi.harness import contract
from eventsapi.local.runtime import _Handler
from eventsapi_client import Client, Forbidden, NotFound, verify
from tests.unit.test_eventsapi_client import developer_operations

TOOL_DATA = {"toolName": "erp_get_inventory", "input": {}, "result": {}, "elapsed_ms": 230}


@pytest.fixture
def served(pipeline) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"gateway": pipeline.stack.gateway})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def cli(served, pipeline, capsys):
    key = pipeline.stack.key()

    def run(*argv: str, key: str = key) -> tuple[int, str, str]:
        capsys.readouterr()  # what the pumped functions logged is not the command's output
        code = main([*argv, "--api-url", served, "--api-key", key])  # global flags after the subcommand
        out, err = capsys.readouterr()
        return code, out, err

    run.key = key  # type: ignore[attr-defined]
    return run


def missing_from_cli(document: dict) -> set[str]:
    return developer_operations(document) - set(developer_cli.cli_operations(parser()))


def test_every_developer_operation_has_a_cli_command():
    assert missing_from_cli(contract.document()) == set()


def test_a_developer_operation_without_a_command_is_found():
    document = json.loads(json.dumps(contract.document()))
    document["paths"]["/v1/events/logs"]["get"]["operationId"] = "listLogsElsewhere"
    assert missing_from_cli(document) == {"listLogsElsewhere"}


def test_from_the_terminal_a_webhook_receives_an_event_and_its_delivery_shows(cli, pipeline, receiver):
    code, out, _ = cli("webhooks", "list")
    assert (code, out.strip()) == (0, "no webhooks yet: eventsapi webhooks create --event TYPE --url URL")

    code, out, _ = cli(
        "webhooks", "create", "--event", "tool.executed", "--url", receiver.url("/hook"), "--secret", "s3cret", "--json"
    )
    assert code == 0
    hook = json.loads(out)
    code, out, _ = cli("webhooks", "list")
    assert code == 0 and hook["id"] in out and "enabled" in out.splitlines()[1]

    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    [post] = receiver.at("/hook")
    assert verify(post.body, post.headers, "s3cret")
    assert not verify(post.body, post.headers, "another")

    code, out, _ = cli("deliveries", "list", hook["id"], "--json")
    [delivery] = json.loads(out)
    assert delivery["status"] == "succeeded"
    code, out, _ = cli("deliveries", "get", hook["id"], delivery["deliveryId"])
    assert code == 0 and "first" in out and "200" in out  # the attempts table
    code, out, _ = cli("deliveries", "redeliver", hook["id"], delivery["deliveryId"])
    assert code == 0 and out.startswith(f"queued {delivery['deliveryId']} again")
    pipeline.pump()
    assert len(receiver.at("/hook")) == 2


def test_pause_enable_test_rotate_update_delete(cli, receiver):
    _, out, _ = cli("webhooks", "create", "--event", "tool.failed", "--url", receiver.url("/h"), "--json")
    hook_id = json.loads(out)["id"]
    assert cli("webhooks", "pause", hook_id)[0] == 0
    code, out, _ = cli("webhooks", "get", hook_id, "--json")
    assert json.loads(out)["enabled"] is False
    assert cli("webhooks", "enable", hook_id)[0] == 0
    code, out, _ = cli("webhooks", "test", hook_id)
    assert code == 0 and out.startswith("delivered: 200")
    assert json.loads(receiver.at("/h")[0].body)["test"] is True
    code, out, _ = cli("webhooks", "rotate", hook_id)
    assert code == 0 and "shown only this once" in out
    code, out, _ = cli(
        "webhooks", "update", hook_id, "--description", "from the CLI", "--set", 'filter={"toolName": "a"}'
    )
    assert code == 0
    code, out, _ = cli("webhooks", "get", hook_id, "--json")
    assert json.loads(out)["description"] == "from the CLI" and json.loads(out)["filter"] == {"toolName": "a"}
    assert cli("recover", hook_id, "--since", "1h")[1].startswith("queued 0 dead deliveries again")
    assert cli("webhooks", "delete", hook_id) == (0, f"deleted {hook_id}\n", "")
    code, _, err = cli("webhooks", "get", hook_id)
    assert code == 1 and f"webhook '{hook_id}' not found" in err.splitlines()  # the line, verbatim


def test_the_apis_errors_are_printed_verbatim_with_documented_exit_codes(cli, pipeline, receiver):
    code, _, err = cli("webhooks", "create", "--event", "tool.nope", "--url", receiver.url("/h"))
    assert code == 1 and "tool.nope" in err and "tool.executed" in err  # the API's message names the valid types
    read_only = pipeline.stack.key(scopes=("read",))
    code, _, err = cli("webhooks", "create", "--event", "tool.failed", "--url", receiver.url("/h"), key=read_only)
    assert code == 1 and "write" in err
    assert cli("webhooks", "list", key=read_only)[0] == 0
    code, _, err = cli("webhooks", "update", "w1")
    assert code == 2 and err.startswith("nothing to change")
    code, _, err = cli("webhooks", "create", "--event", "tool.failed", "--url", "x", "--filter", "{not json")
    assert code == 2 and err.startswith("--filter: not JSON")
    assert main(["types", "--api-url", "http://127.0.0.1:9", "--api-key", "k"]) == 3


def test_types_logs_and_sessions(cli):
    code, out, _ = cli("types")
    assert code == 0 and "tool.executed" in out.split()
    code, out, _ = cli("types", "tool.executed")
    assert code == 0 and "elapsed_ms" in out and "example data:" in out
    code, out, _ = cli("types", "tool.executed", "--validate", '{"toolName": "x"}')
    assert code == 1 and "/input: is a required field" in out
    assert cli("types", "tool.executed", "--validate", json.dumps(TOOL_DATA))[:2] == (0, "valid\n")
    assert cli("sessions")[1].startswith("no live listen sessions")
    code, out, _ = cli("logs", "--json")
    assert code == 0 and isinstance(json.loads(out), list)


def test_listen_history_and_replay_from_the_terminal(cli, served, pipeline):
    code, _, err = cli("listen", "history")
    assert code == 2 and err.startswith("no live listen session")
    api = Client(served, cli.key)
    session = api.open_listen_session()["sessionId"]
    pipeline.publish("user_123", "tool.executed", TOOL_DATA)
    pipeline.pump()
    code, out, _ = cli("listen", "history", "--json")  # the newest live session
    [kept] = json.loads(out)
    assert code == 0 and kept["sessionId"] == session and kept["status"] == "pending"
    code, out, _ = cli("listen", "replay", kept["deliveryId"], "--session", session)
    assert code == 0 and out.startswith(f"replayed {kept['deliveryId']} as msg_")
    code, out, _ = cli("listen", "history", session)
    assert code == 0 and out.count("tool.executed") == 2
    code, _, err = cli("listen", "replay", "msg_" + "0" * 32)
    assert code == 1 and "not found" in err
    assert main(["listen", "--api-key", "k"]) == 2  # no --forward-to, no subcommand


def test_the_client_reads_every_page_and_maps_errors(served, pipeline, receiver):
    api = Client(served, pipeline.stack.key())
    hook = api.create_webhook("tool.executed", receiver.url("/p"), secret="s3cret", asymmetricSignature=True)
    for n in range(5):
        pipeline.publish("user_123", "tool.executed", {**TOOL_DATA, "n": n})
    pipeline.pump()
    assert len(list(api.deliveries(hook["id"], page_size=2))) == 5  # three pages, one iterator
    post = receiver.at("/p")[0]
    without_hmac = {k: v for k, v in post.headers.items() if not k.lower().startswith("x-webhook-signature")}
    assert verify(post.body, without_hmac, api.signing_keys())  # v1a, with the public keys alone
    with pytest.raises(NotFound):
        api.get_delivery(hook["id"], "msg_" + "0" * 32)
    with pytest.raises(Forbidden) as refused:
        Client(served, pipeline.stack.key(scopes=("read",))).delete_webhook(hook["id"])
    assert refused.value.code and refused.value.status == 403


def test_trigger_with_no_taker_says_so_and_refuses_a_webhook_of_another_type(cli, receiver):
    code, _, err = cli("trigger", "app.installed")
    assert code == 0, "nothing failed: exit 0"
    assert "no listen session or enabled webhook takes app.installed: nothing sent" in err

    _, out, _ = cli("webhooks", "create", "--event", "graph.synced", "--url", receiver.url("/graph"), "--json")
    graph = json.loads(out)["id"]
    code, _, err = cli("trigger", "tool.executed", "--webhook", graph)
    assert code == 2
    assert f"webhook {graph} takes graph.synced, not tool.executed: nothing sent" in err
    assert receiver.at("/graph") == []
    code, _, err = cli("trigger", "tool.executed", "--webhook", "wh_nope")
    assert code == 2 and "webhook wh_nope:" in err

    code, _, err = cli("trigger", "graph.synced", "--webhook", graph)
    assert code == 0 and f"webhook {graph}:" in err
    assert len(receiver.at("/graph")) == 1


def test_listen_opens_its_sessions_with_the_kept_secret(served, pipeline, tmp_path, monkeypatch):
    from eventsapi.listen import Api, Listener
    from eventsapi.listen_secret import kept_secret

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    key = pipeline.stack.key()
    opened = []
    for _ in range(2):  # two runs, or a reconnect: one secret
        listener = Listener(Api(served, key), "http://127.0.0.1:9/x", [], {})
        listener.secret = kept_secret()
        listener.open()
        opened.append((listener.session_id, listener.secret))
    assert opened[0][0] != opened[1][0]
    assert opened[0][1] == opened[1][1] == (tmp_path / "eventsapi" / "listen-secret").read_text().strip()
