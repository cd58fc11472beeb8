// Events API console: sign-in, the header and a small hash router (#/webhooks, #/webhooks/<id>, #/types, #/logs,
// #/listen, #/settings).

import { ApiError, api, canWrite, forgetKey, getKey, onScopes, onUnauthorized, resetCaches, setKey } from './api.js';
import { clear, closeDialogs, field, h, notice } from './dom.js';
import { renderListen } from './listen.js';
import { renderLogs } from './logs.js';
import { renderSettings } from './settings.js';
import { renderTypes } from './types.js';
import { renderWebhook } from './webhook.js';
import { renderWebhooks } from './webhooks.js';

const root = document.getElementById('app');
let cleanup = null;
let signInMessage = null;

function route() {
  const hash = location.hash.replace(/^#\/?/, '');
  const [section, id] = hash.split('/').map((part) => decodeURIComponent(part || ''));
  if (section === 'logs') return { name: 'logs' };
  if (section === 'listen') return { name: 'listen' };
  if (section === 'settings') return { name: 'settings' };
  if (section === 'types') return { name: 'types' };
  if (section === 'webhooks' && id) return { name: 'webhook', id };
  return { name: 'webhooks' };
}

function stopView() {
  closeDialogs();
  if (typeof cleanup === 'function') cleanup();
  cleanup = null;
}

function render() {
  stopView();
  clear(root);
  if (!getKey()) {
    renderSignIn();
    return;
  }
  const current = route();
  root.append(header(current.name === 'webhook' ? 'webhooks' : current.name));
  const main = h('main', { id: 'main', class: 'page', tabindex: '-1' });
  root.append(main);
  const views = {
    webhooks: renderWebhooks,
    webhook: renderWebhook,
    logs: renderLogs,
    types: renderTypes,
    listen: renderListen,
    settings: renderSettings,
  };
  cleanup = views[current.name](main, current);
  const titles = {
    webhooks: 'Webhooks',
    webhook: 'Webhook',
    logs: 'API logs',
    types: 'Event types',
    listen: 'Listen sessions',
    settings: 'Settings',
  };
  document.title = `${titles[current.name]} · Events API console`;
}

function brand() {
  return h(
    'span',
    { class: 'brand' },
    h('img', { src: 'console/favicon.svg', alt: '', width: 24, height: 24, class: 'brand-mark' }),
    h('span', { class: 'brand-name', text: 'Events API console' }),
  );
}

function header(active) {
  const link = (name, href, text) =>
    h('a', { href, class: 'nav-link', 'aria-current': active === name ? 'page' : null, text });
  const key = getKey() || '';
  const signOut = h('button', { type: 'button', class: 'btn btn-ghost btn-small', id: 'sign-out', text: 'Sign out' });
  signOut.addEventListener('click', () => {
    forgetKey();
    resetCaches();
    signInMessage = notice('info', 'Signed out. The key was removed from this tab.');
    history.replaceState(null, '', location.pathname + location.search);
    render();
  });
  return h(
    'header',
    { class: 'topbar' },
    h(
      'div',
      { class: 'topbar-inner' },
      h('a', { href: '#/webhooks', class: 'brand-link', 'aria-label': 'Events API console, webhooks' }, brand()),
      h(
        'nav',
        { class: 'nav', 'aria-label': 'Sections' },
        link('webhooks', '#/webhooks', 'Webhooks'),
        link('types', '#/types', 'Event types'),
        link('logs', '#/logs', 'API logs'),
        link('listen', '#/listen', 'Listen'),
        link('settings', '#/settings', 'Settings'),
      ),
      h(
        'div',
        { class: 'session' },
        h('span', { class: 'session-key', title: 'The API key this tab signed in with' }, 'Key …', key.slice(-4)),
        signOut,
      ),
    ),
  );
}

function renderSignIn() {
  document.title = 'Sign in · Events API console';
  const input = h('input', {
    type: 'password',
    autocomplete: 'off',
    spellcheck: 'false',
    autocapitalize: 'off',
    class: 'mono',
    placeholder: 'claw_…',
    required: true,
  });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block', text: 'Sign in' });
  const form = h(
    'form',
    { class: 'signin-form', novalidate: true, 'aria-labelledby': 'signin-title' },
    h('p', { class: 'form-error', role: 'alert', hidden: true }),
    field({
      label: 'API key',
      name: 'key',
      control: input,
      hint: 'Kept in this tab only (sessionStorage) and sent only to this API. Closing the tab forgets it.',
    }),
    submit,
  );
  const message = signInMessage;
  signInMessage = null;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const key = input.value.trim();
    const slot = form.querySelector('[data-field="key"] .field-error');
    slot.hidden = true;
    input.removeAttribute('aria-invalid');
    if (message) message.remove();
    const fail = (text) => {
      slot.textContent = text;
      slot.hidden = false;
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    };
    if (!key) {
      fail('Paste the API key of your developer account (it starts with claw_).');
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      await api('GET', '/v1/events/webhooks', { key });
      setKey(key);
      input.value = '';
      if (!location.hash) history.replaceState(null, '', '#/webhooks');
      render();
      document.getElementById('main')?.focus();
    } catch (error) {
      submit.disabled = false;
      submit.textContent = 'Sign in';
      if (error instanceof ApiError && error.status === 401) {
        fail(`This key was not accepted (401): ${error.message}`);
      } else if (error instanceof ApiError && error.status === 403) {
        fail(`This key may not use the console (403): ${error.message}`);
      } else {
        fail(error.message);
      }
    }
  });
  root.append(
    h(
      'main',
      { id: 'main', class: 'signin' },
      h(
        'section',
        { class: 'signin-card card' },
        h('div', { class: 'signin-brand' }, brand()),
        h('h1', { id: 'signin-title', class: 'signin-title', text: 'Sign in' }),
        h('p', {
          class: 'muted',
          text: 'Manage webhooks, follow their deliveries and read your API-call logs with an API key of your developer account.',
        }),
        message,
        form,
      ),
    ),
  );
  input.focus();
}

onUnauthorized(() => {
  if (!getKey()) return;
  forgetKey();
  resetCaches();
  signInMessage = notice('bad', 'Your API key is no longer accepted (401). Sign in again.');
  render();
});

// What a read-only key cannot do: these buttons are disabled (with the reason) rather than answering 403.
const WRITE_ACTIONS = new Set([
  'Create webhook', 'Save changes', 'Pause', 'Enable', 'Send test', 'Edit', 'Rotate secret', 'Delete', 'Verify now',
  'Redeliver', 'Expunge payload', 'Recover dead deliveries', 'Recover the next batch', 'Send this example', 'End',
  'Save retention',
]);
const READ_ONLY = 'This API key is read-only: it lacks the write scope';

function disableWrites() {
  if (canWrite()) return;
  for (const button of root.querySelectorAll('button:not([disabled])')) {
    if (WRITE_ACTIONS.has(button.textContent.trim())) {
      button.disabled = true;
      button.title = READ_ONLY;
      button.classList.add('read-only');
    }
  }
}

new MutationObserver(disableWrites).observe(root, { childList: true, subtree: true });
onScopes(disableWrites);

window.addEventListener('hashchange', () => {
  render();
  const main = document.getElementById('main');
  if (main && getKey()) main.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});

render();
