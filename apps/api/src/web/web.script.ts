/**
 * /app.js: the page's behaviour, plain browser JavaScript (no framework, no build step). Every value from
 * the API reaches the page through textContent, never as HTML. Kept free of backticks so it can live in
 * this string.
 */
export const APP_JS = String.raw`'use strict';

const TOKEN_KEY = 'ingest.token';
const NAMES_KEY = 'ingest.filenames';
const SETTLED = new Set(['done', 'deadletter']);
const MIME_BY_EXT = {
  pdf: 'application/pdf',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  txt: 'text/plain',
  md: 'text/markdown',
  markdown: 'text/markdown',
  html: 'text/html',
  htm: 'text/html',
};

const $ = (id) => document.getElementById(id);
const jobs = new Map(); // job_id -> job view from the API
const firstSeen = new Map(); // job_id -> when this page first learned of it
const deleted = new Set(); // document ids deleted from this page
const names = JSON.parse(sessionStorage.getItem(NAMES_KEY) || '{}'); // document_id -> filename
let token = sessionStorage.getItem(TOKEN_KEY);
let documentsEndpoint = true; // GET /api/v2/documents answered (false after a 404)
let timers = [];
let polling = false;

// ---- helpers ---------------------------------------------------------------------------------

class ApiFailure extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.routeMissing = status === 404 && /^Route not found/.test((body && body.error && body.error.message) || '');
  }
}

function describeError(status, body) {
  const e = body && body.error;
  if (!e) return 'HTTP ' + status;
  const fields = (e.details || [])
    .filter((d) => d && d.field)
    .map((d) => d.field + ': ' + (d.messages || []).join(', '));
  return e.message + (fields.length ? ' (' + fields.join('; ') + ')' : '');
}

async function api(method, path, body) {
  const headers = { Authorization: 'Bearer ' + token };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = res.status === 204 ? null : await res.json().catch(() => null);
  if (res.status === 401 && token) signOut('Your token was refused: ' + describeError(401, data) + '. Sign in again.');
  if (!res.ok) throw new ApiFailure(res.status, data);
  return data;
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function show(id, message) {
  $(id).textContent = message || '';
  $(id).hidden = !message;
}

/** A search hit's pages: 'p. 3' or 'pp. 3–4' ('' when the hit has none). */
function pagesOf(r) {
  const a = r.page_start, b = r.page_end;
  if (!Number.isInteger(a) || a < 1) return '';
  return Number.isInteger(b) && b > a ? 'pp. ' + a + '\u2013' + b : 'p. ' + a;
}

function count(n, noun) {
  return n + ' ' + noun + (n === 1 ? '' : 's');
}

function nameOf(documentId) {
  return names[documentId] || 'document ' + documentId.slice(0, 8);
}

function remember(documentId, filename) {
  names[documentId] = filename;
  sessionStorage.setItem(NAMES_KEY, JSON.stringify(names));
}

function jwtSubject(jwt) {
  try {
    const part = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4))).sub || null;
  } catch {
    return null;
  }
}

// ---- sign in ---------------------------------------------------------------------------------

async function signIn(candidate) {
  token = candidate;
  try {
    await api('GET', '/api/v2/jobs?limit=1');
  } catch (e) {
    if (token) signOut('Sign-in failed: ' + e.message);
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin-form').hidden = true;
  $('signed-in').hidden = false;
  $('signed-in-as').textContent = 'Signed in as user ' + (jwtSubject(token) || '(unknown)');
  $('signin-status').textContent = '';
  $('workspace').hidden = false;
  startPolling();
}

function signOut(message) {
  token = null;
  sessionStorage.removeItem(TOKEN_KEY);
  timers.forEach(clearInterval);
  timers = [];
  jobs.clear();
  render();
  $('workspace').hidden = true;
  $('signed-in').hidden = true;
  $('signin-form').hidden = false;
  $('token-input').value = '';
  $('signin-status').textContent = message || '';
}

// ---- upload ----------------------------------------------------------------------------------

async function sha256Hex(bytes) {
  if (!crypto.subtle) throw new Error('this page needs a secure context (https or localhost) to hash files');
  const digest = await crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

async function uploadFile(file) {
  const ext = (file.name.split('.').pop() || '').toLowerCase();
  const mime = MIME_BY_EXT[ext] || file.type;
  if (!Object.values(MIME_BY_EXT).includes(mime)) throw new Error('unsupported file type; use PDF, DOCX, TXT, Markdown or HTML');
  const bytes = await file.arrayBuffer();
  const sha256 = await sha256Hex(bytes);
  const up = await api('POST', '/api/v2/upload', { filename: file.name, bytes_len: file.size, mime, sha256 });
  remember(up.document_id, file.name);
  if (up.signed_url) {
    const put = await fetch(up.signed_url, { method: up.upload_method || 'PUT', headers: up.upload_headers, body: bytes });
    if (!put.ok) throw new ApiFailure(put.status, await put.json().catch(() => null));
    // The api's own receiver answers with the job (received: ...); an object store (S3) answers with nothing of
    // ours: the api checks the stored object now instead of at the worker's next reconciler run (which needs no call).
    const answer = await put.json().catch(() => null);
    if (!answer || answer.received === undefined) {
      await api('POST', '/api/v2/jobs/' + up.job_id + '/complete').catch((e) => {
        // a mismatch or an expiry dead-letters the job: the dead-letter list below says why
        if (!(e instanceof ApiFailure)) throw e;
      });
    }
  }
  const job = await api('GET', '/api/v2/jobs/' + up.job_id);
  update(job);
  render();
  return up.deduplicated ? 'already uploaded; showing the existing job' : 'uploaded';
}

async function onUpload(event) {
  event.preventDefault();
  const input = $('file-input');
  const files = Array.from(input.files);
  const button = $('upload-form').querySelector('button');
  button.disabled = true;
  for (const file of files) {
    const line = el('li', { 'data-testid': 'upload-line', text: file.name + ': uploading…' });
    $('upload-status').prepend(line);
    try {
      line.textContent = file.name + ': ' + (await uploadFile(file));
    } catch (e) {
      line.textContent = file.name + ': upload failed: ' + e.message;
      line.className = 'error';
    }
  }
  button.disabled = false;
  input.value = '';
}

// ---- jobs, live ------------------------------------------------------------------------------

/** Keeps the newer view of a job (a slow list response must not undo a fresher detail poll). */
function update(job) {
  if (deleted.has(job.document_id)) return;
  const old = jobs.get(job.job_id);
  if (!old) firstSeen.set(job.job_id, Date.now());
  if (old && old.updated_at > job.updated_at) return;
  jobs.set(job.job_id, old && old.events && !job.events ? { ...job, events: old.events } : job);
}

async function refreshLists() {
  const started = Date.now();
  try {
    const [recent, dead] = await Promise.all([
      api('GET', '/api/v2/jobs?limit=50'),
      api('GET', '/api/v2/jobs?state=deadletter&limit=50'),
    ]);
    const seen = new Set();
    for (const job of recent.items.concat(dead.items)) {
      update(job);
      seen.add(job.job_id);
    }
    // gone from the list (deleted elsewhere, or past the 50 newest), unless it arrived after the request left
    for (const id of jobs.keys()) if (!seen.has(id) && firstSeen.get(id) < started) jobs.delete(id);
    if (documentsEndpoint) await refreshNames();
    show('jobs-status', '');
  } catch (e) {
    if (token) show('jobs-status', 'Could not load jobs: ' + e.message);
  }
  render();
}

async function refreshNames() {
  try {
    const page = await api('GET', '/api/v2/documents?limit=100');
    for (const d of page.items || page) if (d.document_id && d.filename) remember(d.document_id, d.filename);
  } catch (e) {
    if (e.status === 404) documentsEndpoint = false; // not on this server (yet): names come from this tab's uploads
    else throw e;
  }
}

async function pollActive() {
  if (polling) return;
  polling = true;
  try {
    const active = [...jobs.values()].filter((j) => !SETTLED.has(j.state));
    const views = await Promise.all(active.map((j) => api('GET', '/api/v2/jobs/' + j.job_id).catch(() => null)));
    views.forEach((v) => v && update(v));
    if (views.length) render();
  } finally {
    polling = false;
  }
}

async function loadJob(id) {
  try {
    update(await api('GET', '/api/v2/jobs/' + id));
    render();
  } catch (e) {
    show('jobs-status', 'Could not load the job: ' + e.message);
  }
}

function startPolling() {
  timers.forEach(clearInterval);
  timers = [setInterval(refreshLists, 2000), setInterval(pollActive, 500)];
  refreshLists();
}

async function retry(job, button) {
  button.disabled = true;
  show('dead-status', '');
  try {
    update(await api('POST', '/api/v2/jobs/' + job.job_id + '/retry'));
  } catch (e) {
    show('dead-status', 'Retry of ' + nameOf(job.document_id) + ' failed: ' + e.message);
    button.disabled = false;
  }
  render();
}

async function deleteDocument(job, button) {
  const name = nameOf(job.document_id);
  if (!confirm('Delete ' + name + ' and everything made from it?')) return;
  button.disabled = true;
  show('jobs-status', '');
  try {
    await api('DELETE', '/api/v2/documents/' + job.document_id);
    deleted.add(job.document_id);
    for (const [id, j] of jobs) if (j.document_id === job.document_id) jobs.delete(id);
    const stale = $('search-results').querySelectorAll('[data-document-id="' + job.document_id + '"]');
    if (stale.length) {
      stale.forEach((li) => li.remove());
      $('search-status').textContent = count($('search-results').children.length, 'result') + ' (after deleting ' + name + ')';
    }
    $('upload-status').prepend(el('li', { text: name + ': deleted' }));
  } catch (e) {
    show('jobs-status', e.routeMissing
      ? 'Deleting documents is not available on this server yet (DELETE /api/v2/documents/:id answered 404).'
      : 'Could not delete ' + name + ': ' + e.message);
    button.disabled = false;
  }
  render();
}

// ---- rendering -------------------------------------------------------------------------------

function rowFor(container, tag, testid, job, build) {
  let row = container.querySelector('[data-job-id="' + job.job_id + '"]');
  if (!row) {
    row = el(tag, { 'data-testid': testid, 'data-job-id': job.job_id });
    build(row);
  }
  return row;
}

function jobRow(job) {
  const row = rowFor($('jobs-body'), 'tr', 'job-row', job, (tr) => {
    const bar = el('progress', { max: '100', value: '0', 'data-testid': 'job-progress' });
    const remove = el('button', { type: 'button', class: 'danger', 'data-testid': 'delete-button', text: 'Delete' });
    remove.addEventListener('click', () => deleteDocument(jobs.get(tr.dataset.jobId), remove));
    const history = el('details', {}, el('summary', { 'data-testid': 'job-history' }), el('ol', { 'data-testid': 'job-events' }));
    history.addEventListener('toggle', () => history.open && loadJob(tr.dataset.jobId)); // the list has no events
    tr.append(
      el('td', { 'data-testid': 'job-filename' }),
      el('td', { 'data-testid': 'job-stage' }),
      el('td', {}, el('span', { class: 'badge', 'data-testid': 'job-state' })),
      el('td', { class: 'progress' }, bar, el('span', { 'data-testid': 'job-percent' })),
      el('td', {}, history),
      el('td', {}, remove),
    );
  });
  const name = nameOf(job.document_id);
  const percent = Math.round((job.progress && job.progress.percent) || 0);
  row.dataset.documentId = job.document_id;
  row.dataset.stage = job.stage;
  row.dataset.state = job.state;
  row.querySelector('[data-testid="job-filename"]').textContent = name;
  row.querySelector('[data-testid="job-stage"]').textContent = job.stage.replace(/_/g, ' ');
  const state = row.querySelector('[data-testid="job-state"]');
  state.textContent = job.state;
  state.className = 'badge ' + job.state;
  const bar = row.querySelector('progress');
  bar.value = percent;
  bar.setAttribute('aria-label', 'Progress of ' + name);
  row.querySelector('[data-testid="job-percent"]').textContent = percent + '%';
  row.querySelector('[data-testid="delete-button"]').setAttribute('aria-label', 'Delete ' + name);
  const events = job.events || [];
  row.querySelector('[data-testid="job-history"]').textContent = events.length ? events.length + ' events' : 'events';
  row.querySelector('[data-testid="job-events"]').replaceChildren(
    ...events.map((ev) => el('li', { text: ev.type + ' · ' + ev.stage + ' → ' + ev.to_state + ' · ' + new Date(ev.at).toLocaleTimeString() })),
  );
  return row;
}

function deadRow(job) {
  const row = rowFor($('dead-list'), 'li', 'deadletter-row', job, (li) => {
    const button = el('button', { type: 'button', 'data-testid': 'retry-button', text: 'Retry' });
    button.addEventListener('click', () => retry(jobs.get(li.dataset.jobId), button));
    li.append(el('strong', { 'data-testid': 'deadletter-filename' }), el('span', { class: 'muted', 'data-testid': 'deadletter-stage' }),
      el('p', { class: 'error', 'data-testid': 'deadletter-error' }), button);
  });
  const name = nameOf(job.document_id);
  const err = job.last_error || {};
  row.querySelector('[data-testid="deadletter-filename"]').textContent = name;
  row.querySelector('[data-testid="deadletter-stage"]').textContent = ' failed at ' + job.stage.replace(/_/g, ' ') + (err.code ? ' (' + err.code + ')' : '');
  row.querySelector('[data-testid="deadletter-error"]').textContent = err.message || 'no reason recorded';
  row.querySelector('[data-testid="retry-button"]').setAttribute('aria-label', 'Retry ' + name);
  return row;
}

/** Puts exactly these rows, in this order, into the container (moving only what is out of place). */
function place(container, rows) {
  const keep = new Set(rows);
  for (const child of [...container.children]) if (!keep.has(child)) child.remove();
  rows.forEach((row, i) => {
    if (container.children[i] !== row) container.insertBefore(row, container.children[i] || null);
  });
}

function render() {
  const all = [...jobs.values()].sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  place($('jobs-body'), all.map(jobRow));
  place($('dead-list'), all.filter((j) => j.state === 'deadletter').map(deadRow));
  $('jobs-empty').hidden = all.length > 0;
  $('dead-empty').hidden = $('dead-list').children.length > 0;
}

// ---- search ----------------------------------------------------------------------------------

async function onSearch(event) {
  event.preventDefault();
  const query = $('search-input').value.trim();
  const topK = Number($('search-top-k').value) || 5;
  const status = $('search-status');
  status.className = '';
  status.textContent = 'Searching…';
  $('search-results').replaceChildren();
  try {
    const { results } = await api('POST', '/api/v2/search', { query, top_k: topK });
    for (const r of results) if (r.document_id && r.filename) remember(r.document_id, r.filename);
    status.textContent = results.length ? count(results.length, 'result') : 'No results.';
    $('search-results').replaceChildren(...results.map((r) =>
      el('li', { 'data-testid': 'search-result', 'data-document-id': r.document_id, 'data-chunk-id': r.chunk_id },
        el('div', { class: 'row' },
          el('strong', { 'data-testid': 'result-filename', text: r.filename || nameOf(r.document_id) }),
          el('span', { class: 'muted', text: 'chunk ' + r.ord }),
          ...(pagesOf(r) ? [el('span', { class: 'muted', 'data-testid': 'result-pages', text: pagesOf(r) })] : []),
          el('span', { class: 'badge', 'data-testid': 'result-score', text: 'score ' + Number(r.score).toFixed(3) })),
        el('p', { class: 'snippet', text: r.text.length > 400 ? r.text.slice(0, 400) + '…' : r.text }))));
  } catch (e) {
    status.className = 'error';
    status.textContent = e.status === 404
      ? 'Search is not available on this server yet (POST /api/v2/search answered 404).'
      : 'Search failed: ' + e.message;
  }
}

// ---- start -----------------------------------------------------------------------------------

$('signin-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn($('token-input').value.trim());
});
$('signout-button').addEventListener('click', () => signOut(''));
$('upload-form').addEventListener('submit', onUpload);
$('search-form').addEventListener('submit', onSearch);
window.addEventListener('unhandledrejection', (event) => show('app-error', 'Unexpected error: ' + (event.reason && event.reason.message)));
if (token) signIn(token);
`;
