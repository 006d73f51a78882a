#!/usr/bin/env python3
"""Drives the Zendesk sandbox with zenpy 2.0.57, pointed at it the way zenpy's
own tests point it at a recording proxy: ZENPY_FORCE_NETLOC=127.0.0.1:<port>
and ZENPY_FORCE_SCHEME=http. Checks the ticket lists in both paging styles,
ticket create / update / delete, create_many with its job status, users and
organizations, search and search export, the incremental exports (cursor and
time based) and side-loads, with email + API token and with an OAuth token.
Not run by CI.

Run (from the repository root):

    cargo run --example sandbox --no-default-features \\
        --features zendesk,tls-ring,sandbox -- zendesk > /tmp/zendesk.env &
    /tmp/peers-venv/bin/python tests/peers/zenpy_sandbox.py /tmp/zendesk.env

The file holds the example's `key=value` lines (netloc, subdomain, email,
api_token, oauth_token and the seeded counts: 1,100 tickets asked by 20 end
users of 5 organizations, and the admin). Each run wants a fresh sandbox (it
creates and deletes records). Prints one line per check and exits 1 if any
failed.
"""
import base64
import hashlib
import hmac
import http.server
import json
import os
import queue
import sys
import threading

FAILED = []
PASSED = []


def check(name, ok, detail=""):
    print(("ok   " if ok else "FAIL ") + name + (f": {detail}" if detail and not ok else ""))
    (PASSED if ok else FAILED).append(name)


def attempt(name, call):
    try:
        return call()
    except Exception as e:  # the peer's own error types, shown as they are
        check(name, False, f"{type(e).__name__}: {e}")
        return None


def finish(zen, job):
    """Reads a job's status until it completes (it moves one stage per read)."""
    for _ in range(5):
        if job is None or job.status == "completed":
            return job
        job = attempt("job_status", lambda: zen.job_status(id=job.id))
    return job


def receiver():
    """A server on a free port of 127.0.0.1 that answers 200 to every POST and
    queues (headers, body); returns (url, queue)."""
    received = queue.Queue()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.put((self.headers, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", received


def webhook_checks(zen):
    from zenpy.lib.api_objects import Ticket, Webhook

    url, received = receiver()
    hook = attempt("webhooks.create", lambda: zen.webhooks.create(Webhook(
        name="zenpy hook", endpoint=url, http_method="POST", request_format="json", status="active",
        subscriptions=["conditional_ticket_events"],
        authentication={"type": "bearer_token", "data": {"token": "hook-token"}, "add_position": "header"})))
    if hook is None:
        return
    check("webhooks.create answers it without the token", hook.name == "zenpy hook"
          and "token" not in (hook.authentication or {}).get("data", {}), hook.to_dict())
    listed = attempt("webhooks.list", lambda: [w.id for w in zen.webhooks.list(filter="zenpy")])
    check("webhooks.list filters by name", listed == [hook.id], listed)
    secret = attempt("webhooks.show_secret", lambda: zen.webhooks.show_secret(hook))
    secret = secret and secret.secret
    attempt("tickets.create (webhook)", lambda: zen.tickets.create(Ticket(subject="Hooked", description="Ring")))
    try:
        headers, body = received.get(timeout=10)
    except queue.Empty:
        check("a ticket creation is delivered to the webhook", False, "nothing came")
    else:
        stamp = headers.get("X-Zendesk-Webhook-Signature-Timestamp", "")
        expected = base64.b64encode(hmac.new(secret.encode(), stamp.encode() + body, hashlib.sha256).digest()).decode()
        event = json.loads(body)
        check("a ticket creation is delivered to the webhook", event["type"] == "zen:event-type:ticket.created"
              and event["detail"]["subject"] == "Hooked", event)
        check("the delivery is signed with the signing secret",
              headers.get("X-Zendesk-Webhook-Signature") == expected, dict(headers))
        check("the delivery carries the webhook's bearer token",
              headers.get("Authorization") == "Bearer hook-token", dict(headers))
    reset = attempt("webhooks.reset_secret", lambda: zen.webhooks.reset_secret(hook))
    check("webhooks.reset_secret changes it", reset is not None and reset.secret != secret)
    hook.name = "zenpy hook renamed"
    attempt("webhooks.patch", lambda: zen.webhooks.patch(hook))
    shown = attempt("webhooks(id=)", lambda: zen.webhooks(id=hook.id))
    check("webhooks.patch renames it", shown is not None and shown.name == "zenpy hook renamed")
    # zenpy reads the answer's `response` object.
    tested = attempt("webhooks.test", lambda: zen.webhooks.test(hook))
    check("webhooks.test answers the endpoint's answer", tested is not None
          and tested.status_code == 200, tested and tested.to_dict())
    attempt("webhooks.delete", lambda: zen.webhooks.delete(hook))
    left = attempt("webhooks.list (after delete)", lambda: list(zen.webhooks.list()))
    check("webhooks.delete removes it", left == [], left)


def main():
    env = dict(line.strip().split("=", 1) for line in open(sys.argv[1]) if "=" in line)
    # Read by zenpy each time it builds a URL.
    os.environ["ZENPY_FORCE_NETLOC"] = env["netloc"]
    os.environ["ZENPY_FORCE_SCHEME"] = "http"
    from zenpy import Zenpy
    from zenpy.lib.api_objects import Organization, Ticket, User
    from zenpy.lib.exception import APIException, RecordNotFoundException

    zen = Zenpy(subdomain=env["subdomain"], email=env["email"], token=env["api_token"], disable_cache=True)
    seen = []  # every URL zenpy asked for, through a response hook on its session
    zen.users.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request.url))
    total = int(env["tickets"])

    # Tickets, cursor paging (zenpy's default: page[size]=100, follows links.next).
    before = len(seen)
    ids = attempt("tickets (cursor)", lambda: [t.id for t in zen.tickets()])
    if ids is not None:
        check("tickets (cursor) lists every ticket in id order", ids == list(range(1, total + 1)), f"{len(ids)} tickets")
        pages = [u for u in seen[before:] if "/tickets.json" in u]
        check("tickets (cursor) takes pages of page[size]=100",
              len(pages) == -(-total // 100) and all("page%5Bsize%5D=100" in u or "page[size]=100" in u for u in pages),
              pages)

    # Tickets, offset paging (follows next_page).
    ids = attempt("tickets (offset)", lambda: [t.id for t in zen.tickets(cursor_pagination=False)])
    if ids is not None:
        check("tickets (offset) lists every ticket", sorted(ids) == list(range(1, total + 1)), f"{len(ids)} tickets")
    sliced = attempt("tickets (offset slice)", lambda: [t.id for t in zen.tickets(cursor_pagination=False)[150:160]])
    if sliced is not None:
        check("tickets (offset slice) reads the right page", sliced == list(range(151, 161)), sliced)

    # Create, update, delete.
    audit = attempt("tickets.create", lambda: zen.tickets.create(
        Ticket(subject="Printer on fire", description="The smoke is very colorful.", priority="urgent", tags=["zenpy"])))
    ticket = audit.ticket if audit is not None else None
    if ticket is not None:
        check("tickets.create answers the new ticket", ticket.id == total + 1 and ticket.subject == "Printer on fire"
              and ticket.status == "new" and ticket.priority == "urgent", ticket.to_dict())
        ticket.subject = "Printer still on fire"
        ticket.status = "open"
        updated = attempt("tickets.update", lambda: zen.tickets.update(ticket))
        if updated is not None:
            check("tickets.update answers the changed ticket", updated.ticket.subject == "Printer still on fire"
                  and updated.ticket.status == "open", updated.ticket.to_dict())
        again = attempt("tickets(id=)", lambda: zen.tickets(id=ticket.id))
        if again is not None:
            check("tickets(id=) reads the change back", again.subject == "Printer still on fire", again.to_dict())
        attempt("tickets.delete", lambda: zen.tickets.delete(ticket))
        try:
            zen.tickets(id=ticket.id)
            check("a deleted ticket is not found", False, "still there")
        except RecordNotFoundException:
            check("a deleted ticket is not found", True)
        except Exception as e:
            check("a deleted ticket is not found", False, f"{type(e).__name__}: {e}")

    # create_many and its job status.
    job = attempt("tickets.create (many)", lambda: zen.tickets.create(
        [Ticket(subject=f"Bulk {i}", description=f"Bulk ticket {i}") for i in range(3)]))
    if job is not None:
        check("create_many answers a queued job", job.status == "queued" and job.total == 3, job.to_dict())
        statuses = []
        for _ in range(5):
            job = attempt("job_status", lambda: zen.job_status(id=job.id))
            if job is None:
                break
            statuses.append(job.status)
            if job.status == "completed":
                break
        check("the job goes queued -> working -> completed", statuses == ["working", "completed"], statuses)
        if job is not None and job.status == "completed":
            results = job.results or []
            created = [r.id for r in results]
            check("the job's results name each new ticket", len(results) == 3
                  and [r.index for r in results] == [0, 1, 2] and all(r.success for r in results), [r.to_dict() for r in results])
            subjects = attempt("tickets(ids=)", lambda: sorted(t.subject for t in zen.tickets(ids=created)))
            check("the bulk tickets exist", subjects == ["Bulk 0", "Bulk 1", "Bulk 2"], subjects)

    # Users.
    users = attempt("users", lambda: list(zen.users()))
    if users is not None:
        check("users lists the admin and the end users", len(users) == int(env["users"]), len(users))
    me = attempt("users.me", zen.users.me)
    if me is not None:
        check("users.me is the admin", me.email == env["email"] and me.role == "admin", me.to_dict())
    user = attempt("users.create", lambda: zen.users.create(User(name="Zen Py", email="zenpy@example.com")))
    if user is not None:
        check("users.create answers the user", user.id is not None and user.role == "end-user", user.to_dict())
        user.notes = "made by zenpy"
        changed = attempt("users.update", lambda: zen.users.update(user))
        check("users.update answers the change", changed is not None and changed.notes == "made by zenpy")
        try:
            zen.users.create(User(name="Again", email="zenpy@example.com"))
            check("a second user with the same email is refused", False, "created")
        except APIException as e:
            check("a second user with the same email is refused", "DuplicateValue" in str(e), str(e))
        attempt("users.delete", lambda: zen.users.delete(user))

    # Organizations.
    orgs = attempt("organizations", lambda: list(zen.organizations()))
    if orgs is not None:
        check("organizations lists them", len(orgs) == int(env["organizations"]), len(orgs))
    org = attempt("organizations.create", lambda: zen.organizations.create(Organization(name="Zenpy Inc")))
    if org is not None:
        check("organizations.create answers it", org.name == "Zenpy Inc", org.to_dict())
        org.details = "from zenpy"
        changed = attempt("organizations.update", lambda: zen.organizations.update(org))
        check("organizations.update answers the change", changed is not None and changed.details == "from zenpy")
        attempt("organizations.delete", lambda: zen.organizations.delete(org))

    # Search and search export.
    found = attempt("search", lambda: list(zen.search(type="ticket", status="open")))
    if found is not None:
        check("search type:ticket status:open", len(found) == total // 5 and all(t.status == "open" for t in found), len(found))
    words = attempt("search (words)", lambda: [t.id for t in zen.search("\"Seeded ticket number 42\"", type="ticket")])
    check("search finds a phrase", words == [42], words)
    # Past 1,000 results Zendesk answers 422; zenpy logs it and stops there.
    capped = attempt("search (over 1,000)", lambda: zen.search(type="ticket"))
    if capped is not None:
        check("search reports every match in its count", len(capped) >= total, len(capped))
        got = attempt("search (over 1,000) pages", lambda: [t.id for t in capped])
        check("search stops at the 1,000-result limit", got is not None and len(got) == 1000, got and len(got))
    count = attempt("search.count", lambda: zen.search.count(type="ticket", status="open"))
    check("search.count", count == total // 5, count)
    exported = attempt("search_export", lambda: list(zen.search_export(type="ticket", status="pending")))
    if exported is not None:
        check("search_export follows the cursor", len(exported) == total // 5, len(exported))

    # Incremental exports.
    cursor_ids = attempt("tickets.incremental (cursor)", lambda: [t.id for t in zen.tickets.incremental(start_time=0)])
    if cursor_ids is not None:
        check("tickets.incremental (cursor) ends on end_of_stream", len(cursor_ids) >= total and 1 in cursor_ids,
              len(cursor_ids))
    timed = attempt("tickets.incremental (time)", lambda: [t.id for t in zen.tickets.incremental(
        start_time=0, paginate_by_time=True, per_page=100)])
    if timed is not None:
        check("tickets.incremental (time)", len(set(timed)) >= total, len(timed))
    people = attempt("users.incremental", lambda: list(zen.users.incremental(start_time=0)))
    if people is not None:
        check("users.incremental", len(people) >= int(env["users"]), len(people))

    events = attempt("tickets.events", lambda: list(zen.tickets.events(start_time=0)))
    if events is not None:
        check("tickets.events has an event per change", len(events) >= total
              and all(e.event_type == "Audit" for e in events), len(events))
    orgs_changed = attempt("organizations.incremental", lambda: list(zen.organizations.incremental(start_time=0)))
    if orgs_changed is not None:
        check("organizations.incremental", len(orgs_changed) >= int(env["organizations"]), len(orgs_changed))

    # Groups, comments, tags, bulk update and delete, merge.
    groups = attempt("groups", lambda: list(zen.groups()))
    check("groups", groups is not None and len(groups) == int(env["groups"]), groups and len(groups))
    comments = attempt("tickets.comments", lambda: list(zen.tickets.comments(ticket=7)))
    check("tickets.comments", comments is not None and [c.body for c in comments] == ["Seeded ticket number 7"],
          comments and [c.to_dict() for c in comments])
    tags = attempt("tickets.add_tags", lambda: zen.tickets.add_tags(7, ["vip"]))
    check("tickets.add_tags", tags is not None and "vip" in tags, tags)
    tags = attempt("tickets.delete_tags", lambda: zen.tickets.delete_tags(7, ["vip"]))
    listed = attempt("tickets.tags", lambda: [t for t in zen.tickets.tags(7)])
    check("tickets.delete_tags removes it", listed is not None and "vip" not in [str(t) for t in listed], listed)
    seven, eight = zen.tickets(id=7), zen.tickets(id=8)
    seven.priority = eight.priority = "low"
    job = attempt("tickets.update (many)", lambda: zen.tickets.update([seven, eight]))
    job = finish(zen, job)
    if job is not None:
        check("update_many's results", [(r.id, r.success) for r in job.results] == [(7, True), (8, True)],
              [r.to_dict() for r in job.results])
        check("update_many applied the change", zen.tickets(id=8).priority == "low")
    job = finish(zen, attempt("tickets.delete (many)", lambda: zen.tickets.delete([zen.tickets(id=9), zen.tickets(id=10)])))
    if job is not None:
        check("destroy_many's results", [r.status for r in job.results] == ["Deleted", "Deleted"],
              [r.to_dict() for r in job.results])
    job = finish(zen, attempt("tickets.merge", lambda: zen.tickets.merge(11, [12])))
    if job is not None:
        check("merge closes the source", zen.tickets(id=12).status == "closed", zen.tickets(id=12).status)

    # Webhooks, and a signed delivery to a server of this script.
    webhook_checks(zen)

    # Side-loads: the requester comes with the tickets, no request of its own.
    cached = Zenpy(subdomain=env["subdomain"], oauth_token=env["oauth_token"])
    asked = []
    cached.users.session.hooks["response"].append(lambda r, *a, **k: asked.append(r.request.url))
    first = attempt("tickets(include=users)", lambda: next(iter(cached.tickets(include=["users"]))))
    if first is not None:
        before = len(asked)
        name = attempt("ticket.requester", lambda: first.requester.name)
        check("side-loaded users need no request", name is not None and len(asked) == before
              and "include=users" in asked[0], asked)
    mine = attempt("oauth token", lambda: cached.users.me())
    check("an OAuth token works", mine is not None and mine.email == env["email"])

    print(f"{len(PASSED)} passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
