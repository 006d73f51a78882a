#!/usr/bin/env python3
"""Drives the Graph sandbox with O365 2.1.10 (PyPI): the inbox listed (all
of it through @odata.nextLink, and with a limit) and a message read, a
message sent (to another user of the sandbox, then found in Sent Items and
in their inbox), a calendar event created in a time zone and found again
(through the calendar's events and its calendarView), the OneDrive root
listed, a small file uploaded and downloaded, and a 6 MB file uploaded
through an upload session in O365's 5 MiB fragments and downloaded. Not
run by CI.

Run (from the repository root):

    cargo run --example sandbox --no-default-features \\
        --features timesync,cronofy,graph,tls-ring,sandbox -- graph > /tmp/graph.env &
    /tmp/peers-venv/bin/python tests/peers/o365_sandbox.py /tmp/graph.env

The file holds the example's `key=value` lines (base_url, user,
access_token, refresh_token). O365 is pointed at the sandbox with a
`MSGraphProtocol` whose `_protocol_url` is the base URL (O365 appends
`v1.0/`) and a `MemoryTokenBackend` holding the sandbox's token, so no
login host is asked. Prints one line per check and exits 1 if any failed.
"""
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from O365 import Account
from O365.connection import MSGraphProtocol
from O365.utils.token import MemoryTokenBackend

FAILED = []
PASSED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    (PASSED if ok else FAILED).append(name)


def attempt(name, call):
    try:
        return call()
    except Exception as e:  # the peer's own error types, shown as they are
        check(name, False, f"{type(e).__name__}: {e} {getattr(getattr(e, 'response', None), 'text', '')}")
        return None


def account_for(env):
    class SandboxProtocol(MSGraphProtocol):
        _protocol_url = env["base_url"].rstrip("/") + "/"

    backend = MemoryTokenBackend()
    backend.add({
        "client_id": "sandbox-client",
        "scope": ["https://graph.microsoft.com/Mail.ReadWrite"],
        # msal keys its cache by an https authority; no request goes there
        # while the access token is valid.
        "token_endpoint": "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "response": {
            "token_type": "Bearer",
            "access_token": env["access_token"],
            "refresh_token": env["refresh_token"],
            "expires_in": 3600,
            "ext_expires_in": 3600,
        },
    }, now=time.time())
    return Account(("sandbox-client", "sandbox-secret"), protocol=SandboxProtocol(),
                   token_backend=backend, requests_delay=0, timezone="UTC")


def mail(account):
    mailbox = account.mailbox()
    inbox = mailbox.inbox_folder()
    everything = attempt("list inbox", lambda: list(inbox.get_messages(limit=None, batch=10)))
    if everything is not None:
        check("inbox holds the 25 seeded messages, read over 3 pages of 10", len(everything) == 25, str(len(everything)))
        subjects = [m.subject for m in everything]
        check("inbox is newest first", subjects[:2] == ["Welcome message 1", "Welcome message 2"], str(subjects[:2]))
    some = attempt("list inbox with a limit", lambda: list(inbox.get_messages(limit=7, batch=3)))
    if some is not None:
        check("a limit of 7 stops after 7 messages", len(some) == 7, str(len(some)))
    if everything:
        first = everything[0]
        read = attempt("read a message", lambda: mailbox.get_message(object_id=first.object_id))
        if read is not None:
            check("the message read has its subject and body",
                  read.subject == "Welcome message 1" and "message 1 of your sandbox inbox" in (read.body or ""),
                  f"{read.subject!r} {read.body!r}")
            check("the message's sender is read", read.sender.address == "megan@contoso.com", str(read.sender))
    message = mailbox.new_message()
    message.to.add("megan@contoso.com")
    message.subject = "Hello from O365"
    message.body = "Sent through the sandbox."
    sent = attempt("send mail", lambda: message.send())
    check("send mail answers success", sent is True, repr(sent))
    sent_items = attempt("list sent items", lambda: list(mailbox.sent_folder().get_messages(limit=5)))
    if sent_items is not None:
        check("the sent message is in Sent Items",
              any(m.subject == "Hello from O365" for m in sent_items), str([m.subject for m in sent_items]))
    unread = attempt("filter the inbox", lambda: list(inbox.get_messages(
        limit=50, query=inbox.new_query().equals("isRead", False))))
    if unread is not None:
        check("a $filter on isRead keeps the 13 unread messages", len(unread) == 13, str(len(unread)))


def calendar(account):
    schedule = account.schedule()
    cal = attempt("get the default calendar", schedule.get_default_calendar)
    if cal is None:
        return
    check("the default calendar is 'Calendar'", cal.name == "Calendar", cal.name)
    # O365 sends the zone by its Windows name, Pacific Standard Time.
    start = dt.datetime(2030, 7, 1, 9, 30, tzinfo=ZoneInfo("America/Los_Angeles"))
    event = cal.new_event()
    event.subject = "O365 planning"
    event.start = start
    event.end = start + dt.timedelta(hours=1)
    event.body = "Agenda"
    saved = attempt("create an event", event.save)
    check("the event is created with an id", bool(saved) and bool(event.object_id), repr(saved))
    listed = attempt("list the calendar's events", lambda: list(cal.get_events(limit=25, include_recurring=False)))
    if listed is not None:
        found = [e for e in listed if e.subject == "O365 planning"]
        check("the event is listed", len(found) == 1, str([e.subject for e in listed]))
        if found:
            got = found[0].start.astimezone(ZoneInfo("UTC"))
            check("its start is 16:30 UTC", got == dt.datetime(2030, 7, 1, 16, 30, tzinfo=ZoneInfo("UTC")), str(got))
    utc = ZoneInfo("UTC")
    view = attempt("list the calendar view", lambda: list(cal.get_events(
        limit=25, include_recurring=True,
        start_recurring=dt.datetime(2030, 7, 1, 0, 0, tzinfo=utc),
        end_recurring=dt.datetime(2030, 7, 2, 0, 0, tzinfo=utc))))
    if view is not None:
        check("the calendar view of July 1 holds the event",
              [e.subject for e in view] == ["O365 planning"], str([e.subject for e in view]))


def drive(account):
    storage = account.storage()
    default = attempt("get the default drive", storage.get_default_drive)
    if default is None:
        return
    root = attempt("get the root folder", default.get_root_folder)
    if root is None:
        return
    items = attempt("list the root", lambda: list(root.get_items()))
    if items is not None:
        names = sorted(i.name for i in items)
        check("the root holds Documents and Welcome.txt", names == ["Documents", "Welcome.txt"], str(names))
    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "notes.txt"
        small.write_bytes(b"notes from O365\n")
        uploaded = attempt("upload a small file", lambda: root.upload_file(small))
        check("the small file is uploaded", uploaded is not None and uploaded.name == "notes.txt",
              getattr(uploaded, "name", None))
        if uploaded is not None:
            out = Path(tmp) / "down"
            out.mkdir()
            done = attempt("download the small file", lambda: uploaded.download(to_path=out))
            got = (out / "notes.txt").read_bytes() if (out / "notes.txt").exists() else None
            check("the small file downloads as uploaded", done is not False and got == b"notes from O365\n", repr(got))
        big = Path(tmp) / "big.bin"
        content = bytes(range(256)) * (6 * 1024 * 4)  # 6 MiB: above O365's 4 MB simple limit
        big.write_bytes(content)
        large = attempt("upload a 6 MiB file through an upload session", lambda: root.upload_file(big))
        check("the large file is uploaded", large is not None and large.name == "big.bin",
              getattr(large, "name", None))
        if large is not None:
            check("its size is 6 MiB", large.size == len(content), str(large.size))
            out = Path(tmp) / "down-big"
            out.mkdir()
            attempt("download the large file", lambda: large.download(to_path=out))
            got = (out / "big.bin").read_bytes() if (out / "big.bin").exists() else None
            check("the large file downloads as uploaded", got == content, str(len(got or b"")))


def main():
    env = dict(line.strip().split("=", 1) for line in open(sys.argv[1]) if "=" in line)
    account = account_for(env)
    check("the token is picked up", account.is_authenticated)
    mail(account)
    calendar(account)
    drive(account)
    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
