// The demo page: one native EventSource for toasts, the order table, the progress bar and the
// activity list; htmx's SSE extension for the chat room. window.demo keeps what arrived, so a
// test (or you, in the console) can read it.
'use strict';

const demo = window.demo = {
  sessionId: sessionStorage.getItem('edge-demo-session') || Math.random().toString(36).slice(2, 10),
  settings: null,
  opens: 0,
  reconnects: 0,
  lastEventId: null,
  resumes: [],      // { before, after }: the last event id before a reconnect and the first after it
  gaps: [],
  received: [],     // { type, data, id } of every event, in order
  toasts: [],       // the text of every toast shown
};
sessionStorage.setItem('edge-demo-session', demo.sessionId);

const $ = id => document.getElementById(id);
let pendingResume = null;

function setBadge(state) {
  $('badge').className = 'badge badge-' + state;
  $('badge-state').textContent = state;
  $('badge-reconnects').textContent = String(demo.reconnects);
  $('badge-last').textContent = demo.lastEventId || 'none';
  const resume = demo.resumes[demo.resumes.length - 1];
  $('badge-resume').textContent = resume ? `resumed after ${resume.before || 'start'}, next ${resume.after}` : 'no resume yet';
}

function toast(kind, title, message, duration) {
  const element = document.createElement('div');
  element.className = 'toast toast-' + (['success', 'error', 'warning', 'info'].includes(kind) ? kind : 'info');
  if (title) {
    const heading = document.createElement('b');
    heading.textContent = title;
    element.append(heading);
  }
  element.append(document.createTextNode(message));
  $('toasts').append(element);
  while ($('toasts').children.length > 4) $('toasts').firstElementChild.remove();
  demo.toasts.push((title ? title + ': ' : '') + message);
  setTimeout(() => element.remove(), Number(duration) > 0 ? Number(duration) : 5000);
}

function activity(text) {
  const item = document.createElement('li');
  item.textContent = text;
  $('activity').prepend(item);
}

// Seed: notification toasts ({type, notificationType, title, message, duration}).
function onNotification(data) {
  toast(data.notificationType, data.title, data.message, data.duration);
}

// Seed: data updates ({type, entity, action, payload}); the table keeps one row per order.
function onUpdate(data) {
  if (data.entity !== 'order' || !data.payload) return;
  const id = String(data.payload.orderId);
  const body = $('orders').tBodies[0];
  let row = body.querySelector(`tr[data-order-id="${CSS.escape(id)}"]`);
  if (data.action === 'deleted') { row?.remove(); return; }
  if (!row) {
    row = body.insertRow(0);
    row.dataset.orderId = id;
    row.insertCell().textContent = '#' + id;
    row.insertCell().className = 'status';
    row.insertCell();
  }
  row.cells[1].textContent = data.payload.status;
  row.cells[2].textContent = data.payload.updatedAt ? new Date(data.payload.updatedAt).toLocaleTimeString() : '';
  row.classList.remove('flash'); void row.offsetWidth; row.classList.add('flash');
}

function onSyncProgress(text) {
  const value = Math.max(0, Math.min(100, parseInt(text, 10) || 0));
  $('sync-progress').value = value;
  $('sync-percent').textContent = value + '%';
}

const handlers = {
  notification: e => onNotification(JSON.parse(e.data)),
  update: e => onUpdate(JSON.parse(e.data)),
  syncProgress: e => onSyncProgress(e.data),
  syncMessage: e => { $('sync-message').textContent = e.data; },
  documentLocked: e => {
    const data = JSON.parse(e.data);
    if (data.session === demo.sessionId) { activity(`You locked ${data.stable_id}; the other sessions were told.`); return; }
    toast('warning', 'Document locked', `Document ${data.stable_id} is now being edited by ${data.locked_by}`);
    activity(`${data.stable_id} locked by ${data.locked_by}`);
  },
  pdfProcessed: e => {
    const data = JSON.parse(e.data);
    if (data.status === 'success') toast('success', 'PDF processed', `PDF processed: ${data.text_length} characters extracted`);
    else toast('error', 'PDF failed', `PDF processing failed: ${data.error}`);
    activity(`pdf ${data.pdf_id}: ${data.status}`);
  },
  i18n_debug: e => activity('i18n: ' + e.data),
};

function connect(settings) {
  const channels = settings.channels.filter(c => c !== settings.chatChannel).join(',');
  const url = `${settings.stream}?${settings.channelsQuery}=${encodeURIComponent(channels)}&${settings.sessionIdQuery}=${encodeURIComponent(demo.sessionId)}`;
  const source = new EventSource(url);
  source.onopen = () => {
    demo.opens++;
    if (demo.opens > 1) {
      demo.reconnects++;
      pendingResume = { before: demo.lastEventId, after: null };
    }
    setBadge('open');
  };
  source.onerror = () => setBadge(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  const keep = handler => e => {
    demo.received.push({ type: e.type, data: e.data, id: e.lastEventId });
    if (pendingResume) {
      pendingResume.after = e.lastEventId;
      demo.resumes.push(pendingResume);
      pendingResume = null;
    }
    demo.lastEventId = e.lastEventId;
    try { handler?.(e); } catch (error) { console.error('demo: cannot show', e.type, error); }
    setBadge('open');
  };
  for (const [type, handler] of Object.entries(handlers)) source.addEventListener(type, keep(handler));
  source.addEventListener('message', keep(null));
  source.addEventListener('edge-gap', keep(e => { demo.gaps.push(JSON.parse(e.data).reason); activity('gap signal: ' + e.data); }));
  demo.source = source;
}

// htmx's SSE extension swaps HTML fragments in: the chat room appends each line (the seed's chat
// room), the task box replaces its status, percent and bar (the seed's progress tracker).
function connectHtmx(element, settings, channel) {
  element.setAttribute('hx-ext', 'sse');
  element.setAttribute('sse-connect', `${settings.stream}?${settings.channelsQuery}=${encodeURIComponent(channel)}`);
  if (window.htmx) {
    htmx.process(element);
  } else {
    element.textContent = 'htmx is missing: build the edge with npm installed (see the README).';
  }
}

function connectChat(settings) {
  const room = $('chat-room');
  room.setAttribute('sse-swap', 'message');
  room.setAttribute('hx-swap', 'beforeend');
  room.addEventListener('htmx:afterSwap', () => { room.scrollTop = room.scrollHeight; });
  connectHtmx(room, settings, settings.chatChannel);
}

async function publish(envelopes) {
  const response = await fetch(demo.settings.publishPath, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(envelopes),
  });
  $('publish-status').textContent = response.ok ? `published ${envelopes.length} event(s)` : `publish failed: ${response.status} ${await response.text()}`;
  return response.ok;
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));

// The order lifecycle of the seeds: an update per status, a toast when it ships.
async function shipOrder() {
  const orderId = 10000 + Math.floor(Math.random() * 90000);
  const update = (action, status) => ({
    channel: 'orders', event: 'update',
    data: { type: 'update', entity: 'order', action, payload: { orderId, status, updatedAt: new Date().toISOString() } },
  });
  await publish([update('created', 'placed'), { channel: 'orders', event: 'notification', data: { type: 'notification', notificationType: 'info', title: 'New order', message: `Order #${orderId} placed` } }]);
  await sleep(700);
  await publish([update('updated', 'paid')]);
  await sleep(700);
  await publish([update('updated', 'shipped'), { channel: 'orders', event: 'notification', data: { type: 'notification', notificationType: 'success', title: 'Order Completed', message: `Your order #${orderId} has been shipped`, duration: 6000 } }]);
}

// Seed: syncProgress goes to one session only (the channel plus this page's sessionId).
async function startSync() {
  for (let percent = 0; percent <= 100; percent += 10) {
    const events = [{ channel: 'tasks.demo', sessionId: demo.sessionId, event: 'syncProgress', data: String(percent) }];
    events.push({ channel: 'tasks.demo', sessionId: demo.sessionId, event: 'syncMessage', data: percent < 100 ? `Processing file-${percent / 10 + 1}.md` : 'Sync complete' });
    if (!await publish(events)) return;
    await sleep(250);
  }
}

// The htmx progress tracker's three events, as the CLI's task-progress scenario sends them.
async function runTask() {
  for (let percent = 0; percent <= 100; percent += 20) {
    const ok = await publish([
      { channel: 'tasks.demo', event: 'status', data: percent < 100 ? `Processing step ${percent / 20 + 1}` : 'Done' },
      { channel: 'tasks.demo', event: 'percent', data: `${percent}%` },
      { channel: 'tasks.demo', event: 'bar', data: `<div id="progress-bar" style="width: ${percent}%"></div>` },
    ]);
    if (!ok) return;
    await sleep(300);
  }
}

async function lockDocument() {
  await publish([{ channel: 'documents', event: 'documentLocked', data: { stable_id: 'doc-1', locked_by: 'tab ' + demo.sessionId.slice(0, 4), session: demo.sessionId } }]);
}

async function start() {
  $('session-id').textContent = demo.sessionId;
  $('cli-hint').textContent = `dotnet run --project src/Publisher.Samples -- http sync --session ${demo.sessionId}`;
  $('ship-order').addEventListener('click', shipOrder);
  $('start-sync').addEventListener('click', startSync);
  $('lock-document').addEventListener('click', lockDocument);
  $('run-task').addEventListener('click', runTask);
  const response = await fetch('/_edge/demo/settings');
  demo.settings = await response.json();
  connect(demo.settings);
  connectChat(demo.settings);
  // The swap targets get their attributes here, with the connection: htmx registers an element's
  // sse-swap when it processes it, against the sse-connect around it at that moment.
  $('task-status').setAttribute('sse-swap', 'status');
  $('task-percent').setAttribute('sse-swap', 'percent');
  $('task-track').setAttribute('sse-swap', 'bar');
  connectHtmx($('task'), demo.settings, 'tasks.demo');
}

start().catch(error => { $('publish-status').textContent = 'demo failed to start: ' + error; });
