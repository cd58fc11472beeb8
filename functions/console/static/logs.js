// API logs: the calls the logs endpoint returns, as a table, and a chart of calls per minute by
// status class (2xx / 4xx / 5xx) over the returned window, drawn with plain DOM elements.

import { Api, ApiError } from './api.js';
import { append, clearErrors, emptyState, field, formatTime, h, httpStatus, notice, replace, setBusy, showError, td, timeEl } from './dom.js';

const LIMITS = [100, 500, 1000];
const STATUSES = [['', 'Any status'], ['2xx', '2xx'], ['4xx', '4xx'], ['5xx', '5xx']];
const METHODS = ['', 'GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const CLASSES = [
  { name: '2xx', tone: 'ok', test: (s) => s < 400 },
  { name: '4xx', tone: 'warn', test: (s) => s >= 400 && s < 500 },
  { name: '5xx', tone: 'bad', test: (s) => s >= 500 },
];
const MAX_BUCKETS = 120;
const MINUTE = 60_000;
const MIN_MINUTES = 15;

function statusClass(status) {
  return CLASSES.find((c) => c.test(Number(status))) || CLASSES[2];
}

function niceMax(value) {
  if (value <= 4) return 4;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) {
    if (step * power >= value) return step * power;
  }
  return 10 * power;
}

function timeOfDay(ms) {
  const d = new Date(ms);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
}

/** Calls per minute (or per N minutes for a long window) from the oldest to the newest call. */
function chart(logs, complete) {
  const times = logs.map((log) => new Date(log.timestamp).getTime()).filter((t) => !Number.isNaN(t));
  const last = Math.floor(Math.max(...times) / MINUTE) * MINUTE;
  let first = Math.floor(Math.min(...times) / MINUTE) * MINUTE;
  // With every call in hand (fewer than the limit came back), show at least MIN_MINUTES of context.
  if (complete) first = Math.min(first, last - (MIN_MINUTES - 1) * MINUTE);
  const minutes = (last - first) / MINUTE + 1;
  const per = Math.max(1, Math.ceil(minutes / MAX_BUCKETS));
  const count = Math.ceil(minutes / per);
  const buckets = Array.from({ length: count }, (_, i) => ({ start: first + i * per * MINUTE, counts: [0, 0, 0] }));
  for (const log of logs) {
    const t = new Date(log.timestamp).getTime();
    if (Number.isNaN(t)) continue;
    const index = Math.min(count - 1, Math.floor((t - first) / (per * MINUTE)));
    buckets[index].counts[CLASSES.indexOf(statusClass(log.status))] += 1;
  }
  const peak = Math.max(...buckets.map((b) => b.counts.reduce((a, n) => a + n, 0)));
  const top = niceMax(peak);
  const unit = per === 1 ? 'minute' : `${per} minutes`;

  const grid = h('div', { class: 'chart-grid', 'aria-hidden': 'true' });
  for (const fraction of [1, 0.5, 0]) {
    const line = h('div', { class: 'chart-gridline' }, h('span', { class: 'chart-tick', text: String(Math.round(top * fraction)) }));
    line.style.bottom = `${fraction * 100}%`;
    grid.append(line);
  }
  const bars = h('div', { class: 'chart-bars' });
  for (const bucket of buckets) {
    const total = bucket.counts.reduce((a, n) => a + n, 0);
    const label =
      `${timeOfDay(bucket.start)}${per > 1 ? `–${timeOfDay(bucket.start + per * MINUTE)}` : ''}: ${total} ` +
      `call${total === 1 ? '' : 's'}` +
      (total ? ` (${CLASSES.map((c, i) => `${c.name} ${bucket.counts[i]}`).join(', ')})` : '');
    const stack = h('div', { class: 'chart-stack' });
    CLASSES.forEach((c, i) => {
      if (!bucket.counts[i]) return;
      const segment = h('div', { class: `chart-seg chart-${c.tone}` });
      segment.style.height = `${(bucket.counts[i] / top) * 100}%`;
      stack.append(segment);
    });
    bars.append(h('div', { class: 'chart-col', title: label }, stack));
  }
  const totals = CLASSES.map((_, i) => buckets.reduce((a, b) => a + b.counts[i], 0));
  const summary =
    `Calls per ${unit} from ${formatTime(new Date(first).toISOString(), { seconds: false })} to ` +
    `${formatTime(new Date(last + MINUTE).toISOString(), { seconds: false })}: ` +
    CLASSES.map((c, i) => `${totals[i]} ${c.name}`).join(', ');
  // A time under every k-th column, about six labels whatever the window.
  const every = Math.max(1, Math.ceil(buckets.length / 6));
  const xLabels = h(
    'div',
    { class: 'chart-x', 'aria-hidden': 'true' },
    buckets.map((bucket, i) => h('span', { class: 'chart-x-label', text: i % every === 0 ? timeOfDay(bucket.start) : '' })),
  );
  return h(
    'figure',
    { class: 'card chart', id: 'logs-chart' },
    h(
      'figcaption',
      { class: 'chart-head' },
      h('span', { class: 'card-title', text: `Calls per ${unit}` }),
      h(
        'span',
        { class: 'legend' },
        CLASSES.map((c, i) =>
          h('span', { class: 'legend-item' }, h('span', { class: `legend-swatch chart-${c.tone}` }), `${c.name} `, h('span', { class: 'muted', text: `(${totals[i]})` })),
        ),
      ),
    ),
    h('div', { class: 'chart-plot', role: 'img', 'aria-label': summary }, grid, bars),
    xLabels,
  );
}

function stats(logs) {
  const errors = logs.filter((log) => Number(log.status) >= 400).length;
  const times = logs.map((log) => Number(log.responseTime)).filter((n) => Number.isFinite(n)).sort((a, b) => a - b);
  const median = times.length ? times[Math.floor((times.length - 1) / 2)] : null;
  const p95 = times.length ? times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)] : null;
  const stat = (label, value, tone) =>
    h('div', { class: 'stat card' }, h('span', { class: 'stat-label', text: label }), h('span', { class: `stat-value${tone ? ` text-${tone}` : ''}`, text: value }));
  return h(
    'div',
    { class: 'stats' },
    stat('Calls', String(logs.length)),
    stat('Errors (4xx/5xx)', `${errors} · ${logs.length ? Math.round((errors / logs.length) * 100) : 0}%`, errors ? 'bad' : null),
    stat('Median response', median === null ? '—' : `${median} ms`),
    stat('p95 response', p95 === null ? '—' : `${p95} ms`),
  );
}

function table(logs) {
  return h(
    'div',
    { class: 'table-wrap card' },
    h(
      'table',
      { class: 'table responsive logs-table', id: 'logs-table' },
      h('caption', { class: 'visually-hidden', text: 'API calls, newest first' }),
      h(
        'thead',
        {},
        h('tr', {}, ['Time', 'Method', 'Endpoint', 'Status', 'Response time'].map((name) => h('th', { scope: 'col', text: name }))),
      ),
      h('tbody', {}, logs.map((log) => row(log))),
    ),
  );
}

function row(log) {
  return h(
    'tr',
    {},
    td('Time', timeEl(log.timestamp)),
    td('Method', h('span', { class: 'method mono', text: log.method })),
    td('Endpoint', h('span', { class: 'mono endpoint', text: log.endpoint })),
    td('Status', httpStatus(Number(log.status))),
    td('Response time', h('span', { class: 'num', text: `${log.responseTime} ms` })),
  );
}

/** <input type=datetime-local> (the browser's time zone) → ISO-8601 for the API; '' stays ''. */
function isoOf(value) {
  if (!value) return '';
  const moment = new Date(value);
  return Number.isNaN(moment.getTime()) ? value : moment.toISOString();
}

/** The filters form: status (a class or a code), method, endpoint prefix, since and until. */
function filtersForm() {
  const status = h('input', { type: 'text', list: 'logs-status-list', placeholder: 'any', autocomplete: 'off', size: 5 });
  const statusList = h('datalist', { id: 'logs-status-list' }, STATUSES.filter(([v]) => v).map(([v]) => h('option', { value: v })));
  const method = h('select', {}, METHODS.map((m) => h('option', { value: m, text: m || 'Any method' })));
  const endpoint = h('input', { type: 'text', placeholder: '/v1/ai', autocomplete: 'off', spellcheck: 'false' });
  const since = h('input', { type: 'datetime-local' });
  const until = h('input', { type: 'datetime-local' });
  const apply = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Apply filters' });
  const reset = h('button', { type: 'reset', class: 'btn', text: 'Clear' });
  const form = h(
    'form',
    { class: 'card logs-filters', id: 'logs-filters', 'aria-label': 'Filter API calls', novalidate: true },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h(
      'div',
      { class: 'form-row' },
      field({ label: 'Status', name: 'status', control: status, hint: 'A code or a class: 404, 5xx' }),
      statusList,
      field({ label: 'Method', name: 'method', control: method }),
      field({ label: 'Endpoint starts with', name: 'endpoint', control: endpoint }),
      field({ label: 'Since', name: 'since', control: since }),
      field({ label: 'Until', name: 'until', control: until }),
      h('div', { class: 'field-submit toolbar' }, apply, reset),
    ),
  );
  const values = () => ({
    status: status.value.trim(),
    method: method.value,
    endpoint: endpoint.value.trim(),
    since: isoOf(since.value),
    until: isoOf(until.value),
  });
  return { form, values, apply };
}

export function renderLogs(main) {
  let alive = true;
  let generation = 0;
  let cursor = null;
  const limit = h('select', { id: 'logs-limit' }, LIMITS.map((n) => h('option', { value: String(n), text: `Last ${n} calls` })));
  limit.value = '500';
  const refresh = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  const filters = filtersForm();
  const body = h('div', {}, h('p', { class: 'loading', text: 'Loading API logs…' }));
  const more = h('button', { type: 'button', class: 'btn', id: 'logs-more', text: 'Load more', hidden: true });
  let tbody = null;

  async function load() {
    const mine = ++generation;
    setBusy(refresh, true);
    clearErrors(filters.form);
    try {
      const { logs, nextCursor } = await Api.logs({ limit: Number(limit.value), ...filters.values() });
      if (!alive || mine !== generation) return;
      cursor = nextCursor;
      more.hidden = !cursor;
      if (!logs.length) {
        tbody = null;
        replace(body, emptyState('No API calls found', cursor
          ? 'None of the calls read so far match; load more to look further back.'
          : 'Calls made with your API keys to any platform API show here, newest first.'));
        return;
      }
      const listing = table(logs);
      tbody = listing.querySelector('tbody');
      replace(body, stats(logs), chart(logs, !cursor), h('h2', { class: 'section-title', text: 'Calls' }), listing);
    } catch (error) {
      if (!alive || (error instanceof ApiError && error.status === 401)) return;
      if (error instanceof ApiError && error.status === 400) {
        showError(filters.form, error);
        return;
      }
      replace(body, notice('bad', h('strong', { text: 'Could not load the logs. ' }), error.message));
    } finally {
      setBusy(refresh, false);
    }
  }

  more.addEventListener('click', async () => {
    const mine = generation;
    setBusy(more, true, 'Loading…');
    try {
      const answer = await Api.logs({ limit: Number(limit.value), ...filters.values(), cursor });
      if (!alive || mine !== generation) return;
      if (answer.logs.length && !tbody) {
        const listing = table([]);
        tbody = listing.querySelector('tbody');
        replace(body, h('h2', { class: 'section-title', text: 'Calls' }), listing);
      }
      for (const log of answer.logs) tbody.append(row(log));
      cursor = answer.nextCursor;
    } catch (error) {
      replace(body, notice('bad', error.message));
    } finally {
      setBusy(more, false);
      more.hidden = !cursor;
    }
  });

  limit.addEventListener('change', load);
  refresh.addEventListener('click', load);
  filters.form.addEventListener('submit', (event) => {
    event.preventDefault();
    load();
  });
  filters.form.addEventListener('reset', () => setTimeout(load));
  append(
    main,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', { class: 'page-title', text: 'API logs' }),
        h('p', { class: 'page-lede', text: 'Calls made with your API keys to the platform, newest first.' }),
      ),
      h(
        'div',
        { class: 'page-actions' },
        h('label', { for: limit.id, class: 'visually-hidden', text: 'How many calls' }),
        limit,
        refresh,
      ),
    ),
    filters.form,
    body,
    h('div', { class: 'more' }, more),
  );
  load();
  return () => {
    alive = false;
  };
}
