// The webhooks page: the table of a developer's webhooks and the form that creates one.

import { Api, ApiError, eventTypes } from './api.js';
import { overview, sparkline } from './health.js';
import {
  append,
  clearErrors,
  emptyState,
  field,
  h,
  notice,
  relativeTime,
  replace,
  setBusy,
  showError,
  takeFlash,
  td,
  timeEl,
  webhookState,
} from './dom.js';

// Success bars load by themselves for the first rows only; the others on request (rate limit).
const AUTO_BARS = 10;
const BAR_SAMPLE = 20;

/** The create / edit form. `initial` (a webhook) makes it an edit form that sends only what changed. */
export function webhookForm({ initial = null, onDone, onCancel }) {
  const editing = Boolean(initial);
  const event = h('select', { required: true }, h('option', { value: '', text: 'Loading event types…' }));
  const url = h('input', {
    type: 'url',
    inputmode: 'url',
    autocomplete: 'off',
    spellcheck: 'false',
    class: 'mono',
    placeholder: 'https://example.com/webhooks/events',
    required: true,
    value: initial?.url ?? '',
  });
  const secret = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false', class: 'mono' });
  const filterText = initial && Object.keys(initial.filter || {}).length ? JSON.stringify(initial.filter, null, 2) : '';
  const filter = h('textarea', {
    rows: 3,
    spellcheck: 'false',
    class: 'mono',
    placeholder: '{"toolName": ["erp_get_inventory"]}',
  });
  filter.value = filterText;
  const description = h('input', { type: 'text', autocomplete: 'off', value: initial?.description ?? '' });
  // Receiver controls: a rate limit, custom headers (write-only), v1a signatures.
  const rateCount = h('input', { type: 'number', min: '1', max: '10000', inputmode: 'numeric', value: initial?.rateLimit?.count ?? '' });
  const ratePeriod = h('input', {
    type: 'number',
    min: '1',
    max: '3600',
    inputmode: 'numeric',
    value: initial?.rateLimit?.periodSeconds ?? '1',
  });
  const headers = h('textarea', {
    rows: 2,
    spellcheck: 'false',
    class: 'mono',
    placeholder: initial?.headerNames?.length
      ? `Set: ${initial.headerNames.join(', ')} (values never shown). Empty: unchanged; {} removes them.`
      : '{"X-Gateway-Key": "…"}',
  });
  const asymmetric = h('input', { type: 'checkbox' });
  asymmetric.checked = Boolean(initial?.asymmetricSignature);
  // Ordered delivery per key: the key's dot path into data; empty: unordered.
  const orderBy = h('input', { type: 'text', autocomplete: 'off', placeholder: 'workflowId', value: initial?.ordering?.by ?? '' });
  const orderWindow = h('input', {
    type: 'number',
    min: '0',
    max: '60000',
    inputmode: 'numeric',
    value: initial?.ordering?.windowMs ?? '2000',
  });
  const onFailure = h(
    'select',
    {},
    h('option', { value: 'skip', text: 'skip: dead-letter it, the key goes on' }),
    h('option', { value: 'block', text: 'block: the key waits until you skip or redeliver' }),
  );
  onFailure.value = initial?.ordering?.onFailure ?? 'skip';
  const submit = h('button', { type: 'submit', class: 'btn btn-primary', text: editing ? 'Save changes' : 'Create webhook' });
  const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel' });
  cancel.addEventListener('click', () => onCancel?.());

  const form = h(
    'form',
    { class: 'webhook-form', novalidate: true, 'aria-label': editing ? 'Edit webhook' : 'New webhook' },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    h(
      'div',
      { class: 'form-grid' },
      field({ label: 'Event type', name: 'event', control: event }),
      field({
        label: 'Receiver URL',
        name: 'url',
        control: url,
        hint: 'Each matching event is POSTed here as JSON.',
      }),
      editing
        ? null
        : field({
            label: 'Signing secret',
            name: 'secret',
            control: secret,
            optional: true,
            hint: 'Signs every POST (X-Webhook-Signature). You can rotate it later.',
          }),
      field({
        label: 'Filter',
        name: 'filter',
        control: filter,
        optional: true,
        hint: 'A JSON object matched against the event’s data. Empty: every event of this type.',
      }),
      field({
        label: 'Description',
        name: 'description',
        control: description,
        optional: true,
        hint: 'A note for you, up to 256 characters.',
      }),
      field({
        label: 'Rate limit: posts',
        name: 'rateLimit.count',
        control: rateCount,
        optional: true,
        hint: 'At most this many posts per period to the receiver (retries, tests and probes included). Empty: no limit.',
      }),
      field({ label: 'Rate limit: period (seconds)', name: 'rateLimit.periodSeconds', control: ratePeriod, optional: true }),
      field({
        label: 'Custom headers',
        name: 'headers',
        control: headers,
        optional: true,
        hint: 'A JSON object of header names to values, sent on every post. Values are stored encrypted.',
      }),
      field({
        label: 'Asymmetric signature (v1a, Ed25519)',
        name: 'asymmetricSignature',
        control: asymmetric,
        optional: true,
        hint: 'Also sign with your own Ed25519 key; receivers verify with the keys GET /v1/events/signing-keys answers you.',
      }),
      field({
        label: 'Ordered by (key path)',
        name: 'ordering.by',
        control: orderBy,
        optional: true,
        hint: 'Posts of one key (the value at this path in data) arrive in the producer’s order, one at a time; other keys never wait. Empty: unordered.',
      }),
      field({ label: 'Ordering window (ms)', name: 'ordering.windowMs', control: orderWindow, optional: true }),
      field({ label: 'When a key’s post runs out of attempts', name: 'ordering.onFailure', control: onFailure, optional: true }),
    ),
    h('div', { class: 'form-actions' }, submit, cancel),
  );

  eventTypes()
    .then((types) => {
      const options = [];
      if (!editing) options.push(h('option', { value: '', text: 'Choose an event type…' }));
      for (const type of types) options.push(h('option', { value: type, text: type }));
      // Patterns: one webhook for every type of a namespace, or for every type (later ones too).
      const patterns = [...new Set(types.map((type) => type.split('.')[0]))].map((ns) => `${ns}.*`);
      for (const pattern of patterns) options.push(h('option', { value: pattern, text: `${pattern} (every ${pattern.slice(0, -2)} type)` }));
      options.push(h('option', { value: '*', text: '* (every type, including types added later)' }));
      if (editing && !types.includes(initial.event) && !patterns.includes(initial.event) && initial.event !== '*') options.push(h('option', { value: initial.event, text: initial.event }));
      replace(event, ...options);
      event.value = editing ? initial.event : '';
    })
    .catch((error) => {
      replace(event, h('option', { value: '', text: 'Could not load event types' }));
      showError(form, error, 'event');
    });

  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    clearErrors(form);
    let parsedFilter;
    const rawFilter = filter.value.trim();
    if (rawFilter) {
      try {
        parsedFilter = JSON.parse(rawFilter);
      } catch (error) {
        showError(form, { field: 'filter', message: `Not valid JSON: ${error.message}` });
        return;
      }
    }
    let parsedHeaders;
    const rawHeaders = headers.value.trim();
    if (rawHeaders) {
      try {
        parsedHeaders = JSON.parse(rawHeaders);
      } catch (error) {
        showError(form, { field: 'headers', message: `Not valid JSON: ${error.message}` });
        return;
      }
    }
    const rateLimit = rateCount.value
      ? { count: Number(rateCount.value), periodSeconds: Number(ratePeriod.value || '1') }
      : null;
    const ordering = orderBy.value.trim()
      ? { by: orderBy.value.trim(), windowMs: Number(orderWindow.value || '2000'), onFailure: onFailure.value }
      : null;
    let body;
    if (editing) {
      body = {};
      // The type list loads after the form opens: an empty choice means the type was not changed.
      if (event.value && event.value !== initial.event) body.event = event.value;
      if (url.value.trim() !== initial.url) body.url = url.value.trim();
      const nextFilter = parsedFilter === undefined ? {} : parsedFilter;
      if (JSON.stringify(nextFilter) !== JSON.stringify(initial.filter || {})) body.filter = nextFilter;
      if (description.value !== (initial.description ?? '')) body.description = description.value;
      if (JSON.stringify(rateLimit) !== JSON.stringify(initial.rateLimit ?? null)) body.rateLimit = rateLimit;
      if (parsedHeaders !== undefined) body.headers = parsedHeaders;
      if (asymmetric.checked !== Boolean(initial.asymmetricSignature)) body.asymmetricSignature = asymmetric.checked;
      if (JSON.stringify(ordering) !== JSON.stringify(initial.ordering ?? null)) body.ordering = ordering;
      if (!Object.keys(body).length) {
        showError(form, { message: 'Nothing changed.' });
        return;
      }
    } else {
      body = { event: event.value, url: url.value.trim() };
      if (secret.value) body.secret = secret.value;
      if (parsedFilter !== undefined) body.filter = parsedFilter;
      if (description.value) body.description = description.value;
      if (rateLimit) body.rateLimit = rateLimit;
      if (parsedHeaders !== undefined) body.headers = parsedHeaders;
      if (asymmetric.checked) body.asymmetricSignature = true;
      if (ordering) body.ordering = ordering;
    }
    setBusy(submit, true, editing ? 'Saving…' : 'Creating…');
    try {
      const webhook = editing ? await Api.update(initial.id, body) : await Api.create(body);
      setBusy(submit, false);
      onDone?.(webhook);
    } catch (error) {
      setBusy(submit, false);
      showError(form, error);
    }
  });

  return { form, focus: () => (editing ? url : event).focus() };
}

/** The card a webhook form sits in, titled, for creating or editing. */
export function formCard(titleId, title, form) {
  return h(
    'section',
    { class: 'card form-card', 'aria-labelledby': titleId },
    h('h2', { id: titleId, class: 'card-title', text: title }),
    form,
  );
}

export function testResult(result) {
  const latency = result.latencyMs !== null && result.latencyMs !== undefined ? ` in ${result.latencyMs} ms` : '';
  if (result.delivered) {
    return notice('ok', h('strong', { text: 'Test delivered. ' }), `The receiver answered HTTP ${result.status}${latency}.`);
  }
  const parts = [];
  if (result.status !== null && result.status !== undefined) parts.push(`The receiver answered HTTP ${result.status}`);
  if (result.error && result.error !== `HTTP ${result.status}`) parts.push(parts.length ? `(${result.error})` : result.error);
  return notice('bad', h('strong', { text: 'Test not delivered. ' }), `${parts.join(' ') || 'No answer'}${latency}.`);
}

function successBar(deliveries) {
  if (!deliveries.length) return h('span', { class: 'muted small', text: 'No deliveries yet' });
  const counts = { succeeded: 0, retrying: 0, dead: 0, failed: 0, pending: 0 };
  for (const delivery of deliveries) counts[delivery.status] = (counts[delivery.status] || 0) + 1;
  const finished = counts.succeeded + counts.dead + counts.failed + counts.retrying;
  const rate = finished ? Math.round((counts.succeeded / finished) * 100) : null;
  const summary = `${counts.succeeded} of ${deliveries.length} recent deliveries succeeded` +
    (counts.dead ? `, ${counts.dead} dead` : '') +
    (counts.failed ? `, ${counts.failed} failed tests` : '') +
    (counts.retrying ? `, ${counts.retrying} retrying` : '') +
    (counts.pending ? `, ${counts.pending} pending` : '');
  const bar = h('span', { class: 'rate-bar', role: 'img', 'aria-label': summary, title: summary });
  for (const [status, tone] of [
    ['succeeded', 'ok'],
    ['retrying', 'warn'],
    ['dead', 'bad'],
    ['failed', 'bad'],
    ['pending', 'info'],
  ]) {
    if (!counts[status]) continue;
    const segment = h('span', { class: `rate-seg rate-${tone}` });
    segment.style.width = `${(counts[status] / deliveries.length) * 100}%`;
    bar.append(segment);
  }
  return h('span', { class: 'rate' }, bar, h('span', { class: 'rate-label', text: rate === null ? '…' : `${rate}%` }));
}

export function renderWebhooks(main) {
  let alive = true;
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' }, takeFlash());
  const newButton = h('button', { type: 'button', class: 'btn btn-primary', id: 'new-webhook', text: 'New webhook' });
  const refresh = h('button', { type: 'button', class: 'btn', text: 'Refresh' });
  const formSlot = h('div', { class: 'form-slot' });
  const listSlot = h('div', { class: 'list-slot' }, h('p', { class: 'loading', text: 'Loading webhooks…' }));
  const count = h('span', { class: 'count' });

  const say = (node) => {
    replace(messages, node);
  };

  function openForm() {
    if (formSlot.firstChild) {
      formSlot.querySelector('select, input')?.focus();
      return;
    }
    newButton.setAttribute('aria-expanded', 'true');
    const { form, focus } = webhookForm({
      onDone: (webhook) => {
        closeForm();
        say(notice('ok', h('strong', { text: 'Webhook created. ' }), `${webhook.event} → ${webhook.url}`));
        load();
      },
      onCancel: closeForm,
    });
    append(formSlot, formCard('new-webhook-title', 'New webhook', form));
    focus();
  }

  function closeForm() {
    replace(formSlot);
    newButton.setAttribute('aria-expanded', 'false');
    newButton.focus();
  }

  newButton.setAttribute('aria-expanded', 'false');
  newButton.addEventListener('click', openForm);
  refresh.addEventListener('click', () => load());

  function loadBar(webhook, cell) {
    replace(cell, h('span', { class: 'muted small', text: 'Loading…' }));
    Api.deliveries(webhook.id, { limit: BAR_SAMPLE })
      .then((answer) => alive && replace(cell, successBar(answer.deliveries)))
      .catch((error) => alive && replace(cell, h('span', { class: 'muted small', text: error.message })));
  }

  let health = new Map(); // webhook id → its last 24 hours (GET /v1/events/stats)
  const healthCells = new Map();

  function fillHealth(id) {
    const cell = healthCells.get(id);
    const found = health.get(id);
    if (cell && found) replace(cell, sparkline(found));
  }

  function row(webhook, index, keptBarCell = null) {
    const tr = h('tr', { dataset: { webhookId: webhook.id } });
    // One cell, two figures: the last 24 hours (the stats overview) above the recent deliveries' bar.
    const cell = keptBarCell || td('Health');
    if (!keptBarCell) {
      cell.append(
        h('div', { class: 'health-slot' }, h('span', { class: 'muted small', text: '…' })),
        h('div', { class: 'bar-slot' }),
      );
    }
    const barCell = cell.querySelector('.bar-slot');
    healthCells.set(webhook.id, cell.querySelector('.health-slot'));
    fillHealth(webhook.id);
    const open = h('a', {
      href: `#/webhooks/${encodeURIComponent(webhook.id)}`,
      class: 'btn btn-small',
      text: 'Open',
      'aria-label': `Open ${webhook.event} webhook to ${webhook.url}`,
    });
    const test = h('button', { type: 'button', class: 'btn btn-small', text: 'Send test' });
    const toggle = h('button', {
      type: 'button',
      class: 'btn btn-small',
      text: webhook.enabled ? 'Pause' : 'Enable',
    });
    test.title = 'POST a sample event to the receiver now (works while paused, too)';
    test.addEventListener('click', async () => {
      setBusy(test, true, 'Sending…');
      try {
        const result = await Api.test(webhook.id);
        say(h('div', {}, h('p', { class: 'notice-context', text: `${webhook.event} → ${webhook.url}` }), testResult(result)));
        loadBar(webhook, barCell);
      } catch (error) {
        say(notice('bad', error.message));
      } finally {
        setBusy(test, false);
      }
    });
    toggle.addEventListener('click', async () => {
      setBusy(toggle, true, webhook.enabled ? 'Pausing…' : 'Enabling…');
      try {
        const updated = await Api.update(webhook.id, { enabled: !webhook.enabled });
        const fresh = row(updated, index, cell);
        tr.replaceWith(fresh);
        fresh.querySelector('td:last-child button:last-of-type')?.focus();
        say(notice('ok', `${updated.enabled ? 'Enabled' : 'Paused'}: ${updated.event} → ${updated.url}`));
      } catch (error) {
        setBusy(toggle, false);
        say(notice('bad', error.message));
      }
    });
    append(
      tr,
      td(
        'Webhook',
        h(
          'div',
          { class: 'hook' },
          h('a', { href: `#/webhooks/${encodeURIComponent(webhook.id)}`, class: 'event-link', text: webhook.event }),
          h('span', { class: 'url mono', text: webhook.url }),
        ),
      ),
      td(
        'Description',
        webhook.description
          ? h('span', { class: 'description', text: webhook.description })
          : h('span', { class: 'muted', text: '—' }),
      ),
      td('State', webhookState(webhook)),
      td('Failures', h('span', { class: webhook.failCount ? 'num num-bad' : 'num', text: String(webhook.failCount ?? 0) })),
      td(
        'Last triggered',
        webhook.lastTriggered
          ? timeEl(webhook.lastTriggered, { relative: true })
          : h('span', { class: 'muted', text: 'never' }),
      ),
      cell,
      td('Actions', h('div', { class: 'row-actions' }, open, test, toggle)),
    );
    if (keptBarCell) return tr;
    if (index < AUTO_BARS) loadBar(webhook, barCell);
    else {
      const show = h('button', { type: 'button', class: 'btn btn-link btn-small', text: 'Show' });
      show.addEventListener('click', () => loadBar(webhook, barCell));
      barCell.append(show);
    }
    return tr;
  }

  async function load() {
    setBusy(refresh, true);
    try {
      const { webhooks } = await Api.webhooks();
      if (!alive) return;
      count.textContent = webhooks.length ? String(webhooks.length) : '';
      if (!webhooks.length) {
        const create = h('button', { type: 'button', class: 'btn btn-primary', text: 'Create your first webhook' });
        create.addEventListener('click', openForm);
        replace(
          listSlot,
          emptyState(
            'No webhooks yet',
            'A webhook sends every platform event of one type to your URL as a signed POST.',
            create,
          ),
        );
        return;
      }
      const sorted = [...webhooks].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
      const body = h('tbody', {}, sorted.map((webhook, index) => row(webhook, index)));
      replace(
        listSlot,
        h(
          'div',
          { class: 'table-wrap card' },
          h(
            'table',
            { class: 'table responsive webhooks-table' },
            h('caption', { class: 'visually-hidden', text: 'Your webhooks, newest first' }),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Webhook', 'Description', 'State', 'Failures', 'Last triggered', 'Health', 'Actions'].map(
                  (name) => h('th', { scope: 'col', text: name }),
                ),
              ),
            ),
            body,
          ),
        ),
      );
      overview()
        .then((found) => {
          if (!alive) return;
          health = found;
          for (const id of healthCells.keys()) fillHealth(id);
        })
        .catch((error) => {
          if (!alive) return;
          for (const cell of healthCells.values()) replace(cell, h('span', { class: 'muted small', text: error.message }));
        });
    } catch (error) {
      if (!alive) return;
      if (error instanceof ApiError && error.status === 401) return;
      replace(listSlot, notice('bad', h('strong', { text: 'Could not load webhooks. ' }), error.message));
    } finally {
      setBusy(refresh, false);
    }
  }

  append(
    main,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', { class: 'page-title' }, 'Webhooks ', count),
        h('p', { class: 'page-lede', text: 'Each webhook receives the platform events of one type as signed HTTP POSTs.' }),
      ),
      h('div', { class: 'page-actions' }, refresh, newButton),
    ),
    messages,
    formSlot,
    listSlot,
  );
  load();
  const ticker = setInterval(() => {
    for (const time of main.querySelectorAll('td[data-label="Last triggered"] time')) {
      time.textContent = relativeTime(time.getAttribute('datetime'));
    }
  }, 15000);
  return () => {
    alive = false;
    clearInterval(ticker);
  };
}
