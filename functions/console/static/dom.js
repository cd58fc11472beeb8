// Small DOM helpers. Every piece of text goes in through textContent / text nodes: nothing the API,
// a user or a receiver wrote is ever parsed as HTML.

const PROPERTIES = new Set(['value', 'checked', 'disabled', 'selected', 'hidden', 'readOnly', 'required', 'open']);

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = String(value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (PROPERTIES.has(key)) el[key] = value;
    else if (key === 'style') throw new Error('no inline style attributes (CSP): use a class');
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

export function replace(el, ...children) {
  clear(el);
  return append(el, ...children);
}

const pad = (n, width = 2) => String(n).padStart(width, '0');

/** 2026-11-28 20:57:59, in the browser's time zone; the ISO text stays in datetime/title. */
export function formatTime(iso, { seconds = true } = {}) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const day = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}${seconds ? `:${pad(d.getSeconds())}` : ''}`;
  return `${day} ${time} ${zoneLabel(d)}`;
}

/** The browser's offset from UTC at that moment (daylight saving included): every time shown says its zone. */
export function zoneLabel(d = new Date()) {
  const offset = -d.getTimezoneOffset();
  if (offset === 0) return 'UTC';
  const minutes = Math.abs(offset);
  return `UTC${offset > 0 ? '+' : '-'}${Math.floor(minutes / 60)}${minutes % 60 ? `:${pad(minutes % 60)}` : ''}`;
}

export function relativeTime(iso, now = Date.now()) {
  if (!iso) return 'never';
  const then = new Date(iso).getTime();
  if (Number.isNaN(then)) return String(iso);
  const seconds = Math.round((now - then) / 1000);
  const future = seconds < 0;
  const s = Math.abs(seconds);
  let text;
  if (s < 5) return future ? 'in a moment' : 'just now';
  if (s < 60) text = `${s} s`;
  else if (s < 3600) text = `${Math.round(s / 60)} min`;
  else if (s < 86400) text = `${Math.round(s / 3600)} h`;
  else text = `${Math.round(s / 86400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

export function timeEl(iso, { relative = false, empty = '—' } = {}) {
  if (!iso) return h('span', { class: 'muted', text: empty });
  const full = formatTime(iso);
  return h('time', { datetime: iso, title: `${full} (${iso})`, text: relative ? relativeTime(iso) : full });
}

export function badge(text, tone = 'neutral', title) {
  return h('span', { class: `badge badge-${tone}`, title, text });
}

export const DELIVERY_TONES = { succeeded: 'ok', dead: 'bad', failed: 'bad', retrying: 'warn', pending: 'info' };

export function deliveryBadge(status) {
  return badge(status, DELIVERY_TONES[status] || 'neutral');
}

/** Status of an HTTP answer as a coloured code: 2xx green, 3xx/4xx amber, 5xx red. */
export function httpStatus(status) {
  if (status === null || status === undefined) return h('span', { class: 'muted', text: '—' });
  const tone = status >= 500 ? 'bad' : status >= 300 ? 'warn' : 'ok';
  return h('span', { class: `code code-${tone}`, text: String(status) });
}

export function webhookState(webhook) {
  if (webhook.enabled) return badge('Active', 'ok', 'Deliveries are sent');
  switch (webhook.disabledReason) {
    case 'manual':
      return badge('Paused', 'neutral', 'Paused by you; re-enable it to receive events again');
    case 'gone':
      return badge('Disabled · receiver gone', 'bad', 'The receiver answered 410 Gone');
    case 'failures':
      return badge('Disabled · failures', 'bad', 'Too many consecutive failed deliveries');
    case 'unverified':
      return badge('Off · unverified', 'warn', 'Its URL has not answered the ownership challenge yet: verify it');
    default:
      return badge('Disabled', 'bad', webhook.disabledReason ? String(webhook.disabledReason) : undefined);
  }
}

/** Pretty-print a JSON text; anything that does not parse is shown as it is. */
export function prettyJson(text) {
  if (typeof text !== 'string') return JSON.stringify(text, null, 2);
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

let ids = 0;
export function uid(prefix = 'id') {
  ids += 1;
  return `${prefix}-${ids}`;
}

/** A labelled form field; `name` is the API's field name, where its 400 message is shown. */
export function field({ label, name, control, hint, optional = false }) {
  const id = control.id || uid(`f-${name}`);
  control.id = id;
  control.name = control.name || name;
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const described = [hint ? hintId : null, errorId].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', described);
  return h(
    'div',
    { class: 'field', dataset: { field: name } },
    h('label', { for: id }, label, optional ? h('span', { class: 'optional', text: ' (optional)' }) : null),
    control,
    hint ? h('p', { class: 'hint', id: hintId, text: hint }) : null,
    h('p', { class: 'field-error', id: errorId, hidden: true }),
  );
}

export function clearErrors(form) {
  for (const el of form.querySelectorAll('.field-error')) {
    el.textContent = '';
    el.hidden = true;
  }
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  if (general) {
    general.textContent = '';
    general.hidden = true;
  }
}

/** Show an error next to the field the service named (error.field); otherwise at the form's top. */
export function showError(form, error, fallbackField) {
  const name = error.field || fallbackField;
  const wrapper = name ? form.querySelector(`[data-field="${CSS.escape(name)}"]`) : null;
  if (wrapper) {
    const slot = wrapper.querySelector('.field-error');
    slot.textContent = error.message;
    slot.hidden = false;
    const control = wrapper.querySelector('input, select, textarea');
    if (control) {
      control.setAttribute('aria-invalid', 'true');
      control.focus();
    }
    return;
  }
  const general = form.querySelector('.form-error');
  general.textContent = error.message;
  general.hidden = false;
}

export function notice(tone, ...content) {
  return h('div', { class: `notice notice-${tone}`, role: tone === 'bad' ? 'alert' : 'status' }, ...content);
}

export function emptyState(title, text, ...actions) {
  return h(
    'div',
    { class: 'empty' },
    h('p', { class: 'empty-title', text: title }),
    text ? h('p', { class: 'empty-text', text }) : null,
    actions.length ? h('div', { class: 'empty-actions' }, ...actions) : null,
  );
}

/** A table cell carrying its column's name, shown as a label when rows become cards on narrow screens. */
export function td(label, ...children) {
  return h('td', { 'data-label': label }, ...children);
}

export function setBusy(button, busy, busyText) {
  if (busy) {
    button.dataset.label = button.textContent;
    if (busyText) button.textContent = busyText;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
  } else {
    if (button.dataset.label) button.textContent = button.dataset.label;
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

const openDialogs = new Set();

/** Cancel every open dialog: a page change must not leave one over the next page, whose confirm
 * would act (a rotation, a deletion) for a page that is gone and show its result nowhere. */
export function closeDialogs() {
  for (const dialog of [...openDialogs]) dialog.close();
}

/** A modal confirmation built on <dialog>: resolves true (confirmed) or false (cancelled, Esc, or
 * the page changed meanwhile). */
export function confirmDialog({ title, body, confirmLabel = 'Confirm', tone = 'primary', content = null }) {
  const openedOn = location.hash;
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const cancel = h('button', { type: 'button', class: 'btn', text: 'Cancel' });
    const confirm = h('button', { type: 'submit', class: `btn btn-${tone}`, text: confirmLabel });
    const form = h(
      'form',
      { class: 'dialog-body', novalidate: true },
      h('h2', { id: titleId, class: 'dialog-title', text: title }),
      body ? h('p', { text: body }) : null,
      content,
      h('div', { class: 'dialog-actions' }, cancel, confirm),
    );
    const dialog = h('dialog', { class: 'dialog', 'aria-labelledby': titleId }, form);
    let answer = false;
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      answer = location.hash === openedOn;
      dialog.close();
    });
    cancel.addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => {
      openDialogs.delete(dialog);
      dialog.remove();
      resolve(answer);
    });
    openDialogs.add(dialog);
    document.body.append(dialog);
    dialog.showModal();
    (tone === 'danger' ? cancel : confirm).focus();
  });
}

export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A message carried to the next page (e.g. "Webhook deleted" shown on the list). */
let flashed = null;
export function flash(node) {
  flashed = node;
}
export function takeFlash() {
  const node = flashed;
  flashed = null;
  return node;
}
