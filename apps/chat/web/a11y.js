// The page on a phone and for assistive technology: the drawer that holds rooms, conversations
// and members on a narrow screen, the live region that reads out new messages (never history),
// and a way back after Escape closed a sign-in or nickname dialog before the chat connected.

const $ = (id) => document.getElementById(id);
const phone = window.matchMedia('(max-width: 640px)');

export function openDrawer() {
  document.body.classList.add('drawer-open');
  $('drawer-toggle').setAttribute('aria-expanded', 'true');
  $('sidebar').querySelector('button, input')?.focus();
}

export function closeDrawer() {
  if (!document.body.classList.contains('drawer-open')) return;
  document.body.classList.remove('drawer-open');
  $('drawer-toggle').setAttribute('aria-expanded', 'false');
  if (phone.matches) $('drawer-toggle').focus();
}

// A new message, read once by screen readers: "alice: hello".
export function announce(text) {
  const el = $('announce');
  el.textContent = '';
  // A fresh text node in a later task: the same words twice are still announced twice.
  setTimeout(() => { el.textContent = text; }, 50);
}

// `connected()`: whether the chat has a socket; `reopen(id)`: shows the dialog again.
function wireDeadEnds(connected, reopen) {
  for (const id of ['nick-dialog', 'account-dialog']) {
    $(id).addEventListener('close', () => setTimeout(() => {
      if (connected() || document.querySelector('dialog[open]')) return;
      $('start-again').dataset.dialog = id;
      $('start-banner').hidden = false;
      $('start-again').focus();
    }, 0));
  }
  $('start-again').onclick = () => {
    $('start-banner').hidden = true;
    reopen($('start-again').dataset.dialog);
  };
}

export function init({ connected, reopen }) {
  $('drawer-toggle').onclick = () => (document.body.classList.contains('drawer-open') ? closeDrawer() : openDrawer());
  $('drawer-close').onclick = closeDrawer;
  $('drawer-backdrop').onclick = closeDrawer;
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && document.body.classList.contains('drawer-open') && !document.querySelector('dialog[open]')) closeDrawer();
  });
  phone.addEventListener('change', () => { if (!phone.matches) closeDrawer(); });
  wireDeadEnds(connected, reopen);
}

// A list entry the keyboard reaches: rooms, conversations and members are buttons.
export function itemButton(text, onclick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'item-button';
  b.textContent = text;
  b.onclick = onclick;
  return b;
}

export function hideStartBanner() { $('start-banner').hidden = true; }
