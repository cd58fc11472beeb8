// The console is a client of the public API, on the same origin. The key lives in sessionStorage
// only: never in a URL, a cookie or localStorage, and it is gone when the tab closes.

const KEY_ITEM = 'eventsapi.console.apiKey';

/** The API's base: this page's URL with everything from "/console" on removed. */
export const BASE = `${location.origin}${location.pathname.replace(/\/console(\/.*)?$/, '')}`;

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

export function getKey() {
  return sessionStorage.getItem(KEY_ITEM);
}

export function setKey(key) {
  sessionStorage.setItem(KEY_ITEM, key);
}

export function forgetKey() {
  sessionStorage.removeItem(KEY_ITEM);
}

let unauthorized = () => {};
/** Called when a stored key stops working (revoked, deleted): the app signs out. */
export function onUnauthorized(handler) {
  unauthorized = handler;
}

// The API counts each developer's calls in fixed windows of 2 s and answers 429 past 20 in one
// window (10 requests/s, burst 20; events_core/rate_limit.py). A token bucket of BURST calls
// refilled at RATE_PER_SECOND lets at most BURST + 2 × RATE_PER_SECOND calls through in any 2 s
// (here 6 + 8 = 14): one page never bursts past the limit, and the developer's other clients (a
// second tab, the CLI) keep the rest. If the API throttles anyway, every queued call waits until
// its Retry-After (bounded) and the throttled call is retried once.
const RATE_PER_SECOND = 4;
const BURST = 6;
const MAX_RETRY_AFTER_MS = 5000;
let tokens = BURST;
let refilled = performance.now();
let pausedUntil = 0; // a 429's Retry-After: no call leaves before it
const waiting = [];
let timer = null;

function refill() {
  const now = performance.now();
  tokens = Math.min(BURST, tokens + ((now - refilled) / 1000) * RATE_PER_SECOND);
  refilled = now;
}

function drain() {
  timer = null;
  const now = performance.now();
  if (now < pausedUntil) {
    timer = setTimeout(drain, Math.ceil(pausedUntil - now));
    return;
  }
  refill();
  while (waiting.length && tokens >= 1) {
    tokens -= 1;
    waiting.shift()();
  }
  if (waiting.length) timer = setTimeout(drain, Math.ceil(((1 - tokens) / RATE_PER_SECOND) * 1000));
}

function slot(first = false) {
  return new Promise((resolve) => {
    if (first) waiting.unshift(resolve);
    else waiting.push(resolve);
    if (!timer) drain();
  });
}

/** A 429's Retry-After in ms (seconds or an HTTP date), between 1 s and MAX_RETRY_AFTER_MS. */
function retryAfterMs(response) {
  const header = response.headers.get('Retry-After') || '';
  let ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - Date.now();
  if (!Number.isFinite(ms)) ms = 1000;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(1000, ms));
}

function pause(ms) {
  pausedUntil = Math.max(pausedUntil, performance.now() + ms);
  tokens = 0; // the window is spent: start again slowly
  refilled = performance.now();
}

let scopes = null; // the signed-in key's, as the API last told them (null: not known yet)
const scopeListeners = new Set();

function noteScopes(header) {
  const next = header.split(',').map((scope) => scope.trim()).filter(Boolean).sort().join(',');
  if (next === scopes) return;
  scopes = next;
  for (const listener of scopeListeners) listener();
}

/** False only once the API said the key lacks the write scope. */
export function canWrite() {
  return scopes === null || scopes.split(',').includes('write');
}

export function onScopes(listener) {
  scopeListeners.add(listener);
}

/**
 * One call: api('GET', '/v1/events/webhooks', {query: {...}}) → the parsed JSON answer.
 * Failures throw ApiError with the service's own code, message and field.
 */
export async function api(method, path, { body, query, key } = {}) {
  const apiKey = key ?? getKey();
  const url = new URL(BASE + path);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== '') url.searchParams.set(name, String(value));
  }
  const headers = { Accept: 'application/json', 'X-API-Key': apiKey || '' };
  const init = { method, headers, cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  for (let attempt = 0; ; attempt += 1) {
    if (attempt === 0) await slot();
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new ApiError(0, 'network', `Could not reach the API (${error.message}). Is the service running?`);
    }
    if (response.status !== 429 || attempt >= 1) break;
    pause(retryAfterMs(response)); // the queued calls wait too; this one goes first after it
    await slot(true);
  }
  const granted = response.headers.get('X-API-Key-Scopes');
  if (granted !== null && key === undefined) noteScopes(granted);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = (data && data.error) || {};
    const message =
      error.message || (data && data.message) || `${response.status} ${response.statusText || 'error'}`.trim();
    const failure = new ApiError(response.status, error.code || `http_${response.status}`, message, error.field);
    if (response.status === 401 && key === undefined) unauthorized(failure);
    throw failure;
  }
  return data;
}

const enc = encodeURIComponent;

export const Api = {
  eventTypes: () => api('GET', '/v1/events/types'),
  eventType: (name) => api('GET', `/v1/events/types/${enc(name)}`),
  webhooks: () => api('GET', '/v1/events/webhooks'),
  webhook: (id) => api('GET', `/v1/events/webhooks/${enc(id)}`),
  create: (body) => api('POST', '/v1/events/webhooks', { body }),
  update: (id, body) => api('PATCH', `/v1/events/webhooks/${enc(id)}`, { body }),
  remove: (id) => api('DELETE', `/v1/events/webhooks/${enc(id)}`),
  test: (id) => api('POST', `/v1/events/webhooks/${enc(id)}/test`, { body: {} }),
  testEvent: (id, event) => api('POST', `/v1/events/webhooks/${enc(id)}/test`, { body: { event } }),
  rotate: (id, body = {}) => api('POST', `/v1/events/webhooks/${enc(id)}/secret/rotate`, { body }),
  stats: (id, query) => api('GET', `/v1/events/webhooks/${enc(id)}/stats`, { query }),
  statsOverview: (query) => api('GET', '/v1/events/stats', { query }),
  deliveries: (id, query) => api('GET', `/v1/events/webhooks/${enc(id)}/deliveries`, { query }),
  delivery: (id, deliveryId) => api('GET', `/v1/events/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}`),
  redeliver: (id, deliveryId) =>
    api('POST', `/v1/events/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/redeliver`, { body: {} }),
  recover: (id, body) => api('POST', `/v1/events/webhooks/${enc(id)}/recover`, { body }),
  expungePayload: (id, deliveryId) =>
    api('DELETE', `/v1/events/webhooks/${enc(id)}/deliveries/${enc(deliveryId)}/payload`),
  settings: () => api('GET', '/v1/events/settings'),
  updateSettings: (body) => api('PATCH', '/v1/events/settings', { body }),
  logs: (query) => api('GET', '/v1/events/logs', { query }),
  verify: (id) => api('POST', `/v1/events/webhooks/${enc(id)}/verify`),
  listenSessions: () => api('GET', '/v1/events/listen'),
  endListen: (sessionId) => api('DELETE', `/v1/events/listen/${enc(sessionId)}`),
};

let typesCache = null;
export function eventTypes() {
  if (!typesCache) {
    typesCache = Api.eventTypes()
      .then((answer) => answer.eventTypes)
      .catch((error) => {
        typesCache = null;
        throw error;
      });
  }
  return typesCache;
}

export function resetCaches() {
  typesCache = null;
  scopes = null;
}
