"""Port checks: a taken port is named in the error."""

from __future__ import annotations

import socket

import pytest

from launcher.ports import PortsInUse, check_ports_free, free_port, is_port_free


def test_port_in_use_is_named_with_what_needs_it() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        other = free_port()
        with pytest.raises(PortsInUse) as caught:
            check_ports_free({"broker": port, "sandbox": other})
    message = str(caught.value)
    assert f"port {port} for broker is already in use" in message
    assert str(other) not in message
    assert caught.value.taken.keys() == {"broker"}


def test_free_port_can_be_bound() -> None:
    assert is_port_free(free_port())
