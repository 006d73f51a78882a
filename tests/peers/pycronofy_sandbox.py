#!/usr/bin/env python3
"""Drives the Cronofy sandbox with pycronofy 2.1.1: the calls of pycronofy's
README (list_calendars, read_events with automatic pagination,
read_free_busy, upsert_event, delete_event, refresh_authorization,
create_notification_channel), each checked against what the sandbox holds;
the channel's callback is a small HTTP server of this script on 127.0.0.1,
which must get the signed `verification` notification (checked with
pycronofy's hmac_valid). Not run by CI.

Run (from the repository root):

    cargo run --example sandbox --no-default-features \\
        --features timesync,cronofy,tls-ring,sandbox -- cronofy > /tmp/cronofy.env &
    /tmp/bench/.venv/bin/python tests/peers/pycronofy_sandbox.py /tmp/cronofy.env

Each driver wants a sandbox of its own (the refresh rotates the refresh token
in the file). The file holds the example's `key=value` lines (base_url, client_id,
client_secret, access_token, refresh_token, calendar_id); its calendar has
60 events from 2026-11-23T08:00:00Z, half an hour each, in pages of 25.
Prints one line per check and exits 1 if any failed.
"""
import datetime
import http.server
import json
import queue
import sys
import threading

import pycronofy
from pycronofy import settings

FAILED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    if not ok:
        FAILED.append(name)


def attempt(name, call):
    try:
        return call()
    except Exception as e:  # the peer's own error types, shown as they are
        check(name, False, f"{type(e).__name__}: {e} {getattr(getattr(e, 'response', None), 'text', '')}")
        return None


def callback_receiver():
    """A server on a free port of 127.0.0.1 that answers 200 to every POST and
    queues (headers, body); returns (url, queue)."""
    received = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.put((self.headers, body.decode()))  # headers: case-insensitive get
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/cronofy/notify", received


def main():
    env = dict(line.strip().split("=", 1) for line in open(sys.argv[1]) if "=" in line)
    settings.API_BASE_URL = env["base_url"]  # read when the Client is made
    client = pycronofy.Client(
        client_id=env["client_id"],
        client_secret=env["client_secret"],
        access_token=env["access_token"],
        refresh_token=env["refresh_token"],
        token_expiration=datetime.datetime.now(tz=datetime.timezone.utc) + datetime.timedelta(hours=1),
    )
    calendar = env["calendar_id"]

    calendars = attempt("list_calendars", client.list_calendars)
    if calendars is not None:
        check("list_calendars", [c["calendar_id"] for c in calendars] == [calendar], calendars)

    # Automatic pagination: 60 events over three pages of 25 (booleans go as True/False).
    events = attempt("read_events", lambda: client.read_events(
        from_date="2026-11-23", to_date="2026-11-30", tzid="Etc/UTC"))
    if events is not None:
        summaries = attempt("read_events pages", lambda: [e["summary"] for e in events])
        if summaries is not None:
            check("read_events follows next_page", len(summaries) == 60 and summaries[59] == "Event 59",
                  f"{len(summaries)} events")
            check("read_events ends on the last page", events.current == 3 and events.total == 3,
                  f"{events.current}/{events.total}")
    # A date (not a string) for from, as pycronofy formats it.
    dated = attempt("read_events with dates", lambda: client.read_events(
        from_date=datetime.date(2026, 11, 23), to_date=datetime.date(2026, 11, 24),
        tzid="Europe/London", automatic_pagination=False))
    if dated is not None:
        check("read_events with dates", len(dated.current_page()) == 25 and dated.total == 2,
              f"{len(dated.current_page())} on page 1 of {dated.total}")

    blocks = attempt("read_free_busy", lambda: client.read_free_busy(
        from_date="2026-11-23", to_date="2026-11-30", tzid="Etc/UTC").all())
    if blocks is not None:
        check("read_free_busy follows next_page", len(blocks) == 60
              and all(b["free_busy_status"] == "busy" for b in blocks), f"{len(blocks)} blocks")

    event = {
        "event_id": "pycronofy-1",
        "summary": "Made by pycronofy",
        "start": datetime.datetime(2026, 11, 25, 15, 0, tzinfo=datetime.timezone.utc),
        "end": "2026-11-25T16:00:00Z",
        "tzid": "Europe/London",
    }
    attempt("upsert_event", lambda: client.upsert_event(calendar, event))
    managed = attempt("read_events only_managed", lambda: client.read_events(
        from_date="2026-11-25", to_date="2026-11-26", only_managed=True).all())
    if managed is not None:
        mine = [e for e in managed if e.get("event_id") == "pycronofy-1"]
        check("upsert_event reads back", len(mine) == 1 and mine[0]["start"] == "2026-11-25T15:00:00Z"
              and mine[0]["summary"] == "Made by pycronofy", managed)
    attempt("delete_event", lambda: client.delete_event(calendar, "pycronofy-1"))
    deleted = attempt("read_events include_deleted", lambda: client.read_events(
        from_date="2026-11-25", to_date="2026-11-26", only_managed=True, include_deleted=True).all())
    if deleted is not None:
        mine = [e for e in deleted if e.get("event_id") == "pycronofy-1"]
        check("delete_event marks it deleted", [e["deleted"] for e in mine] == [True], deleted)

    old_access = client.auth.access_token
    tokens = attempt("refresh_authorization", client.refresh_authorization)
    if tokens is not None:
        check("refresh_authorization rotates both tokens",
              tokens["access_token"] != old_access and tokens["refresh_token"] != env["refresh_token"], tokens)
        again = attempt("list_calendars with the new token", client.list_calendars)
        check("the new access token works", again is not None and len(again) == 1)

    callback, received = callback_receiver()
    channel = attempt("create_notification_channel", lambda: client.create_notification_channel(
        callback, calendar_ids=[calendar], only_managed=True))
    if channel is not None:
        check("create_notification_channel", channel["channel_id"].startswith("chn_")
              and channel["filters"] == {"calendar_ids": [calendar], "only_managed": True}, channel)
        listed = attempt("list_notification_channels", client.list_notification_channels)
        check("list_notification_channels", listed is not None and [c["channel_id"] for c in listed]
              == [channel["channel_id"]], listed)
        try:
            headers, body = received.get(timeout=10)
        except queue.Empty:
            headers, body = {}, "{}"
        note = json.loads(body)
        check("the callback gets the channel's verification",
              note.get("notification") == {"type": "verification"}
              and note.get("channel", {}).get("channel_id") == channel["channel_id"], body)
        check("the verification is signed (hmac_valid)",
              client.hmac_valid(headers.get("Cronofy-HMAC-SHA256"), body), dict(headers))

    print(f"{'FAILED: ' + ', '.join(FAILED) if FAILED else 'all checks passed'}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
