// One webhook: its settings and actions (test, edit, pause, rotate the secret, delete), its
// deliveries with their attempts and payloads, redelivery, and recovery of dead deliveries.

import { Api, ApiError } from './api.js';
import {
  append,
  badge,
  clearErrors,
  confirmDialog,
  copyText,
  deliveryBadge,
  emptyState,
  field,
  flash,
  formatTime,
  h,
  httpStatus,
  notice,
  prettyJson,
  relativeTime,
  replace,
  setBusy,
  showError,
  td,
  timeEl,
  uid,
  webhookState,
} from './dom.js';
import { renderHealth } from './health.js';
import { formCard, testResult, webhookForm } from './webhooks.js';

const PAGE_SIZE = 25;
const POLL_MS = 3000;
const STATUSES = ['pending', 'succeeded', 'retrying', 'dead', 'failed', 'throttled', 'held'];

function localInputValue(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The circuit breaker's state: closed (posts flow), or open / half-open with its probe times. */
function circuitState(circuit) {
  if (!circuit || circuit.state === 'closed') return [badge('Closed', 'ok')];
  const label = circuit.state === 'open' ? 'Open: deliveries held' : 'Half-open: probing';
  return [
    badge(label, 'warn'),
    circuit.since ? h('span', { class: 'muted small', text: ' since ' }) : null,
    circuit.since ? timeEl(circuit.since) : null,
    circuit.nextProbeAt ? h('span', { class: 'muted small', text: ' · next probe ' }) : null,
    circuit.nextProbeAt ? timeEl(circuit.nextProbeAt) : null,
  ];
}

const VERIFICATION = {
  verified: ['Verified', 'ok', 'The receiver answered its ownership challenge'],
  pending: ['Pending', 'warn', 'Not verified yet: use Verify now, or open the link its challenge carried'],
  failed: ['Failed', 'bad', 'The last challenge was not echoed: fix the receiver, then Verify now'],
};

function verificationState(verification) {
  const [text, tone, title] = VERIFICATION[verification.status] || [String(verification.status), 'neutral'];
  return h(
    'span',
    { id: 'verification-state' },
    badge(text, tone, title),
    verification.verifiedAt ? [' ', timeEl(verification.verifiedAt)] : null,
  );
}

export function renderWebhook(main, { id }) {
  let alive = true;
  let webhook = null;
  const back = h('a', { href: '#/webhooks', class: 'back-link', text: '← All webhooks' });
  const headSlot = h('div', { class: 'detail-head' }, h('p', { class: 'loading', text: 'Loading webhook…' }));
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const secretSlot = h('div');
  const editSlot = h('div');
  const summarySlot = h('div');
  const healthSlot = h('div');
  const sections = h('div', { class: 'sections' });
  append(main, back, headSlot, messages, secretSlot, editSlot, summarySlot, healthSlot, sections);

  const say = (node) => replace(messages, node);

  // ------------------------------------------------------------------ the webhook itself
  function renderHead() {
    const test = h('button', { type: 'button', class: 'btn', id: 'send-test', text: 'Send test' });
    const edit = h('button', { type: 'button', class: 'btn', id: 'edit-webhook', text: 'Edit' });
    const toggle = h('button', {
      type: 'button',
      class: 'btn',
      id: 'toggle-webhook',
      text: webhook.enabled ? 'Pause' : 'Enable',
    });
    const rotate = h('button', { type: 'button', class: 'btn', id: 'rotate-secret', text: 'Rotate secret' });
    const remove = h('button', { type: 'button', class: 'btn btn-danger-quiet', id: 'delete-webhook', text: 'Delete' });
    test.title = 'POST a sample event to the receiver now (works while paused, too)';
    const verify = webhook.verification
      ? h('button', { type: 'button', class: 'btn', id: 'verify-webhook', text: 'Verify now' })
      : null;
    verify?.addEventListener('click', async () => {
      setBusy(verify, true, 'Verifying…');
      try {
        const outcome = await Api.verify(webhook.id);
        webhook = await Api.webhook(webhook.id);
        renderAll();
        say(
          outcome.verified
            ? notice('ok', 'Verified: the receiver echoed its challenge.')
            : notice('bad', h('strong', { text: 'Not verified. ' }), outcome.error || ''),
        );
      } catch (error) {
        setBusy(verify, false);
        say(notice('bad', error.message));
      }
    });

    test.addEventListener('click', async () => {
      setBusy(test, true, 'Sending…');
      try {
        say(testResult(await Api.test(webhook.id)));
        deliveries.poll(true);
      } catch (error) {
        say(notice('bad', error.message));
      } finally {
        setBusy(test, false);
      }
    });
    edit.addEventListener('click', openEdit);
    toggle.addEventListener('click', async () => {
      setBusy(toggle, true, webhook.enabled ? 'Pausing…' : 'Enabling…');
      try {
        webhook = await Api.update(webhook.id, { enabled: !webhook.enabled });
        say(
          notice(
            'ok',
            webhook.enabled
              ? 'Enabled: new events are delivered again.'
              : 'Paused: no events are delivered until you enable it again.',
          ),
        );
        renderAll();
        document.getElementById('toggle-webhook')?.focus();
      } catch (error) {
        setBusy(toggle, false);
        say(notice('bad', error.message));
      }
    });
    rotate.addEventListener('click', () => rotateSecret(rotate));
    remove.addEventListener('click', async () => {
      const ok = await confirmDialog({
        title: 'Delete this webhook?',
        body: `${webhook.event} → ${webhook.url}. Deliveries stop at once; this cannot be undone.`,
        confirmLabel: 'Delete webhook',
        tone: 'danger',
      });
      if (!ok) {
        remove.focus();
        return;
      }
      setBusy(remove, true, 'Deleting…');
      try {
        await Api.remove(webhook.id);
        flash(notice('ok', h('strong', { text: 'Webhook deleted. ' }), `${webhook.event} → ${webhook.url}`));
        location.hash = '#/webhooks';
      } catch (error) {
        setBusy(remove, false);
        say(notice('bad', error.message));
      }
    });

    replace(
      headSlot,
      h(
        'div',
        { class: 'detail-title-row' },
        h('h1', { class: 'page-title' }, h('span', { class: 'mono-title', text: webhook.event }), ' ', webhookState(webhook)),
        h('div', { class: 'page-actions' }, verify, test, edit, toggle, rotate, remove),
      ),
      h('p', { class: 'url mono detail-url', text: webhook.url }),
      webhook.description ? h('p', { class: 'description detail-description', text: webhook.description }) : null,
    );
  }

  function renderSummary() {
    const filter = webhook.filter && Object.keys(webhook.filter).length;
    const item = (label, ...value) => h('div', { class: 'summary-item' }, h('dt', { text: label }), h('dd', {}, ...value));
    replace(
      summarySlot,
      h(
        'section',
        { class: 'card summary', 'aria-label': 'Settings' },
        h(
          'dl',
          { class: 'summary-grid' },
          item('Webhook ID', h('span', { class: 'mono small', text: webhook.id })),
          item('Created', timeEl(webhook.createdAt)),
          item('Updated', timeEl(webhook.updatedAt)),
          item(
            'Last triggered',
            webhook.lastTriggered ? timeEl(webhook.lastTriggered) : h('span', { class: 'muted', text: 'never' }),
          ),
          item(
            'Consecutive failures',
            h('span', { class: webhook.failCount ? 'num num-bad' : 'num', text: String(webhook.failCount ?? 0) }),
          ),
          item('Signing secret', webhook.hasSecret ? badge('Set', 'ok') : badge('None: posts are unsigned', 'warn')),
          item('Circuit', ...circuitState(webhook.circuit)),
          item(
            'Rate limit',
            webhook.rateLimit
              ? h('span', {
                  class: 'num',
                  text: `${webhook.rateLimit.count} per ${webhook.rateLimit.periodSeconds} s · lag ${webhook.throttle?.lagSeconds ?? 0} s`,
                })
              : h('span', { class: 'muted', text: 'none' }),
          ),
          item(
            'Custom headers',
            webhook.headerNames?.length
              ? h('span', { class: 'mono small', text: webhook.headerNames.join(', ') })
              : h('span', { class: 'muted', text: 'none' }),
          ),
          item(
            'OAuth2',
            webhook.auth
              ? h('span', { class: 'mono small', text: `${webhook.auth.clientId} @ ${webhook.auth.tokenUrl}` })
              : h('span', { class: 'muted', text: 'none' }),
          ),
          item('v1a signature', webhook.asymmetricSignature ? badge('On', 'ok') : h('span', { class: 'muted', text: 'off' })),
          webhook.verification ? item('Ownership', verificationState(webhook.verification)) : null,
          item(
            'Filter',
            filter
              ? h('pre', { class: 'code-block small', text: JSON.stringify(webhook.filter, null, 2) })
              : h('span', { class: 'muted', text: 'none: every event of this type' }),
          ),
        ),
      ),
    );
  }

  function renderAll() {
    renderHead();
    renderSummary();
  }

  function openEdit() {
    if (editSlot.firstChild) return;
    const { form, focus } = webhookForm({
      initial: webhook,
      onDone: (updated) => {
        webhook = updated;
        replace(editSlot);
        renderAll();
        say(notice('ok', 'Saved.'));
        document.getElementById('edit-webhook')?.focus();
      },
      onCancel: () => {
        replace(editSlot);
        document.getElementById('edit-webhook')?.focus();
      },
    });
    append(editSlot, formCard('edit-title', 'Edit webhook', form));
    focus();
  }

  async function rotateSecret(button) {
    const own = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
    const ok = await confirmDialog({
      title: 'Rotate the signing secret?',
      body: 'Posts are signed with a new secret from now on. The current one stays valid for an overlap period, so your receiver can switch without losing events.',
      confirmLabel: 'Rotate secret',
      content: field({
        label: 'New secret',
        name: 'secret',
        control: own,
        optional: true,
        hint: 'Leave empty and the service generates a strong one, shown to you once.',
      }),
    });
    if (!ok) {
      button.focus();
      return;
    }
    setBusy(button, true, 'Rotating…');
    try {
      const answer = await Api.rotate(webhook.id, own.value ? { secret: own.value } : {});
      const { secret, previousSecretValidUntil, ...rest } = answer;
      webhook = rest;
      renderAll();
      const until = previousSecretValidUntil
        ? h('p', { class: 'muted small' }, 'The previous secret stays valid until ', timeEl(previousSecretValidUntil), '.')
        : null;
      if (secret) showSecretOnce(secret, until);
      else say(notice('ok', h('strong', { text: 'Secret rotated. ' }), until ? until.textContent : ''));
    } catch (error) {
      setBusy(button, false);
      say(notice('bad', error.message));
    }
  }

  function showSecretOnce(secret, until) {
    const inputId = uid('secret');
    const value = h('input', { id: inputId, type: 'text', readOnly: true, class: 'mono secret-value', value: secret, spellcheck: 'false' });
    const copy = h('button', { type: 'button', class: 'btn btn-primary', id: 'copy-secret', text: 'Copy' });
    const status = h('span', { class: 'copy-status small', role: 'status' });
    const done = h('button', { type: 'button', class: 'btn', text: 'Done' });
    copy.addEventListener('click', async () => {
      if (await copyText(secret)) {
        status.textContent = 'Copied to the clipboard.';
      } else {
        value.focus();
        value.select();
        status.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
      }
    });
    done.addEventListener('click', () => {
      replace(secretSlot);
      document.getElementById('rotate-secret')?.focus();
    });
    replace(
      secretSlot,
      h(
        'section',
        { class: 'card secret-card', 'aria-labelledby': `${inputId}-title` },
        h('h2', { id: `${inputId}-title`, class: 'card-title', text: 'New signing secret' }),
        h('p', { text: 'Copy it now and give it to your receiver: it is shown only this once and cannot be read again.' }),
        h('label', { for: inputId, class: 'visually-hidden', text: 'New signing secret' }),
        h('div', { class: 'secret-row' }, value, copy),
        status,
        until,
        h('div', { class: 'form-actions' }, done),
      ),
    );
    copy.focus();
  }

  // ------------------------------------------------------------------ deliveries
  const deliveries = deliveriesSection(id, {
    changed: async () => {
      try {
        const before = webhook;
        webhook = await Api.webhook(id);
        if (!alive) return;
        renderSummary();
        // The actions are redrawn only when the state changed (e.g. disabled after failures), keeping focus.
        if (before.enabled !== webhook.enabled || before.disabledReason !== webhook.disabledReason) {
          const focused = headSlot.contains(document.activeElement) ? document.activeElement.id : null;
          renderHead();
          if (focused) document.getElementById(focused)?.focus();
        }
      } catch {
        // the next poll tries again
      }
    },
    isAlive: () => alive,
  });

  async function load() {
    try {
      webhook = await Api.webhook(id);
    } catch (error) {
      if (!alive || (error instanceof ApiError && error.status === 401)) return;
      replace(headSlot);
      if (error instanceof ApiError && error.status === 404) {
        append(
          headSlot,
          emptyState(
            'Webhook not found',
            'It may have been deleted, or it belongs to another developer.',
            h('a', { href: '#/webhooks', class: 'btn', text: 'Back to webhooks' }),
          ),
        );
      } else {
        append(headSlot, notice('bad', h('strong', { text: 'Could not load this webhook. ' }), error.message));
      }
      return;
    }
    if (!alive) return;
    renderAll();
    renderHealth(healthSlot, id, () => alive);
    append(sections, deliveries.element, recoverSection(id, deliveries));
    deliveries.load();
  }

  load();
  return () => {
    alive = false;
    deliveries.stop();
  };
}

function deliveriesSection(webhookId, { changed, isAlive }) {
  const rows = new Map();
  let cursor = null;
  let status = '';
  let polling = false;
  let generation = 0;

  const statusSelect = h(
    'select',
    { id: uid('status') },
    h('option', { value: '', text: 'All statuses' }),
    STATUSES.map((s) => h('option', { value: s, text: s })),
  );
  const refresh = h('button', { type: 'button', class: 'btn btn-small', text: 'Refresh' });
  const live = h('span', { class: 'live small muted', title: 'The list refreshes every few seconds' }, h('span', { class: 'live-dot' }), 'Live');
  const tbody = h('tbody');
  const listSlot = h('div', {}, h('p', { class: 'loading', text: 'Loading deliveries…' }));
  const more = h('button', { type: 'button', class: 'btn', text: 'Load more', hidden: true });
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const table = h(
    'div',
    { class: 'table-wrap card' },
    h(
      'table',
      { class: 'table responsive deliveries-table' },
      h('caption', { class: 'visually-hidden', text: 'Deliveries, newest first' }),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ['Status', 'Created', 'Event', 'Attempts', 'Last answer', 'Next attempt', ''].map((name) =>
            h('th', { scope: 'col' }, name || h('span', { class: 'visually-hidden', text: 'Details' })),
          ),
        ),
      ),
      tbody,
    ),
  );

  const element = h(
    'section',
    { class: 'section', 'aria-labelledby': 'deliveries-title' },
    h(
      'div',
      { class: 'section-head' },
      h('h2', { id: 'deliveries-title', class: 'section-title', text: 'Deliveries' }),
      h(
        'div',
        { class: 'toolbar' },
        live,
        h('label', { for: statusSelect.id, class: 'inline-label', text: 'Status' }),
        statusSelect,
        refresh,
      ),
    ),
    messages,
    listSlot,
    h('div', { class: 'more' }, more),
  );

  statusSelect.addEventListener('change', () => {
    status = statusSelect.value;
    load();
  });
  refresh.addEventListener('click', () => load());
  more.addEventListener('click', async () => {
    setBusy(more, true, 'Loading…');
    const mine = generation;
    try {
      const answer = await Api.deliveries(webhookId, { limit: PAGE_SIZE, status, cursor });
      if (mine !== generation) return;
      for (const delivery of answer.deliveries) {
        if (!rows.has(delivery.deliveryId)) tbody.append(...addRow(delivery));
      }
      cursor = answer.nextCursor;
    } catch (error) {
      replace(messages, notice('bad', error.message));
    } finally {
      setBusy(more, false);
      more.hidden = !cursor;
    }
  });

  function summaryCells(delivery) {
    const answer = [];
    if (delivery.lastStatus !== null && delivery.lastStatus !== undefined) answer.push(httpStatus(delivery.lastStatus));
    if (delivery.lastError && !(delivery.lastStatus && delivery.lastError === `HTTP ${delivery.lastStatus}`)) {
      answer.push(h('span', { class: 'error-text', text: delivery.lastError }));
    }
    return [
      td('Status', deliveryBadge(delivery.status)),
      td('Created', timeEl(delivery.createdAt)),
      td('Event', h('span', { class: 'mono small', text: delivery.event }), delivery.test ? badge('test', 'neutral') : null),
      td('Attempts', h('span', { class: 'num', text: String(delivery.attemptCount ?? 0) })),
      td('Last answer', answer.length ? h('span', { class: 'answer' }, answer) : h('span', { class: 'muted', text: '—' })),
      td(
        'Next attempt',
        delivery.nextAttemptAt && (delivery.status === 'retrying' || delivery.status === 'pending')
          ? h('time', { datetime: delivery.nextAttemptAt, title: formatTime(delivery.nextAttemptAt), text: relativeTime(delivery.nextAttemptAt) })
          : h('span', { class: 'muted', text: '—' }),
      ),
    ];
  }

  function addRow(delivery) {
    const detailId = uid('delivery');
    const toggle = h('button', {
      type: 'button',
      class: 'btn btn-small btn-disclosure',
      'aria-expanded': 'false',
      'aria-controls': detailId,
      text: 'Details',
    });
    const tr = h('tr', { class: 'delivery-row', dataset: { deliveryId: delivery.deliveryId } });
    const detailCell = h('td', { colspan: 7, class: 'detail-cell' });
    const detailTr = h('tr', { class: 'delivery-detail', id: detailId, hidden: true }, detailCell);
    // Kept across redraws of the detail, so a message outlives the refresh it announces.
    const result = h('div', { class: 'detail-messages', 'aria-live': 'polite' });
    const entry = { delivery, tr, detailTr, detailCell, toggle, result, open: false };
    append(tr, summaryCells(delivery), td('', toggle));
    toggle.addEventListener('click', () => {
      entry.open = !entry.open;
      toggle.setAttribute('aria-expanded', String(entry.open));
      toggle.textContent = entry.open ? 'Hide' : 'Details';
      detailTr.hidden = !entry.open;
      tr.classList.toggle('is-open', entry.open);
      if (entry.open) {
        replace(entry.result);
        loadDetail(entry);
      }
    });
    rows.set(delivery.deliveryId, entry);
    return [tr, detailTr];
  }

  function updateRow(entry, delivery) {
    entry.delivery = delivery;
    const toggleCell = entry.tr.lastElementChild;
    replace(entry.tr, summaryCells(delivery), toggleCell);
    if (entry.open) loadDetail(entry, { quiet: true });
  }

  async function loadDetail(entry, { quiet = false } = {}) {
    if (!quiet) replace(entry.detailCell, h('p', { class: 'loading', text: 'Loading attempts…' }));
    try {
      const detail = await Api.delivery(webhookId, entry.delivery.deliveryId);
      if (!isAlive()) return;
      replace(entry.detailCell, deliveryDetail(entry, detail));
    } catch (error) {
      replace(entry.detailCell, notice('bad', error.message));
    }
  }

  function deliveryDetail(entry, detail) {
    const attempts = detail.attempts || [];
    const redeliver = h('button', { type: 'button', class: 'btn btn-small', text: 'Redeliver' });
    const { result } = entry;
    redeliver.addEventListener('click', async () => {
      setBusy(redeliver, true, 'Queuing…');
      try {
        await Api.redeliver(webhookId, detail.deliveryId);
        replace(result, notice('ok', 'Queued: the stored payload is posted again, freshly signed.'));
        setTimeout(() => poll(true), 1200);
      } catch (error) {
        replace(result, notice('bad', error.message));
      } finally {
        setBusy(redeliver, false);
      }
    });
    const settled = ['succeeded', 'dead', 'failed'].includes(detail.status);
    const expunge = h('button', {
      type: 'button',
      class: 'btn btn-small btn-danger-quiet',
      text: 'Expunge payload',
      hidden: detail.expunged || !settled,
    });
    expunge.addEventListener('click', async () => {
      const sure = await confirmDialog({
        title: 'Expunge this payload?',
        body:
          'The payload and the receiver’s answers are removed for good; the record stays. ' +
          'A payload over 4 KB is stored once for its event, so other deliveries of this event lose it too.',
        confirmLabel: 'Expunge',
        tone: 'danger',
      });
      if (!sure) return;
      setBusy(expunge, true, 'Expunging…');
      try {
        await Api.expungePayload(webhookId, detail.deliveryId);
        replace(result, notice('ok', 'Expunged: the payload and answers are gone; the record stays.'));
        loadDetail(entry, { quiet: true });
      } catch (error) {
        replace(result, notice('bad', error.message));
      } finally {
        setBusy(expunge, false);
      }
    });
    const attemptRows = attempts.map((attempt) =>
      h(
        'tr',
        {},
        td('#', h('span', { class: 'num', title: attempt.spanId ? `span ${attempt.spanId}` : undefined, text: String(attempt.attempt) })),
        td('Time', timeEl(attempt.attemptedAt)),
        td('Trigger', h('span', { class: 'small', text: attempt.trigger || '—' })),
        td('Status', httpStatus(attempt.status)),
        td('Latency', attempt.latencyMs !== null && attempt.latencyMs !== undefined ? `${attempt.latencyMs} ms` : '—'),
        td('Error', attempt.error ? h('span', { class: 'error-text', text: attempt.error }) : h('span', { class: 'muted', text: '—' })),
        td(
          'Receiver’s answer',
          attempt.responseExcerpt
            ? h('pre', { class: 'excerpt', text: attempt.responseExcerpt })
            : h('span', { class: 'muted', text: '(empty)' }),
        ),
      ),
    );
    return h(
      'div',
      { class: 'detail' },
      h(
        'div',
        { class: 'detail-bar' },
        h(
          'p',
          { class: 'small muted' },
          'Delivery ',
          h('span', { class: 'mono', text: detail.deliveryId }),
          ' · event ',
          h('span', { class: 'mono', text: detail.eventId }),
          ...(detail.traceId
            ? [' · trace ', h('span', { class: 'mono trace-id', title: 'W3C trace id: every post of this delivery carries it in traceparent', text: detail.traceId })]
            : []),
        ),
        h('span', { class: 'detail-actions' }, redeliver, expunge),
      ),
      result,
      h('h3', { class: 'detail-title', text: `Attempts (${attempts.length})` }),
      attempts.length
        ? h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'table responsive attempts-table' },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  ['#', 'Time', 'Trigger', 'Status', 'Latency', 'Error', 'Receiver’s answer'].map((name) =>
                    h('th', { scope: 'col', text: name }),
                  ),
                ),
              ),
              h('tbody', {}, attemptRows),
            ),
          )
        : h('p', { class: 'muted small', text: 'No attempt yet: it is queued.' }),
      h('h3', { class: 'detail-title', text: 'Payload' }),
      detail.payload
        ? h('pre', { class: 'code-block payload', tabindex: '0', text: prettyJson(detail.payload) })
        : h('p', {
            class: 'muted small',
            text: detail.expunged ? 'Expunged: the payload and answers were removed.' : 'No payload stored.',
          }),
    );
  }

  async function load() {
    generation += 1;
    const mine = generation;
    setBusy(refresh, true);
    try {
      const answer = await Api.deliveries(webhookId, { limit: PAGE_SIZE, status });
      if (mine !== generation || !isAlive()) return;
      rows.clear();
      tbody.replaceChildren();
      cursor = answer.nextCursor;
      more.hidden = !cursor;
      if (!answer.deliveries.length) {
        replace(
          listSlot,
          emptyState(
            status ? `No ${status} deliveries` : 'No deliveries yet',
            status
              ? 'Choose another status, or all of them.'
              : 'Matching events appear here as they are sent. Send a test to try the receiver now.',
          ),
        );
        return;
      }
      for (const delivery of answer.deliveries) tbody.append(...addRow(delivery));
      replace(listSlot, table);
    } catch (error) {
      if (mine !== generation || (error instanceof ApiError && error.status === 401)) return;
      replace(listSlot, notice('bad', h('strong', { text: 'Could not load deliveries. ' }), error.message));
    } finally {
      setBusy(refresh, false);
    }
  }

  /** Merge the newest page into the list: changed rows update in place, new ones go on top. */
  async function poll(force = false) {
    if (polling || (!force && document.hidden)) return;
    polling = true;
    const mine = generation;
    try {
      const answer = await Api.deliveries(webhookId, { limit: PAGE_SIZE, status });
      if (mine !== generation || !isAlive()) return;
      let anyChange = false;
      const fresh = [];
      for (const delivery of answer.deliveries) {
        const entry = rows.get(delivery.deliveryId);
        if (!entry) {
          fresh.push(delivery);
          continue;
        }
        const before = entry.delivery;
        if (
          before.status !== delivery.status ||
          before.attemptCount !== delivery.attemptCount ||
          before.lastAttemptAt !== delivery.lastAttemptAt ||
          before.nextAttemptAt !== delivery.nextAttemptAt
        ) {
          updateRow(entry, delivery);
          anyChange = true;
        }
      }
      if (fresh.length) {
        anyChange = true;
        const nodes = fresh.flatMap((delivery) => addRow(delivery));
        tbody.prepend(...nodes);
        if (listSlot.firstChild !== table) replace(listSlot, table);
        if (rows.size > fresh.length && !cursor && answer.nextCursor) {
          cursor = answer.nextCursor;
          more.hidden = false;
        }
      }
      if (anyChange) changed();
    } catch {
      // a failed poll is retried on the next tick
    } finally {
      polling = false;
    }
  }

  const ticker = setInterval(() => poll(), POLL_MS);
  return {
    element,
    load,
    poll,
    stop: () => clearInterval(ticker),
  };
}

function recoverSection(webhookId, deliveries) {
  const since = h('input', { type: 'datetime-local', required: true, value: localInputValue(new Date(Date.now() - 3600e3)) });
  const until = h('input', { type: 'datetime-local' });
  const submit = h('button', { type: 'submit', class: 'btn', text: 'Recover dead deliveries' });
  const result = h('div', { class: 'messages', 'aria-live': 'polite' });
  let lastWindow = null;
  const form = h(
    'form',
    { class: 'recover-form', novalidate: true, 'aria-labelledby': 'recover-title' },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h(
      'div',
      { class: 'form-row' },
      field({ label: 'Since', name: 'since', control: since }),
      field({ label: 'Until', name: 'until', control: until, optional: true, hint: 'Empty: now.' }),
      h('div', { class: 'field field-submit' }, submit),
    ),
  );

  async function recover(body) {
    setBusy(submit, true, 'Queuing…');
    try {
      const answer = await Api.recover(webhookId, body);
      lastWindow = answer.window;
      const parts = [
        h('strong', { text: answer.queued ? `Queued ${answer.queued} dead ${answer.queued === 1 ? 'delivery' : 'deliveries'} again. ` : 'Nothing to recover. ' }),
        answer.queued ? 'They are posted again in the next seconds; follow them above. ' : 'No dead deliveries in that window. ',
        h('span', { class: 'muted' }, `Window ${formatTime(answer.window.since)} – ${formatTime(answer.window.until)}.`),
      ];
      if (answer.notQueued) parts.push(` ${answer.notQueued} could not be queued; recover again.`);
      const tone = answer.queued ? 'ok' : 'info';
      if (answer.nextCursor) {
        const next = h('button', { type: 'button', class: 'btn btn-small', text: 'Recover the next batch' });
        next.addEventListener('click', () => recover({ since: lastWindow.since, until: lastWindow.until, cursor: answer.nextCursor }));
        replace(result, notice(tone, ...parts, ' More remain in this window. ', next));
      } else {
        replace(result, notice(tone, ...parts));
      }
      if (answer.queued) {
        deliveries.poll(true);
        setTimeout(() => deliveries.poll(true), 1500);
      }
    } catch (error) {
      replace(result);
      showError(form, error);
    } finally {
      setBusy(submit, false);
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors(form);
    if (!since.value) {
      showError(form, { field: 'since', message: 'Choose the start of the window.' });
      return;
    }
    const body = { since: new Date(since.value).toISOString() };
    if (until.value) body.until = new Date(until.value).toISOString();
    recover(body);
  });

  return h(
    'section',
    { class: 'section card recover-card', 'aria-labelledby': 'recover-title' },
    h('h2', { id: 'recover-title', class: 'section-title', text: 'Recover since…' }),
    h('p', {
      class: 'muted small',
      text: 'Once your receiver is healthy again, queue every dead delivery of this webhook in a time window once more (times are in your time zone).',
    }),
    form,
    result,
  );
}
