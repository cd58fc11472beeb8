// Health figures (GET …/stats): a webhook's success rate and receiver latency over the last 24 hours
// and 7 days, and a one-line sparkline per webhook for the list. Hand-drawn SVG: no chart library,
// no inline style (CSP): geometry goes in SVG attributes, colours in classes (style.css).

import { Api } from './api.js';
import { h, replace } from './dom.js';

const NS = 'http://www.w3.org/2000/svg';
const HOUR = 3600_000;
const DAY = 24 * HOUR;

function svg(tag, attributes = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attributes)) el.setAttribute(name, String(value));
  for (const child of children) if (child) el.append(child);
  return el;
}

/** ok ≥ 99 %, warn ≥ 90 %, bad below; none without attempts. */
export function tone(rate) {
  if (rate === null || rate === undefined) return 'none';
  return rate >= 0.99 ? 'ok' : rate >= 0.9 ? 'warn' : 'bad';
}

export const percent = (rate) => (rate === null || rate === undefined ? '—' : `${(rate * 100).toFixed(rate >= 0.999 || rate === 0 ? 0 : 1)}%`);
const ms = (figures, name) => figures?.[name] ?? null;
const msText = (value) => (value === null ? '—' : value >= 10_000 ? `${(value / 1000).toFixed(0)} s` : `${value} ms`);

function timeLabel(iso, granularity) {
  const d = new Date(iso);
  const pad = (n) => String(n).padStart(2, '0');
  const day = `${d.getMonth() + 1}/${d.getDate()}`;
  return granularity === 'day' ? day : `${day} ${pad(d.getHours())}:00`;
}

/** Bars of success rate per bucket (height: rate; colour: its tone; grey: no attempts). */
function rateBars(buckets, width, height) {
  const step = width / Math.max(buckets.length, 1);
  const plot = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'health-svg', 'aria-hidden': 'true', preserveAspectRatio: 'none' });
  for (const [i, bucket] of buckets.entries()) {
    const rate = bucket.successRate;
    const barHeight = rate === null ? 2 : Math.max(2, rate * (height - 2));
    const bar = svg('rect', {
      x: (i * step + step * 0.12).toFixed(2),
      y: (height - barHeight).toFixed(2),
      width: (step * 0.76).toFixed(2),
      height: barHeight.toFixed(2),
      class: `health-bar health-${tone(rate)}`,
    });
    bar.append(svg('title', {}, document.createTextNode(`${timeLabel(bucket.start, 'hour')}: ${percent(rate)} of ${bucket.attempts}`)));
    plot.append(bar);
  }
  return plot;
}

/** p50 and p99 receiver latency per bucket, as two lines on a shared scale. */
function latencyLines(buckets, width, height) {
  const values = buckets.flatMap((b) => [ms(b.receiverLatencyMs, 'p50'), ms(b.receiverLatencyMs, 'p99')]).filter((v) => v !== null);
  const top = Math.max(1, ...values);
  const step = width / Math.max(buckets.length, 1);
  const plot = svg('svg', { viewBox: `0 0 ${width} ${height}`, class: 'health-svg', 'aria-hidden': 'true', preserveAspectRatio: 'none' });
  plot.append(svg('line', { x1: 0, x2: width, y1: height - 0.5, y2: height - 0.5, class: 'health-axis' }));
  for (const [name, cls] of [['p99', 'health-p99'], ['p50', 'health-p50']]) {
    const points = buckets
      .map((b, i) => [i, ms(b.receiverLatencyMs, name)])
      .filter(([, v]) => v !== null)
      .map(([i, v]) => `${(i * step + step / 2).toFixed(1)},${(height - 2 - (v / top) * (height - 6)).toFixed(1)}`);
    if (points.length > 1) plot.append(svg('polyline', { points: points.join(' '), class: `health-line ${cls}` }));
    for (const point of points) {
      const [x, y] = point.split(',');
      plot.append(svg('rect', { x: Number(x) - 1.5, y: Number(y) - 1.5, width: 3, height: 3, class: `health-dot ${cls}` }));
    }
  }
  return { plot, top };
}

function figure(label, value, cls = '') {
  return h('div', { class: 'health-figure' }, h('span', { class: `health-value ${cls}`, text: value }), h('span', { class: 'health-label', text: label }));
}

/** One window's card: headline figures, success-rate bars, p50/p99 lines. */
export function healthCard(title, answer, id) {
  const totals = answer.totals;
  const summary =
    `${title}: ${totals.attempts} attempts, ${percent(totals.successRate)} succeeded` +
    (totals.receiverLatencyMs ? `, receiver latency p50 ${totals.receiverLatencyMs.p50} ms, p99 ${totals.receiverLatencyMs.p99} ms` : '');
  const { plot, top } = latencyLines(answer.buckets, 240, 60);
  const first = answer.buckets[0];
  const last = answer.buckets[answer.buckets.length - 1];
  return h(
    'section',
    { class: 'card health-card', id, 'aria-label': summary },
    h('h3', { class: 'card-title', text: title }),
    h(
      'div',
      { class: 'health-figures' },
      figure('success', percent(totals.successRate), `health-text-${tone(totals.successRate)}`),
      figure('p50', msText(ms(totals.receiverLatencyMs, 'p50'))),
      figure('p99', msText(ms(totals.receiverLatencyMs, 'p99'))),
      figure('attempts', String(totals.attempts)),
      figure('dead', String(totals.dead), totals.dead ? 'health-text-bad' : ''),
    ),
    h('div', { class: 'health-plot', role: 'img', 'aria-label': `Success rate per ${answer.granularity}` }, rateBars(answer.buckets, 240, 48)),
    h('p', { class: 'health-caption muted small', text: `Success rate per ${answer.granularity}` }),
    h('div', { class: 'health-plot', role: 'img', 'aria-label': `Receiver latency p50 and p99 per ${answer.granularity}, up to ${top} ms` }, plot),
    h(
      'p',
      { class: 'health-caption muted small' },
      h('span', { class: 'legend-swatch health-swatch-p50' }), ' p50 ',
      h('span', { class: 'legend-swatch health-swatch-p99' }), ` p99 receiver latency (top ${msText(top)})`,
    ),
    first ? h('div', { class: 'health-x muted small' }, h('span', { text: timeLabel(first.start, answer.granularity) }), h('span', { text: timeLabel(last.start, answer.granularity) })) : null,
  );
}

/** The webhook page's health section: the last 24 hours by hour, the last 7 days by day. */
export function renderHealth(slot, webhookId, isAlive = () => true) {
  replace(slot, h('p', { class: 'loading', text: 'Loading health…' }));
  const now = Date.now();
  const iso = (t) => new Date(t).toISOString();
  Promise.all([
    Api.stats(webhookId, { since: iso(now - DAY), until: iso(now), granularity: 'hour' }),
    Api.stats(webhookId, { since: iso(now - 7 * DAY), until: iso(now), granularity: 'day' }),
  ])
    .then(([day, week]) => {
      if (!isAlive()) return;
      replace(
        slot,
        h(
          'section',
          { class: 'health', id: 'webhook-health', 'aria-label': 'Health' },
          h('h2', { class: 'section-title', text: 'Health' }),
          h('div', { class: 'health-cards' }, healthCard('Last 24 hours', day, 'health-24h'), healthCard('Last 7 days', week, 'health-7d')),
        ),
      );
    })
    .catch((error) => isAlive() && replace(slot, h('p', { class: 'muted small', text: `Health: ${error.message}` })));
}

/** The list's cell: 24 hourly bars and the day's success rate. */
export function sparkline(row) {
  if (!row.totals.attempts) return h('span', { class: 'muted small', text: 'No attempts in 24 h' });
  const totals = row.totals;
  const summary = `Last 24 hours: ${percent(totals.successRate)} of ${totals.attempts} attempts succeeded` +
    (totals.receiverLatencyMs ? `, p50 ${totals.receiverLatencyMs.p50} ms` : '');
  return h(
    'span',
    { class: 'health-spark', role: 'img', 'aria-label': summary, title: summary },
    rateBars(row.buckets.slice(-24), 96, 20),
    h('span', { class: `health-spark-label health-text-${tone(totals.successRate)}`, text: percent(totals.successRate) }),
  );
}

/** Every webhook's last 24 hours, page after page: id → row. */
export async function overview() {
  const found = new Map();
  let cursor;
  for (let page = 0; page < 8; page += 1) {
    const answer = await Api.statsOverview({ limit: 25, cursor });
    for (const row of answer.webhooks) found.set(row.webhookId, row);
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return found;
}
