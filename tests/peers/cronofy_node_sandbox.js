#!/usr/bin/env node
// Drives the Cronofy sandbox with the npm `cronofy` package 3.8.4: the
// equivalents of pycronofy's README calls (listCalendars, readEvents followed
// page by page with `next_page`, freeBusy, createEvent, deleteEvent,
// refreshAccessToken, createNotificationChannel), each checked against what
// the sandbox holds; the channel's callback is a small HTTP server of this
// script on 127.0.0.1, which must get the signed `verification`
// notification (checked with the SDK's hmacValid). Not run by CI.
//
// Run (from the repository root):
//
//   cargo run --example sandbox --no-default-features \
//       --features timesync,cronofy,tls-ring,sandbox -- cronofy > /tmp/cronofy.env &
//   NODE_PATH=/tmp/bench/node_modules node tests/peers/cronofy_node_sandbox.js /tmp/cronofy.env
//
// Each driver wants a sandbox of its own (the refresh rotates the refresh
// token in the file). The file holds the example's `key=value` lines (base_url, client_id,
// client_secret, access_token, refresh_token, calendar_id); its calendar has
// 60 events from 2026-11-23T08:00:00Z, half an hour each, in pages of 25.
// The SDK has no base-URL option: `client.urls.api` is set after
// construction. Prints one line per check and exits 1 if any failed.
'use strict';
const fs = require('fs');
const http = require('http');
const Cronofy = require('cronofy');

const failed = [];

function check (name, ok, detail) {
  console.log((ok ? 'ok   ' : 'FAIL ') + name + (!ok && detail !== undefined ? ': ' + JSON.stringify(detail) : ''));
  if (!ok) failed.push(name);
}

async function attempt (name, call) {
  try {
    return await call();
  } catch (e) {
    check(name, false, `${e.statusCode || ''} ${e.message}`);
    return null;
  }
}

/** Every item of a list, following `pages.next_page` as the SDK's README shows. */
async function allPages (read, options, key) {
  let page = await read(options);
  const items = [...page[key]];
  const seen = [page.pages];
  while (page.pages.next_page) {
    page = await read({ ...options, next_page: page.pages.next_page });
    items.push(...page[key]);
    seen.push(page.pages);
  }
  return { items, seen };
}

/** A server on a free port of 127.0.0.1 answering 200 to every POST; `next()`
 * resolves with the next request's headers and body (or null after 10 s). */
async function callbackReceiver () {
  const received = [];
  const waiting = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      res.writeHead(200, { 'Content-Length': '0' });
      res.end();
      const note = { headers: req.headers, body };
      if (waiting.length) waiting.shift()(note); else received.push(note);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const next = () => received.length
    ? Promise.resolve(received.shift())
    : new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), 10000);
      waiting.push((note) => { clearTimeout(timer); resolve(note); });
    });
  return { url: `http://127.0.0.1:${server.address().port}/cronofy/notify`, next, close: () => server.close() };
}

async function main () {
  const env = Object.fromEntries(fs.readFileSync(process.argv[2], 'utf8')
    .split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]));
  const client = new Cronofy({
    client_id: env.client_id,
    client_secret: env.client_secret,
    access_token: env.access_token,
    refresh_token: env.refresh_token
  });
  client.urls.api = env.base_url;
  const calendar = env.calendar_id;

  const calendars = await attempt('listCalendars', () => client.listCalendars());
  if (calendars) check('listCalendars', calendars.calendars.map((c) => c.calendar_id).join() === calendar, calendars);

  // next_page with the caller's other options re-sent as a query string, as the SDK does.
  const read = (o) => client.readEvents(o);
  const events = await attempt('readEvents', () => allPages(read, { from: '2026-11-23', to: '2026-11-30', tzid: 'Etc/UTC' }, 'events'));
  if (events) {
    check('readEvents follows next_page', events.items.length === 60 && events.items[59].summary === 'Event 59', events.items.length);
    check('readEvents pages', events.seen.map((p) => `${p.current}/${p.total}`).join() === '1/3,2/3,3/3', events.seen);
  }
  const blocks = await attempt('freeBusy', () => allPages((o) => client.freeBusy(o), { from: '2026-11-23', to: '2026-11-30', tzid: 'Etc/UTC' }, 'free_busy'));
  if (blocks) check('freeBusy follows next_page', blocks.items.length === 60 && blocks.items.every((b) => b.free_busy_status === 'busy'), blocks.items.length);

  await attempt('createEvent', () => client.createEvent({
    calendar_id: calendar,
    event_id: 'node-1',
    summary: 'Made by cronofy-node',
    start: '2026-11-25T15:00:00Z',
    end: '2026-11-25T16:00:00Z',
    tzid: 'Europe/London'
  }));
  const managed = await attempt('readEvents only_managed', () => client.readEvents({ from: '2026-11-25', to: '2026-11-26', tzid: 'Etc/UTC', only_managed: true }));
  if (managed) check('createEvent reads back', managed.events.map((e) => e.event_id).join() === 'node-1' && managed.events[0].summary === 'Made by cronofy-node', managed.events);
  await attempt('deleteEvent', () => client.deleteEvent({ calendar_id: calendar, event_id: 'node-1' }));
  const deleted = await attempt('readEvents include_deleted', () => client.readEvents({ from: '2026-11-25', to: '2026-11-26', tzid: 'Etc/UTC', only_managed: true, include_deleted: true }));
  const mine = deleted && deleted.events.filter((e) => e.event_id === 'node-1');
  if (deleted) check('deleteEvent marks it deleted', mine.length === 1 && mine[0].deleted === true, deleted.events);

  const token = await attempt('refreshAccessToken', () => client.refreshAccessToken());
  if (token) {
    check('refreshAccessToken rotates both tokens', token.access_token !== env.access_token && token.refresh_token !== env.refresh_token && client.config.access_token === token.access_token, token);
    const again = await attempt('listCalendars with the new token', () => client.listCalendars());
    check('the new access token works', again !== null && again.calendars.length === 1);
  }

  const receiver = await callbackReceiver();
  const channel = await attempt('createNotificationChannel', () => client.createNotificationChannel({
    callback_url: receiver.url,
    filters: { calendar_ids: [calendar], only_managed: true }
  }));
  if (channel) {
    check('createNotificationChannel', channel.channel.channel_id.startsWith('chn_') && channel.channel.filters.only_managed === true, channel);
    const listed = await attempt('listNotificationChannels', () => client.listNotificationChannels());
    check('listNotificationChannels', listed !== null && listed.channels.length >= 1 && listed.channels.some((c) => c.channel_id === channel.channel.channel_id), listed);
    const note = await receiver.next();
    const body = note ? JSON.parse(note.body) : {};
    check('the callback gets the channel\'s verification', note !== null && body.notification && body.notification.type === 'verification' &&
      body.channel.channel_id === channel.channel.channel_id, note);
    check('the verification is signed (hmacValid)', note !== null && client.hmacValid({ hmac: note.headers['cronofy-hmac-sha256'], body: note.body }), note && note.headers);
  }
  receiver.close();

  console.log(failed.length ? 'FAILED: ' + failed.join(', ') : 'all checks passed');
  process.exit(failed.length ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
