// API logs: the calls the logs endpoint returns, as a table, and a chart of calls per minute by
// status class (2xx / 4xx / 5xx) over the returned window, drawn with plain DOM elements.

import { Api, ApiError } from './api.js';
import { append, emptyState, formatTime, h, httpStatus, notice, replace, setBusy, td, timeEl } from './dom.js';

const LIMITS = [100, 500, 1000];
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
      h(
        'tbody',
        {},
        logs.map((log) =>
          h(
            'tr',
            {},
            td('Time', timeEl(log.timestamp)),
            td('Method', h('span', { class: 'method mono', text: log.method })),
            td('Endpoint', h('span', { class: 'mono endpoint', text: log.endpoint })),
            td('Status', httpStatus(Number(log.status))),
            td('Response time', h('span', { class: 'num', text: `${log.responseTime} ms` })),
          ),
        ),
      ),
    ),
  );
}

export function renderLogs(main) {
  let alive = true;
  const limit = h('select', { id: 'logs-limit' }, LIMITS.map((n) => h('option', { value: String(n), text: `Last ${n} calls` })));
  limit.value = '500';
  const refresh = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  const body = h('div', {}, h('p', { class: 'loading', text: 'Loading API logs…' }));

  async function load() {
    setBusy(refresh, true);
    try {
      const { logs } = await Api.logs(Number(limit.value));
      if (!alive) return;
      if (!logs.length) {
        replace(body, emptyState('No API calls yet', 'Every call made with your API keys is logged here, newest first.'));
        return;
      }
      replace(body, stats(logs), chart(logs, logs.length < Number(limit.value)), h('h2', { class: 'section-title', text: 'Calls' }), table(logs));
    } catch (error) {
      if (!alive || (error instanceof ApiError && error.status === 401)) return;
      replace(body, notice('bad', h('strong', { text: 'Could not load the logs. ' }), error.message));
    } finally {
      setBusy(refresh, false);
    }
  }

  limit.addEventListener('change', load);
  refresh.addEventListener('click', load);
  append(
    main,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', { class: 'page-title', text: 'API logs' }),
        h('p', { class: 'page-lede', text: 'Calls made with your API keys, newest first.' }),
      ),
      h(
        'div',
        { class: 'page-actions' },
        h('label', { for: limit.id, class: 'visually-hidden', text: 'How many calls' }),
        limit,
        refresh,
      ),
    ),
    body,
  );
  load();
  return () => {
    alive = false;
  };
}
