"""Live-stream tickets: issued for a tenant, redeemed once, refused when forged, late or unreadable."""

import time

import pytest

from interfaces.stream_tickets import TICKET_TTL_S, InvalidTicket, Tickets


def test_a_ticket_names_its_tenant_and_subject_and_opens_one_stream():
    tickets = Tickets("secret")
    ticket, expires = tickets.issue("acme", "ada")

    assert tickets.redeem(ticket) == ("acme", "ada")
    assert expires == pytest.approx(time.time() + TICKET_TTL_S, abs=2)
    with pytest.raises(InvalidTicket, match="used already"):
        tickets.redeem(ticket)


@pytest.mark.parametrize("ticket", ["", "no-dot", "šé.ñ", "\u009a\u00fb#.\u00d0", "abc.def", "a" * 600])
def test_anything_we_did_not_issue_is_refused_never_an_error(ticket):
    with pytest.raises(InvalidTicket):
        Tickets("secret").redeem(ticket)


def test_a_ticket_from_another_secret_or_past_its_time_is_refused(monkeypatch):
    ticket, _ = Tickets("another secret").issue("acme", "ada")
    with pytest.raises(InvalidTicket, match="not one we issued"):
        Tickets("secret").redeem(ticket)

    tickets = Tickets("secret")
    late, _ = tickets.issue("acme", "ada")
    monkeypatch.setattr(time, "time", lambda: 10**10)
    with pytest.raises(InvalidTicket, match="expired"):
        tickets.redeem(late)
