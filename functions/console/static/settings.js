// Settings: the developer's whole settings document (GET /v1/events/settings), and the retention
// they choose, saved as a JSON merge patch (PATCH). Every field shows its value, the default
// included; an empty field returns it to the default.

import { Api, ApiError } from './api.js';
import { append, clearErrors, field, h, notice, replace, setBusy, showError } from './dom.js';

const RETENTION = [
  ['payloadDays', 'Payloads (days)', 'The events’ payloads. 0: removed once a delivery is delivered, dead or failed (redeliver and recover then cannot send it again).'],
  ['responseDays', 'Receivers’ answers (days)', 'What receivers answered, kept on each attempt.'],
  ['recordDays', 'Delivery records (days)', 'The delivery history itself.'],
];

export function renderSettings(main) {
  let alive = true;
  const messages = h('div', { class: 'page-messages', 'aria-live': 'polite' });
  const body = h('div', {}, h('p', { class: 'loading', text: 'Loading settings…' }));

  function form(settings) {
    const inputs = {};
    const save = h('button', { type: 'submit', class: 'btn btn-primary', text: 'Save retention' });
    const element = h(
      'form',
      { class: 'card form-card settings-form', novalidate: true, 'aria-label': 'Retention' },
      h('h2', { class: 'card-title', text: 'Retention' }),
      h('p', { class: 'form-error', role: 'alert', hidden: true }),
      ...RETENTION.map(([name, label, hint]) => {
        inputs[name] = h('input', {
          type: 'number',
          min: '0',
          step: '1',
          inputmode: 'numeric',
          value: String(settings.retention[name]),
        });
        return field({ label, name: `retention.${name}`, control: inputs[name], hint });
      }),
      save,
    );
    element.addEventListener('submit', async (event) => {
      event.preventDefault();
      clearErrors(element);
      const retention = {};
      for (const [name] of RETENTION) {
        const text = inputs[name].value.trim();
        retention[name] = text === '' ? null : Number(text);
      }
      setBusy(save, true, 'Saving…');
      try {
        const saved = await Api.updateSettings({ retention });
        if (!alive) return;
        replace(messages, notice('ok', 'Saved. Reads apply it at once; the daily sweep removes what it no longer keeps.'));
        replace(body, form(saved), notifications(saved));
      } catch (error) {
        if (error instanceof ApiError) showError(element, error, 'retention.payloadDays');
        else replace(messages, notice('bad', error.message));
      } finally {
        setBusy(save, false);
      }
    });
    return element;
  }

  function notifications(settings) {
    const names = Object.keys(settings.notifications || {});
    return h(
      'section',
      { class: 'card', 'aria-label': 'Notifications' },
      h('h2', { class: 'card-title', text: 'Notifications' }),
      h('p', { class: 'muted small', text: names.length ? names.join(', ') : 'Nothing to set yet.' }),
    );
  }

  async function load() {
    try {
      const settings = await Api.settings();
      if (!alive) return;
      replace(body, form(settings), notifications(settings));
    } catch (error) {
      if (alive) replace(body, notice('bad', error.message));
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
        h('h1', { class: 'page-title', text: 'Settings' }),
        h('p', {
          class: 'page-lede',
          text: 'How long what is kept for you lives. Empty a field to return it to the default.',
        }),
      ),
    ),
    messages,
    body,
  );
  load();
  return () => {
    alive = false;
  };
}
