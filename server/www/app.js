// SPDX-License-Identifier: ISC
//
// The sink's page: the list of caught mail (newest first, live from
// Server-Sent Events at /api/events), a search with Mailpit's syntax, one
// message with HTML / Text / Headers / Raw tabs, attachments, delete.
// It speaks only the Mailpit-compatible API inletd serves (/api/v1/...).
//
// Mail is hostile input.  Nothing from a message is ever parsed as HTML
// in this page: text goes in through textContent only, and the message's
// HTML is shown by the browser in a sandboxed <iframe> (no scripts, an
// opaque origin) loading /view/ID.html, which inletd serves with a CSP
// that forbids scripts.  The page itself runs under script-src 'self';
// style-src 'self': no inline script, no inline style.
'use strict';

(function () {
  const PAGE = 50;                 // messages per page
  const RAW_SHOW_MAX = 2 * 1024 * 1024;  // larger sources: download only
  const POLL_MS = 10000;           // refetch period while events are down

  const state = {
    messages: [],     // the summaries on this page
    total: 0,         // messages_count: all, or the search's matches
    unread: 0,
    start: 0,
    query: '',
    cursor: -1,       // the index in messages the keyboard is on
    cursorId: null,   // the message there once the user has moved it
    openId: null,     // the message shown
    open: null,       // its JSON
    tab: 'html',      // the tab shown
    wantTab: 'html',  // the tab the user last picked
    listGen: 0,       // answers to older list requests are dropped
    openGen: 0,
    refetchTimer: null,
    pollTimer: null,
  };

  const $ = (id) => document.getElementById(id);

  // el - an element with attributes and children; strings become text
  // nodes (never markup).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return e;
  }

  // ---- the API ---------------------------------------------------------

  async function api(method, path, body) {
    const opts = { method, headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    const r = await fetch(path, opts);
    if (!r.ok) {
      let why = r.status + ' ' + r.statusText;
      try {
        const t = (await r.text()).trim();
        if (t) why += ': ' + t.slice(0, 300);
      } catch (e) { /* the status says enough */ }
      throw new Error(why);
    }
    const type = r.headers.get('Content-Type') || '';
    return type.includes('json') ? r.json() : r.text();
  }

  const enc = encodeURIComponent;
  // An ID is a Maildir name, e.g. 1796420813.M416234P32132Q0.host,S=263:
  // ',' and '=' may stand in a path segment (RFC 3986 sub-delims) and
  // go as they are; anything else unusual is escaped.
  const encId = (id) => enc(id).replace(/%2C/gi, ',').replace(/%3D/gi, '=');
  const messagePath = (id) => '/api/v1/message/' + encId(id);

  // ---- formatting ----------------------------------------------------------

  function addr(a) {
    if (!a) return '';
    if (a.Name && a.Address) return a.Name + ' <' + a.Address + '>';
    return a.Name || a.Address || '';
  }

  function addrs(list) {
    return (list || []).map(addr).filter(Boolean).join(', ');
  }

  function shortAddrs(list) {
    return (list || []).map((a) => a.Name || a.Address).filter(Boolean).join(', ');
  }

  function size(n) {
    n = Number(n) || 0;
    if (n < 1024) return n + ' B';
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + ' KiB';
    return (n / 1024 / 1024).toFixed(1) + ' MiB';
  }

  function when(iso, long) {
    const d = new Date(iso);
    if (isNaN(d)) return iso || '';
    if (long) return d.toLocaleString();
    const now = new Date();
    if (d.toDateString() === now.toDateString())
      return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
    return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
  }

  function toast(text) {
    const t = $('toast');
    t.textContent = text;
    t.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.hidden = true; }, 4000);
  }

  function showError(e) {
    const p = $('error');
    if (!e) { p.hidden = true; p.textContent = ''; return; }
    p.textContent = String(e.message || e);
    p.hidden = false;
  }

  // ---- the list ----------------------------------------------------------

  async function loadList() {
    const gen = ++state.listGen;
    const q = state.query;
    const path = q
      ? '/api/v1/search?query=' + enc(q) + '&start=' + state.start + '&limit=' + PAGE
      : '/api/v1/messages?start=' + state.start + '&limit=' + PAGE;
    try {
      const r = await api('GET', path);
      if (gen !== state.listGen) return;
      state.messages = Array.isArray(r.messages) ? r.messages : [];
      state.total = Number(r.messages_count ?? r.total ?? state.messages.length);
      state.unread = Number(r.unread ?? 0);
      if (state.start > 0 && state.messages.length === 0 && state.total > 0) {
        state.start = Math.max(0, Math.floor((state.total - 1) / PAGE) * PAGE);
        return loadList();
      }
      showError(null);
      renderList();
    } catch (e) {
      if (gen === state.listGen) showError(e);
    }
  }

  // refetchSoon - one list request for a burst of events.
  function refetchSoon() {
    if (state.refetchTimer) return;
    state.refetchTimer = setTimeout(() => {
      state.refetchTimer = null;
      loadList();
    }, 150);
  }

  function renderStats() {
    const s = state.query
      ? state.total + (state.total === 1 ? ' match' : ' matches')
      : state.total + (state.total === 1 ? ' message' : ' messages') +
        (state.unread ? ', ' + state.unread + ' unread' : '');
    $('stats').textContent = s;
    const first = state.messages.length ? state.start + 1 : 0;
    const last = state.start + state.messages.length;
    $('range').textContent = first + '\u2013' + last + ' of ' + state.total;
    $('prev').disabled = state.start === 0;
    $('next').disabled = last >= state.total;
    $('delete-all').textContent = state.query ? 'Delete matches' : 'Delete all';
    $('delete-all').disabled = state.total === 0;
    document.title = (state.unread ? '(' + state.unread + ') ' : '') + 'inlet sink';
  }

  function listItem(m, i) {
    const li = el('li', {
      id: 'msg-' + i,
      role: 'option',
      class: 'item' + (m.Read ? '' : ' unread'),
      'aria-selected': i === state.cursor ? 'true' : 'false',
      'data-id': m.ID,
    },
    el('span', { class: 'from' }, addr(m.From) ? (m.From.Name || m.From.Address) : '(no sender)'),
    el('time', { class: 'date', datetime: m.Created, title: when(m.Created, true) }, when(m.Created)),
    el('span', { class: 'subj' }, m.Subject || '(no subject)'),
    el('span', { class: 'to' }, shortAddrs(m.To) ? 'to ' + shortAddrs(m.To) : ''),
    el('span', { class: 'snippet' }, m.Snippet || ''),
    m.Attachments ? el('span', { class: 'clip' },
      m.Attachments + (m.Attachments === 1 ? ' attachment' : ' attachments')) : null);
    li.setAttribute('aria-label', (m.Read ? '' : 'unread, ') + 'from ' +
      (addr(m.From) || 'nobody') + ', ' + (m.Subject || 'no subject') + ', ' +
      when(m.Created, true));
    if (m.ID === state.openId) li.classList.add('open');
    li.addEventListener('click', () => { setCursor(i); openMessage(m.ID); });
    return li;
  }

  function renderList() {
    const ul = $('list');
    // The cursor stays on the message the user put it on; until then,
    // and when that one is gone, it is on the newest.
    const at = state.messages.findIndex((m) => m.ID === state.cursorId);
    if (at >= 0) state.cursor = at;
    else state.cursor = Math.min(Math.max(state.cursor, 0), state.messages.length - 1);
    ul.replaceChildren(...state.messages.map(listItem));
    ul.setAttribute('aria-activedescendant', state.cursor >= 0 ? 'msg-' + state.cursor : '');
    $('empty').hidden = state.messages.length !== 0;
    $('empty').textContent = state.query ? 'Nothing matches this search.'
      : 'No messages yet. Send one to the sink\u2019s SMTP port and it shows up here.';
    renderStats();
  }

  function setCursor(i) {
    if (!state.messages.length) return;
    i = Math.max(0, Math.min(state.messages.length - 1, i));
    const ul = $('list');
    const old = ul.children[state.cursor];
    if (old) old.setAttribute('aria-selected', 'false');
    state.cursor = i;
    state.cursorId = state.messages[i].ID;
    const li = ul.children[i];
    li.setAttribute('aria-selected', 'true');
    ul.setAttribute('aria-activedescendant', li.id);
    li.scrollIntoView({ block: 'nearest' });
  }

  // ---- one message -------------------------------------------------------

  function showPane(open) {
    $('message-pane').hidden = !open;
    $('placeholder').hidden = open;
    document.body.classList.toggle('reading', open);
  }

  async function openMessage(id) {
    const gen = ++state.openGen;
    state.openId = id;
    for (const li of $('list').children)
      li.classList.toggle('open', li.dataset.id === id);
    try {
      const m = await api('GET', messagePath(id));  // marks it read
      if (gen !== state.openGen) return;
      state.open = m;
      renderMessage(m);
      history.replaceState(null, '', '#' + encId(id));
      const s = state.messages.find((x) => x.ID === id);
      if (s && !s.Read) {
        s.Read = true;
        state.unread = Math.max(0, state.unread - 1);
        renderList();
      }
    } catch (e) {
      if (gen !== state.openGen) return;
      state.openId = null;
      toast('Cannot open the message: ' + e.message);
    }
  }

  function metaRow(dl, name, value) {
    if (!value) return;
    dl.append(el('dt', {}, name), el('dd', {}, value));
  }

  function renderMessage(m) {
    showPane(true);
    $('m-subject').textContent = m.Subject || '(no subject)';
    const dl = $('m-meta');
    dl.replaceChildren();
    metaRow(dl, 'From', addr(m.From));
    metaRow(dl, 'To', addrs(m.To));
    metaRow(dl, 'Cc', addrs(m.Cc));
    metaRow(dl, 'Bcc', addrs(m.Bcc));
    metaRow(dl, 'Reply-To', addrs(m.ReplyTo));
    metaRow(dl, 'Return-Path', m.ReturnPath);
    metaRow(dl, 'Date', when(m.Date, true));
    metaRow(dl, 'Size', size(m.Size));
    $('toggle-read').textContent = 'Mark unread';
    $('download-raw').href = messagePath(m.ID) + '/raw';
    $('download-raw').setAttribute('download', m.ID + '.eml');

    const parts = [...(m.Attachments || []), ...(m.Inline || [])];
    const ul = $('m-attachment-list');
    ul.replaceChildren(...parts.map((a) => el('li', {},
      el('a', {
        href: messagePath(m.ID) + '/part/' + enc(a.PartID),
        download: a.FileName || ('part-' + a.PartID),
      }, a.FileName || ('part ' + a.PartID)),
      el('span', { class: 'muted' }, ' ' + (a.ContentType || '') + ', ' + size(a.Size)))));
    $('m-attachments').hidden = parts.length === 0;

    // The text, the headers and the source are filled when shown.
    $('text').textContent = m.Text ? m.Text : '(This message has no text part.)';
    $('headers').replaceChildren();
    $('raw').textContent = '';
    const frame = $('html-frame');
    if (m.HTML) {
      frame.hidden = false;
      $('no-html').hidden = true;
      frame.src = '/view/' + encId(m.ID) + '.html';
    } else {
      frame.hidden = true;
      frame.removeAttribute('src');
      $('no-html').hidden = false;
    }
    // The tab the user last picked; HTML falls back to Text.
    selectTab(state.wantTab === 'html' && !m.HTML ? 'text' : state.wantTab,
      false, false);
  }

  async function loadHeaders(m) {
    const tb = $('headers');
    if (tb.childElementCount) return;
    try {
      const h = await api('GET', messagePath(m.ID) + '/headers');
      if (state.open !== m) return;
      const rows = [];
      for (const [name, values] of Object.entries(h || {}))
        for (const v of (Array.isArray(values) ? values : [values]))
          rows.push(el('tr', {}, el('th', { scope: 'row' }, name), el('td', {}, String(v))));
      tb.replaceChildren(...rows);
    } catch (e) {
      tb.replaceChildren(el('tr', {}, el('td', {}, 'Cannot load the headers: ' + e.message)));
    }
  }

  async function loadRaw(m) {
    const pre = $('raw');
    if (pre.textContent) return;
    if (Number(m.Size) > RAW_SHOW_MAX) {
      pre.textContent = 'The source is ' + size(m.Size) + ': use "Download .eml".';
      return;
    }
    try {
      const t = await api('GET', messagePath(m.ID) + '/raw');
      if (state.open === m) pre.textContent = typeof t === 'string' ? t : JSON.stringify(t);
    } catch (e) {
      pre.textContent = 'Cannot load the source: ' + e.message;
    }
  }

  const TABS = ['html', 'text', 'headers', 'raw'];

  function selectTab(name, focus, picked = true) {
    state.tab = name;
    if (picked) state.wantTab = name;
    for (const t of TABS) {
      const tab = $('tab-' + t);
      const on = t === name;
      tab.setAttribute('aria-selected', on ? 'true' : 'false');
      tab.tabIndex = on ? 0 : -1;
      $('panel-' + t).hidden = !on;
      if (on && focus) tab.focus();
    }
    if (!state.open) return;
    if (name === 'headers') loadHeaders(state.open);
    if (name === 'raw') loadRaw(state.open);
  }

  function closeMessage() {
    state.openGen++;
    state.openId = null;
    state.open = null;
    $('html-frame').removeAttribute('src');
    showPane(false);
    history.replaceState(null, '', location.pathname + location.search);
    for (const li of $('list').children) li.classList.remove('open');
    $('list').focus();
  }

  // ---- changes -----------------------------------------------------------

  async function deleteIds(ids) {
    try {
      await api('DELETE', '/api/v1/messages', { IDs: ids });
    } catch (e) {
      toast('Delete failed: ' + e.message);
      return;
    }
    removeLocally(ids);
    toast(ids.length === 1 ? 'Deleted.' : 'Deleted ' + ids.length + '.');
  }

  function removeLocally(ids) {
    const gone = new Set(ids);
    const before = state.messages.length;
    for (const m of state.messages)
      if (gone.has(m.ID) && !m.Read) state.unread = Math.max(0, state.unread - 1);
    state.messages = state.messages.filter((m) => !gone.has(m.ID));
    state.total = Math.max(0, state.total - (before - state.messages.length));
    if (state.openId && gone.has(state.openId)) closeMessage();
    renderList();
    if (state.messages.length < PAGE && state.total > state.start + state.messages.length)
      refetchSoon();  // fill the page from the next one
  }

  async function deleteAll() {
    const what = state.query
      ? 'Delete the ' + state.total + ' messages matching \u201c' + state.query + '\u201d?'
      : 'Delete all ' + state.total + ' messages?';
    if (!window.confirm(what)) return;
    try {
      if (state.query)
        await api('DELETE', '/api/v1/search?query=' + enc(state.query));
      else
        await api('DELETE', '/api/v1/messages', {});
    } catch (e) {
      toast('Delete failed: ' + e.message);
      return;
    }
    if (state.openId) closeMessage();
    state.start = 0;
    loadList();
  }

  async function toggleRead() {
    const m = state.open;
    if (!m) return;
    const s = state.messages.find((x) => x.ID === m.ID);
    const read = s ? !s.Read : false;
    try {
      await api('PUT', '/api/v1/messages', { IDs: [m.ID], Read: read });
    } catch (e) {
      toast('Failed: ' + e.message);
      return;
    }
    if (s) {
      s.Read = read;
      state.unread = Math.max(0, state.unread + (read ? -1 : 1));
    }
    $('toggle-read').textContent = read ? 'Mark unread' : 'Mark read';
    renderList();
  }

  // ---- live updates ------------------------------------------------------

  function setLive(on) {
    const l = $('live');
    l.textContent = on ? 'live' : 'offline';
    l.classList.toggle('off', !on);
    l.title = on ? 'Live updates: new mail shows up by itself'
      : 'No live updates: refreshing every ' + POLL_MS / 1000 + ' s';
    clearInterval(state.pollTimer);
    state.pollTimer = on ? null : setInterval(loadList, POLL_MS);
  }

  function parseData(ev) {
    try {
      const d = JSON.parse(ev.data);
      // Mailpit's websocket wraps events as {Type, Data}.
      return d && typeof d === 'object' && 'Type' in d && 'Data' in d ? d.Data : d;
    } catch (e) {
      return null;
    }
  }

  function onNew(m) {
    if (!m || !m.ID || state.query || state.start !== 0) {
      refetchSoon();  // the server decides what a search or page holds
      return;
    }
    if (state.messages.some((x) => x.ID === m.ID)) return;
    state.messages.unshift(m);
    if (state.messages.length > PAGE) state.messages.length = PAGE;
    state.total++;
    if (!m.Read) state.unread++;
    renderList();
  }

  function onDelete(d) {
    const ids = d && (d.IDs || (d.ID ? [d.ID] : null));
    if (Array.isArray(ids)) removeLocally(ids);
    else refetchSoon();
  }

  function onStats(d) {
    if (!d || state.query) return;
    const total = d.Total ?? d.total;
    const unread = d.Unread ?? d.unread;
    if (typeof total === 'number') state.total = total;
    if (typeof unread === 'number') state.unread = unread;
    renderStats();
  }

  function connectEvents() {
    if (!window.EventSource) { setLive(false); return; }
    const es = new EventSource('/api/events');
    es.addEventListener('open', () => { setLive(true); loadList(); });
    es.addEventListener('error', () => setLive(false));
    es.addEventListener('new', (ev) => onNew(parseData(ev)));
    es.addEventListener('delete', (ev) => onDelete(parseData(ev)));
    es.addEventListener('truncate', () => {
      if (state.openId) closeMessage();
      state.start = 0;
      loadList();
    });
    es.addEventListener('stats', (ev) => onStats(parseData(ev)));
    for (const name of ['update', 'prune']) es.addEventListener(name, refetchSoon);
    es.addEventListener('message', (ev) => {  // unnamed: {Type, Data}
      let d = null;
      try { d = JSON.parse(ev.data); } catch (e) { /* ignored */ }
      if (!d || !d.Type) return;
      if (d.Type === 'new') onNew(d.Data);
      else if (d.Type === 'delete') onDelete(d.Data);
      else if (d.Type === 'stats') onStats(d.Data);
      else refetchSoon();
    });
  }

  // ---- search and paging -------------------------------------------------

  function search(q) {
    state.query = q.trim();
    state.start = 0;
    state.cursor = -1;
    state.cursorId = null;
    $('search-clear').hidden = !state.query;
    loadList();
  }

  function page(delta) {
    const start = state.start + delta * PAGE;
    if (start < 0 || start >= state.total) return;
    state.start = start;
    state.cursor = 0;
    state.cursorId = null;
    loadList();
  }

  // ---- keys --------------------------------------------------------------

  function typing(t) {
    return t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' ||
      t.tagName === 'SELECT' || t.isContentEditable);
  }

  function onKey(ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    if (ev.key === 'Escape') {
      if (typing(ev.target)) { ev.target.blur(); $('list').focus(); } else if (state.openId) closeMessage();
      return;
    }
    if (typing(ev.target)) return;
    if (ev.target.getAttribute && ev.target.getAttribute('role') === 'tab' &&
        (ev.key === 'ArrowLeft' || ev.key === 'ArrowRight')) {
      const i = TABS.indexOf(state.tab) + (ev.key === 'ArrowRight' ? 1 : -1);
      selectTab(TABS[(i + TABS.length) % TABS.length], true);
      ev.preventDefault();
      return;
    }
    const cur = state.messages[state.cursor];
    const onButton = ev.target.tagName === 'BUTTON' || ev.target.tagName === 'A' ||
      ev.target.tagName === 'SUMMARY';
    switch (ev.key) {
    case 'j': case 'ArrowDown': setCursor(state.cursor + 1); break;
    case 'k': case 'ArrowUp': setCursor(state.cursor - 1); break;
    case 'Enter':
      if (onButton) return;
      if (cur) openMessage(cur.ID);
      break;
    case 'Delete': case 'Backspace':
      if (state.openId) deleteIds([state.openId]);
      else if (cur) deleteIds([cur.ID]);
      break;
    case '/': $('search').focus(); $('search').select(); break;
    case 'n': page(1); break;
    case 'p': page(-1); break;
    case 'u': toggleRead(); break;
    case 'h': if (state.open) selectTab('html'); break;
    case 't': if (state.open) selectTab('text'); break;
    case 'e': if (state.open) selectTab('headers'); break;
    case 'r': if (state.open) selectTab('raw'); break;
    default: return;
    }
    ev.preventDefault();
  }

  // ---- start -------------------------------------------------------------

  function wire() {
    $('search-form').addEventListener('submit', (ev) => {
      ev.preventDefault();
      search($('search').value);
    });
    $('search').addEventListener('search', () => {  // the field's own clear
      if (!$('search').value && state.query) search('');
    });
    $('search-clear').addEventListener('click', () => {
      $('search').value = '';
      search('');
    });
    $('prev').addEventListener('click', () => page(-1));
    $('next').addEventListener('click', () => page(1));
    $('delete-all').addEventListener('click', deleteAll);
    $('delete-one').addEventListener('click', () => state.openId && deleteIds([state.openId]));
    $('toggle-read').addEventListener('click', toggleRead);
    $('back').addEventListener('click', closeMessage);
    for (const t of TABS) $('tab-' + t).addEventListener('click', () => selectTab(t));
    $('list').addEventListener('focus', () => {
      if (state.cursor < 0 && state.messages.length) setCursor(0);
    });
    document.addEventListener('keydown', onKey);
  }

  function start() {
    wire();
    setLive(false);
    loadList();
    connectEvents();
    const id = decodeURIComponent(location.hash.slice(1));
    if (/^[A-Za-z0-9._,=-]{1,255}$/.test(id)) openMessage(id);
  }

  if (document.readyState === 'loading')
    document.addEventListener('DOMContentLoaded', start);
  else
    start();
})();
