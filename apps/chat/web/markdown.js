// A message's formatting: the server's tree of allowed nodes (`md`, docs/chat-protocol.md) made
// into elements with createElement and textContent only, never markup. A node this page does
// not know shows its text; a link whose target is not http(s) or mailto is only its text.

const TAGS = new Set(['p', 'em', 'strong', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a']);
const MAX_DEPTH = 32;  // the server sends at most 16; a broken tree costs no more than this

// The same rule as the server's (markdown.cpp), checked again here.
export function safeHref(href) {
  return typeof href === 'string' && !/[\u0000-\u0020\u007f]/u.test(href) && /^(https?|mailto):/iu.test(href);
}

function node(n, depth) {
  if (typeof n === 'string') return document.createTextNode(n);
  if (!n || typeof n !== 'object' || depth > MAX_DEPTH) return document.createTextNode('');
  if (n.t === 'br') return document.createElement('br');
  const kids = Array.isArray(n.c) ? n.c : [];
  if (n.t === 'pre') return codeBlock(n, kids);
  const link = n.t === 'a' && safeHref(n.href);
  if (!TAGS.has(n.t) || (n.t === 'a' && !link)) {
    const span = document.createElement('span');
    span.append(...kids.map((k) => node(k, depth + 1)));
    return span;
  }
  const el = document.createElement(n.t);
  if (link) {
    el.href = n.href;
    el.rel = 'noopener noreferrer';
    el.target = '_blank';
  }
  if (n.t === 'ol' && Number.isSafeInteger(n.start)) el.start = n.start;
  el.append(...kids.map((k) => node(k, depth + 1)));
  return el;
}

function codeBlock(n, kids) {
  const pre = document.createElement('pre');
  const code = document.createElement('code');
  code.textContent = kids.filter((k) => typeof k === 'string').join('');
  if (typeof n.lang === 'string' && n.lang) {
    pre.dataset.lang = n.lang;  // shown by messages.css, as text
  }
  pre.append(code);
  return pre;
}

// Fills a message's text element: the tree when there is one, else the text as typed.
export function fill(el, text, md) {
  if (!Array.isArray(md)) {
    el.classList.remove('md');  // an edit may have taken the formatting away
    el.textContent = text;
    return;
  }
  el.classList.add('md');
  el.dataset.text = text;  // mentions.js reads the words as typed
  el.replaceChildren(...md.map((n) => node(n, 1)));
}
