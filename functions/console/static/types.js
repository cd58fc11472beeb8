// Event types: the catalogue as the API serves it (GET /v1/events/types/{name}) — each type's
// description, the fields of its data and an example — and "send this example" as a test to one
// of the developer's webhooks (POST …/test with {event}: the service posts the catalogue example).

import { Api, ApiError, eventTypes } from './api.js';
import { append, badge, emptyState, h, notice, prettyJson, replace, setBusy, td, uid } from './dom.js';
import { testResult } from './webhooks.js';

const DETAIL_CONCURRENCY = 3;

function typeOf(schema) {
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  if (schema.enum) return `one of ${schema.enum.join(', ')}`;
  return schema.type || 'any JSON';
}

function fieldsTable(declared) {
  const required = new Set(declared.schema.required || []);
  const rows = Object.entries(declared.schema.properties || {}).map(([name, schema]) =>
    h(
      'tr',
      {},
      td('Field', h('code', { class: 'mono', text: name })),
      td('Type', typeOf(schema)),
      td('Required', required.has(name) ? 'yes' : 'no'),
      td('Description', schema.description || ''),
    ),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table type-fields' },
      h('caption', { class: 'visually-hidden', text: `Fields of ${declared.name} data` }),
      h('thead', {}, h('tr', {}, ...['Field', 'Type', 'Required', 'Description'].map((t) => h('th', { scope: 'col', text: t })))),
      h('tbody', {}, rows),
    ),
    declared.schema.additionalProperties === false
      ? null
      : h('p', { class: 'muted small', text: 'Other fields are allowed.' }),
  );
}

function sendForm(declared, allWebhooks) {
  const result = h('div', { class: 'messages', 'aria-live': 'polite' });
  // Only webhooks of this type: a receiver must never get a type it did not subscribe to.
  const webhooks = allWebhooks.filter((webhook) => webhook.event === declared.name);
  if (!webhooks.length) {
    return h('p', { class: 'muted small', text: `No webhook takes ${declared.name}: create one to send this example to it as a test.` });
  }
  const selectId = uid('send-to');
  const select = h(
    'select',
    { id: selectId, class: 'send-example-target' },
    webhooks.map((webhook) => h('option', { value: webhook.id, text: webhook.url })),
  );
  const send = h('button', { type: 'submit', class: 'btn send-example', text: 'Send this example' });
  const form = h(
    'form',
    { class: 'send-example-form', dataset: { event: declared.name } },
    h('label', { for: selectId, class: 'inline-label', text: 'Send as a test to' }),
    select,
    send,
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    setBusy(send, true, 'Sending…');
    try {
      const answer = await Api.testEvent(select.value, declared.name);
      replace(
        result,
        testResult(answer),
        h('a', { href: `#/webhooks/${encodeURIComponent(select.value)}`, class: 'small', text: 'See it in the webhook’s deliveries' }),
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 401)) replace(result, notice('bad', error.message));
    } finally {
      setBusy(send, false);
    }
  });
  return h('div', {}, form, result);
}

function typeCard(declared, webhooks) {
  const titleId = uid('type');
  return h(
    'section',
    { class: 'card type-card', id: `type-${declared.name}`, 'aria-labelledby': titleId, dataset: { type: declared.name } },
    h('h2', { id: titleId, class: 'card-title mono-title' }, declared.name, ' ', badge(`v${declared.version}`, 'neutral', 'Schema version')),
    h('p', { class: 'type-description', text: declared.description }),
    fieldsTable(declared),
    h('h3', { class: 'small-title', text: 'Example data' }),
    h('pre', { class: 'code-block type-example', tabindex: '0', text: prettyJson(declared.example) }),
    sendForm(declared, webhooks),
  );
}

/** Links to each card. The hash is the router's, so a link scrolls to its card instead of navigating. */
function typeIndex(names) {
  const link = (name) => {
    const anchor = h('a', { href: '#/types', class: 'type-index-link mono', text: name });
    anchor.addEventListener('click', (event) => {
      event.preventDefault();
      const card = document.getElementById(`type-${name}`);
      if (!card) return;
      card.scrollIntoView({ block: 'start' });
      card.setAttribute('tabindex', '-1');
      card.focus({ preventScroll: true });
    });
    return h('li', {}, anchor);
  };
  return h('nav', { class: 'type-index', 'aria-label': 'Event types' }, h('ul', {}, names.map(link)));
}

export function renderTypes(main) {
  let alive = true;
  const listSlot = h('div', { class: 'sections' }, h('p', { class: 'loading', text: 'Loading event types…' }));
  append(
    main,
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        {},
        h('h1', { class: 'page-title', text: 'Event types' }),
        h('p', {
          class: 'page-lede',
          text: 'What each platform event carries in its data, with an example you can send to a webhook as a test.',
        }),
      ),
    ),
    listSlot,
  );

  (async () => {
    try {
      const [names, listed] = await Promise.all([eventTypes(), Api.webhooks()]);
      if (!alive) return;
      if (!names.length) {
        replace(listSlot, emptyState('No event types', 'The service declares none.'));
        return;
      }
      // One card per type, in the catalogue's order, each filled in as its details arrive: at most
      // DETAIL_CONCURRENCY requests in flight (api.js paces them below the per-developer limit).
      const slots = names.map((name) => h('p', { class: 'loading type-slot', text: `Loading ${name}…` }));
      replace(listSlot, typeIndex(names), slots);
      let next = 0;
      const worker = async () => {
        while (alive && next < names.length) {
          const index = next++;
          const declared = await Api.eventType(names[index]);
          if (alive) slots[index].replaceWith(typeCard(declared, listed.webhooks || []));
        }
      };
      await Promise.all(Array.from({ length: Math.min(DETAIL_CONCURRENCY, names.length) }, worker));
    } catch (error) {
      if (!alive || (error instanceof ApiError && error.status === 401)) return;
      replace(listSlot, notice('bad', h('strong', { text: 'Could not load the event types. ' }), error.message));
    }
  })();
  return () => {
    alive = false;
  };
}
