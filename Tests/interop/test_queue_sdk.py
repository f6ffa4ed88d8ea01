"""Microsoft's azure-storage-queue SDK against devstorage."""
import time

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.storage.queue import QueueClient, QueueServiceClient


def queue(devstorage, unique):
    client = QueueServiceClient.from_connection_string(devstorage.connection_string()).get_queue_client(unique("q"))
    client.create_queue()
    return client


def test_send_receive_update_delete_peek_clear(devstorage, unique):
    q = queue(devstorage, unique)
    sent = q.send_message("hello <&> world")
    assert sent.id
    peeked = q.peek_messages(max_messages=5)
    assert [m.content for m in peeked] == ["hello <&> world"]
    assert peeked[0].dequeue_count == 0
    [message] = list(q.receive_messages(max_messages=1, visibility_timeout=30))
    assert message.content == "hello <&> world"
    assert message.dequeue_count == 1
    assert list(q.receive_messages(visibility_timeout=30)) == []  # invisible now
    updated = q.update_message(message, pop_receipt=message.pop_receipt, visibility_timeout=0, content="changed")
    assert updated.pop_receipt != message.pop_receipt
    with pytest.raises(HttpResponseError):
        q.delete_message(message.id, message.pop_receipt)  # the old receipt is dead
    [again] = list(q.receive_messages(visibility_timeout=30))
    assert again.content == "changed"
    assert again.dequeue_count == 2
    q.delete_message(again)
    assert q.get_queue_properties().approximate_message_count == 0
    for i in range(3):
        q.send_message(f"m{i}")
    assert q.get_queue_properties().approximate_message_count == 3
    q.clear_messages()
    assert q.get_queue_properties().approximate_message_count == 0


def test_visibility_and_ttl(devstorage, unique):
    q = queue(devstorage, unique)
    q.send_message("later", visibility_timeout=1)
    assert list(q.receive_messages()) == []
    deadline = time.time() + 10
    got = []
    while not got and time.time() < deadline:
        got = list(q.receive_messages(visibility_timeout=1))
        if not got:
            time.sleep(0.2)
    assert [m.content for m in got] == ["later"]
    q.delete_message(got[0])
    q.send_message("short-lived", time_to_live=1)
    deadline = time.time() + 10
    while q.peek_messages(max_messages=32) and time.time() < deadline:
        time.sleep(0.2)
    assert [m.content for m in q.peek_messages(max_messages=32)] == []
    forever = q.send_message("forever", time_to_live=-1)
    assert forever.expires_on.year == 9999


def test_limits(devstorage, unique):
    q = queue(devstorage, unique)
    q.send_message("x" * 65536)
    with pytest.raises(HttpResponseError) as info:
        q.send_message("x" * 65537)
    assert info.value.status_code in (400, 413)
    with pytest.raises(HttpResponseError) as info:
        q.send_message("too late", visibility_timeout=7 * 86400 + 1)
    assert info.value.status_code == 400
    assert info.value.error_code == "OutOfRangeQueryParameterValue"


def test_missing_queue(devstorage, unique):
    client = QueueServiceClient.from_connection_string(devstorage.connection_string()).get_queue_client(unique("q"))
    with pytest.raises(ResourceNotFoundError):
        client.send_message("nobody home")
